package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// benchBody builds a request shaped like Claude Code's: model first, tool history,
// tools with JSON Schema, stream last. tools=24 and turns=6 give ~90 KB.
func benchBody(tools, turns int) []byte {
	word := strings.Repeat("read the file and return each line that matches the pattern ", 4)
	var msgs []any
	msgs = append(msgs, map[string]any{"role": "user", "content": []any{map[string]any{"type": "text", "text": word}}},
		map[string]any{"role": "system", "content": []any{map[string]any{"type": "text", "text": word}}})
	for i := range turns {
		id := fmt.Sprintf("toolu_%04d", i)
		msgs = append(msgs,
			map[string]any{"role": "assistant", "content": []any{
				map[string]any{"type": "text", "text": word},
				map[string]any{"type": "tool_use", "id": id, "name": "Read", "input": map[string]any{"path": "/tmp/x.go"}}}},
			map[string]any{"role": "user", "content": []any{map[string]any{"type": "tool_result", "tool_use_id": id,
				"content": strings.Repeat(word, 7), "cache_control": map[string]any{"type": "ephemeral"}}}})
	}
	var ts []any
	for i := range tools {
		props := map[string]any{}
		for j := range 8 {
			props[fmt.Sprintf("p%d", j)] = map[string]any{"type": "string", "description": word}
		}
		ts = append(ts, map[string]any{"name": fmt.Sprintf("Tool%d", i), "description": word + word,
			"input_schema": map[string]any{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
				"properties": props, "additionalProperties": false}})
	}
	msgsJSON, _ := json.Marshal(msgs)
	toolsJSON, _ := json.Marshal(ts)
	return fmt.Appendf(nil, `{"model":"claude-sonnet-5","messages":%s,"system":[{"type":"text","text":%q}],"tools":%s,"metadata":{"user_id":"u"},"max_tokens":64000,"thinking":{"type":"adaptive"},"stream":true}`,
		msgsJSON, word, toolsJSON)
}

var benchBodies = []struct {
	name string
	body []byte
}{
	{"small", benchBody(1, 0)},
	{"large", benchBody(24, 6)},
}

func BenchmarkPeek(b *testing.B) {
	for _, bb := range benchBodies {
		b.Run(fmt.Sprintf("%s_%dB", bb.name, len(bb.body)), func(b *testing.B) {
			b.SetBytes(int64(len(bb.body)))
			b.ReportAllocs()
			for b.Loop() {
				f, err := Peek(bb.body)
				if err != nil || !f.Stream || f.Model != "claude-sonnet-5" {
					b.Fatalf("Peek = %+v, %v", f, err)
				}
			}
		})
	}
}

// BenchmarkPeekEscapedKeys is the slow path: each key written with escapes
// is unescaped (one allocation), here model and stream.
func BenchmarkPeekEscapedKeys(b *testing.B) {
	body := bytes.Replace(benchBodies[1].body, []byte(`"model"`), []byte(`"mod\u0065l"`), 1)
	body = bytes.Replace(body, []byte(`"stream"`), []byte(`"str\u0065am"`), 1)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := Peek(body)
		if err != nil || !f.Stream || f.Model != "claude-sonnet-5" {
			b.Fatalf("Peek = %+v, %v", f, err)
		}
	}
}

func BenchmarkRewriteModel(b *testing.B) {
	for _, bb := range benchBodies {
		f, err := Peek(bb.body)
		if err != nil {
			b.Fatal(err)
		}
		for _, model := range []string{"claude-sonnet-5", "anthropic/claude-sonnet-4"} {
			b.Run(fmt.Sprintf("%s_%dB/%s", bb.name, len(bb.body), model), func(b *testing.B) {
				b.SetBytes(int64(len(bb.body)))
				b.ReportAllocs()
				for b.Loop() {
					if out := RewriteModel(bb.body, f, model); len(out) < len(bb.body)-20 {
						b.Fatal("short body")
					}
				}
			})
		}
	}
}

// BenchmarkDecodeReference is what Peek avoids: decoding the whole body with
// encoding/json into a generic value, as a decode/re-encode proxy would.
func BenchmarkDecodeReference(b *testing.B) {
	for _, bb := range benchBodies {
		b.Run(fmt.Sprintf("%s_%dB", bb.name, len(bb.body)), func(b *testing.B) {
			b.SetBytes(int64(len(bb.body)))
			b.ReportAllocs()
			for b.Loop() {
				var v map[string]json.RawMessage
				if err := json.Unmarshal(bb.body, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
