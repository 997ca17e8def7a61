package anthropic_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
	"github.com/ccbalancer/ccbalancer/proxy/sse"
)

// view is what a user of the official SDK sees of a message.
type view struct {
	ID, Model, StopReason, StopSequence                   string
	Input, CacheCreation, CacheRead, Output               int64
	Types, Texts, IDs, Names, Thinkings, Signatures, Args []string
}

func viewOf(t *testing.T, m *sdk.Message) view {
	t.Helper()
	v := view{ID: m.ID, Model: string(m.Model), StopReason: string(m.StopReason), StopSequence: m.StopSequence,
		Input: m.Usage.InputTokens, CacheCreation: m.Usage.CacheCreationInputTokens,
		CacheRead: m.Usage.CacheReadInputTokens, Output: m.Usage.OutputTokens}
	for _, b := range m.Content {
		v.Types = append(v.Types, b.Type)
		v.Texts = append(v.Texts, b.Text)
		v.IDs = append(v.IDs, b.ID)
		v.Names = append(v.Names, b.Name)
		v.Thinkings = append(v.Thinkings, b.Thinking)
		v.Signatures = append(v.Signatures, b.Signature)
		args := ""
		if b.Type == "tool_use" {
			var in any
			if err := json.Unmarshal(b.Input, &in); err != nil {
				t.Fatalf("tool input %s: %v", b.Input, err)
			}
			out, _ := json.Marshal(in)
			args = string(out)
		}
		v.Args = append(v.Args, args)
	}
	return v
}

// sdkAccumulate reads an SSE stream with the SDK's event type and
// accumulates it as SDK users do.
func sdkAccumulate(t *testing.T, stream []byte) sdk.Message {
	t.Helper()
	var msg sdk.Message
	r := sse.NewReader(bytes.NewReader(stream), 0)
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return msg
		}
		if err != nil {
			t.Fatal(err)
		}
		var e sdk.MessageStreamEventUnion
		if err := e.UnmarshalJSON(ev.Data); err != nil {
			t.Fatalf("SDK cannot parse %s: %v", ev.Data, err)
		}
		if err := msg.Accumulate(e); err != nil {
			t.Fatalf("SDK Accumulate(%s): %v", ev.Data, err)
		}
	}
}

// TestEventDecoderAgainstSDK decodes real-shaped Messages API streams and
// checks the result three ways against the official SDK: the type of every
// event, the message our Accumulator folds (as the SDK reads its JSON), and
// the stream re-encoded from the decoded events (as the SDK accumulates it).
func TestEventDecoderAgainstSDK(t *testing.T) {
	files, err := filepath.Glob("testdata/*.sse")
	if err != nil || len(files) < 2 {
		t.Fatalf("transcripts: %v (%d found)", err, len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			stream, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want := viewOf(t, new(sdkAccumulate(t, stream)))

			var dec anthropic.EventDecoder
			var events []anthropic.Event
			var again []byte
			r := sse.NewReader(bytes.NewReader(stream), 0)
			for {
				ev, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				e, err := dec.Decode(ev.Data)
				if err != nil {
					t.Fatalf("Decode(%s): %v", ev.Data, err)
				}
				var u sdk.MessageStreamEventUnion
				if err := u.UnmarshalJSON(ev.Data); err != nil {
					t.Fatal(err)
				}
				if e.Type != u.Type {
					t.Errorf("Decode(%s).Type = %q, the SDK reads %q", ev.Data, e.Type, u.Type)
				}
				events = append(events, e)
				again = e.AppendSSE(again)
			}
			msg, err := anthropic.Accumulate(events)
			if err != nil {
				t.Fatalf("Accumulate: %v", err)
			}
			var folded sdk.Message
			if err := folded.UnmarshalJSON(msg.AppendJSON(nil)); err != nil {
				t.Fatalf("SDK cannot read the folded message: %v", err)
			}
			if diff := cmp.Diff(want, viewOf(t, &folded)); diff != "" {
				t.Errorf("folded message (-SDK on the stream +ours):\n%s", diff)
			}
			if diff := cmp.Diff(want, viewOf(t, new(sdkAccumulate(t, again)))); diff != "" {
				t.Errorf("re-encoded stream (-SDK on the original +SDK on ours):\n%s", diff)
			}
		})
	}
}

func TestEventDecoderErrors(t *testing.T) {
	for _, data := range []string{
		`not json`,
		`{"type":"message_start"}`,
		`{"type":"content_block_start","index":0}`,
		`{"type":"content_block_delta","index":0}`,
		`{"type":"surprise"}`,
	} {
		var d anthropic.EventDecoder
		if _, err := d.Decode([]byte(data)); err == nil {
			t.Errorf("Decode(%s) succeeded, want an error", data)
		}
	}
	var d anthropic.EventDecoder
	e, err := d.Decode([]byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`))
	if err != nil || e.Type != anthropic.EventError || e.ErrorType != "overloaded_error" || e.ErrorMessage != "Overloaded" {
		t.Errorf("Decode(error event) = %+v, %v", e, err)
	}
}
