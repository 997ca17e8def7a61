package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
	"github.com/ccbalancer/ccbalancer/proxy/sse"
)

// sdkView is what a client of the official SDK sees of a message.
type sdkView struct {
	ID, Model, Role, StopReason, StopSequence string
	InputTokens, CacheCreation, CacheRead     int64
	OutputTokens                              int64
	Content                                   []sdkBlock
}

type sdkBlock struct {
	Type, Text, ID, Name, Thinking, Signature string
	Input                                     any
}

func viewOf(t *testing.T, m *sdk.Message) sdkView {
	t.Helper()
	v := sdkView{
		ID: m.ID, Model: string(m.Model), Role: string(m.Role),
		StopReason: string(m.StopReason), StopSequence: m.StopSequence,
		InputTokens: m.Usage.InputTokens, CacheCreation: m.Usage.CacheCreationInputTokens,
		CacheRead: m.Usage.CacheReadInputTokens, OutputTokens: m.Usage.OutputTokens,
	}
	for _, b := range m.Content {
		sb := sdkBlock{Type: b.Type, Text: b.Text, ID: b.ID, Name: b.Name, Thinking: b.Thinking, Signature: b.Signature}
		if b.Type == "tool_use" {
			if err := json.Unmarshal(b.Input, &sb.Input); err != nil {
				t.Fatalf("tool_use input %q: %v", b.Input, err)
			}
		}
		v.Content = append(v.Content, sb)
	}
	return v
}

// sdkAccumulate parses an Anthropic SSE stream with the SDK and accumulates
// it as SDK users do.
func sdkAccumulate(t *testing.T, stream []byte) sdk.Message {
	t.Helper()
	var msg sdk.Message
	r := sse.NewReader(bytes.NewReader(stream), 0)
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading converted stream: %v", err)
		}
		var e sdk.MessageStreamEventUnion
		if err := e.UnmarshalJSON(ev.Data); err != nil {
			t.Fatalf("SDK cannot parse %s event %s: %v", ev.Name, ev.Data, err)
		}
		if e.Type != ev.Name {
			t.Errorf("event name %q carries data of type %q", ev.Name, e.Type)
		}
		if err := msg.Accumulate(e); err != nil {
			t.Fatalf("SDK Accumulate(%s): %v", ev.Data, err)
		}
	}
	return msg
}

// TestSDKStreamMatchesResponse checks, for every transcript that has a
// non-streaming twin, that the SDK accumulating the converted stream gets
// the same message as the SDK parsing the converted response, and as our
// own accumulator.
func TestSDKStreamMatchesResponse(t *testing.T) {
	files, err := filepath.Glob("testdata/stream/*.sse")
	if err != nil {
		t.Fatal(err)
	}
	pairs := 0
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".sse")
		respPath := filepath.Join("testdata/response", name+".json")
		body, err := os.ReadFile(respPath)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		pairs++
		t.Run(name, func(t *testing.T) {
			transcript, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			res := convertTranscript(t, name, transcript)
			if res.err != nil {
				t.Fatalf("stream: %v", res.err)
			}
			var stream []byte
			for _, e := range res.events {
				stream = e.AppendSSE(stream)
			}
			streamed := sdkAccumulate(t, stream)

			msg, _, err := convertResponse(body, goldenStreamOptions(name), seqIDs())
			if err != nil {
				t.Fatalf("ConvertResponse: %v", err)
			}
			var whole sdk.Message
			if err := whole.UnmarshalJSON(msg.AppendJSON(nil)); err != nil {
				t.Fatalf("SDK cannot parse the converted response: %v", err)
			}
			if diff := cmp.Diff(viewOf(t, &whole), viewOf(t, &streamed)); diff != "" {
				t.Errorf("SDK: streamed message differs from the response (-response +stream):\n%s", diff)
			}

			ours, err := anthropic.Accumulate(res.events)
			if err != nil {
				t.Fatalf("Accumulate: %v", err)
			}
			if diff := cmp.Diff(msg, ours); diff != "" {
				t.Errorf("Accumulate: streamed message differs from the response (-response +stream):\n%s", diff)
			}
		})
	}
	if pairs < 5 {
		t.Fatalf("only %d stream/response pairs found", pairs)
	}
}
