package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
)

// benchStream is an Anthropic text stream with n deltas.
func benchStream(n int) []byte {
	var b []byte
	b = Append(b, "message_start", []byte(`{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":2000,"output_tokens":1}}}`))
	b = Append(b, "content_block_start", []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`))
	for i := range n {
		b = Append(b, "content_block_delta", fmt.Appendf(nil, `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"token %d of the answer "}}`, i))
	}
	b = Append(b, "content_block_stop", []byte(`{"type":"content_block_stop","index":0}`))
	b = Append(b, "message_delta", []byte(`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":400}}`))
	return Append(b, "message_stop", []byte(`{"type":"message_stop"}`))
}

func BenchmarkReader(b *testing.B) {
	stream := benchStream(200)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewReader(bytes.NewReader(stream), 0)
		n := 0
		for {
			_, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 205 {
			b.Fatalf("%d events", n)
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	data := []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"token 1 of the answer "}}`)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = Append(buf[:0], "content_block_delta", data)
	}
}
