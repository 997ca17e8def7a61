package openai

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
)

func addFileSeeds(f *testing.F, pattern string) {
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds for %s: %v", pattern, err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzStreamConverter feeds each line of the input (an optional "data: "
// prefix removed) as one chunk. Whatever the chunks, the output must be a
// well-formed event sequence, checked by anthropic.Accumulator: message_start
// first, blocks started at increasing indexes and stopped in balance, and
// message_stop last exactly when Finish succeeds.
func FuzzStreamConverter(f *testing.F) {
	addFileSeeds(f, "testdata/stream/*.sse")
	f.Add([]byte(`{"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"error"}]}`))
	f.Add([]byte("{\"choices\":[{\"delta\":{\"tool_calls\":[{\"function\":{\"arguments\":\"{\"}}]}}]}\n" +
		"{\"choices\":[{\"delta\":{\"tool_calls\":[{\"id\":\"x\",\"function\":{\"name\":\"A\",\"arguments\":\"}\"}}]},\"finish_reason\":\"stop\"}]}"))
	f.Fuzz(func(t *testing.T, in []byte) {
		c := NewStreamConverter(StreamOptions{Model: "claude-sonnet-5", EstimateInput: func() int { return 7 }})
		var acc anthropic.Accumulator
		count := 0
		check := func(events []anthropic.Event) {
			for _, e := range events {
				count++
				if err := acc.Add(e); err != nil {
					t.Fatalf("ill-formed sequence at event %d (%s): %v", count, e.Type, err)
				}
				data := e.AppendJSON(nil)
				if !json.Valid(data) || bytes.ContainsAny(data, "\r\n") {
					t.Fatalf("event data is not one line of JSON: %q", data)
				}
			}
		}
		var err error
		for line := range bytes.SplitSeq(in, []byte("\n")) {
			line = bytes.TrimPrefix(line, []byte("data: "))
			var events []anthropic.Event
			events, err = c.Process(line)
			check(events)
			if err != nil {
				break
			}
		}
		if err == nil {
			var events []anthropic.Event
			events, err = c.Finish()
			check(events)
		}
		if c.Started() != (count > 0) {
			t.Fatalf("Started() = %v after %d events", c.Started(), count)
		}
		if err != nil {
			if acc.Stopped() {
				t.Fatalf("message_stop sent, then error %v", err)
			}
			return
		}
		if _, merr := acc.Message(); merr != nil {
			t.Fatalf("Finish succeeded but the sequence is incomplete: %v", merr)
		}
	})
}

// FuzzConvertRequest checks that any body either fails with an error or
// converts to a valid Chat Completions request.
func FuzzConvertRequest(f *testing.F) {
	addFileSeeds(f, "testdata/request/*.json")
	f.Fuzz(func(t *testing.T, in []byte) {
		opts := RequestOptions{Reasoning: len(in)%2 == 0, MaxTokens: len(in) % 3 * 1000}
		conv, err := ConvertRequest(in, opts)
		if err != nil {
			return
		}
		out := conv.Body
		var req struct {
			Model    string `json:"model"`
			Messages []struct {
				Role       string          `json:"role"`
				Content    json.RawMessage `json:"content"`
				ToolCallID string          `json:"tool_call_id"`
			} `json:"messages"`
			MaxTokens int `json:"max_tokens"`
		}
		if err := json.Unmarshal(out, &req); err != nil {
			t.Fatalf("output is not a request: %v\n%s", err, out)
		}
		if req.Model == "" {
			t.Fatalf("no model in %s", out)
		}
		if opts.MaxTokens > 0 && req.MaxTokens > opts.MaxTokens {
			t.Fatalf("max_tokens %d above the limit %d", req.MaxTokens, opts.MaxTokens)
		}
		for i, m := range req.Messages {
			switch m.Role {
			case "system", "user", "assistant":
			case "tool":
				if m.ToolCallID == "" {
					t.Fatalf("messages[%d]: tool message without tool_call_id", i)
				}
			default:
				t.Fatalf("messages[%d]: role %q", i, m.Role)
			}
			if len(m.Content) == 0 {
				t.Fatalf("messages[%d]: no content key", i)
			}
		}
	})
}

// FuzzConvertResponse checks that any body either fails with an error or
// converts to a Message whose JSON is valid.
func FuzzConvertResponse(f *testing.F) {
	addFileSeeds(f, "testdata/response/*.json")
	f.Fuzz(func(t *testing.T, in []byte) {
		m, _, err := ConvertResponse(in, StreamOptions{Model: "claude-sonnet-5"})
		if err != nil {
			return
		}
		out := m.AppendJSON(nil)
		var msg struct {
			Type    string            `json:"type"`
			Content []json.RawMessage `json:"content"`
		}
		if err := json.Unmarshal(out, &msg); err != nil || msg.Type != "message" {
			t.Fatalf("output is not a message (%v): %s", err, out)
		}
	})
}
