package openai

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
)

// types lists the event types, for compact expectations.
func types(events []anthropic.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Type
	}
	return out
}

func TestStartedOnlyWithContent(t *testing.T) {
	c := NewStreamConverter(StreamOptions{Model: "m"})
	events, err := c.Process([]byte(`{"id":"a","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`))
	if err != nil || len(events) != 0 || c.Started() {
		t.Fatalf("role-only chunk: events %v, err %v, started %v; want nothing", types(events), err, c.Started())
	}
	events, err = c.Process([]byte(`{"id":"a","choices":[{"index":0,"delta":{"content":"x"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"message_start", "content_block_start", "content_block_delta"}
	if diff := cmp.Diff(want, types(events)); diff != "" || !c.Started() {
		t.Fatalf("first content (-want +got):\n%s\nstarted %v", diff, c.Started())
	}
}

func TestProcessErrors(t *testing.T) {
	tests := []struct {
		name      string
		chunks    []string
		wantErr   string
		upstream  bool // the error is an *UpstreamError
		finish    bool // the error is a *FinishError
		status    int
		wantStart bool
	}{
		{name: "malformed first chunk", chunks: []string{`{"choices":[`}, wantErr: "decoding upstream chunk"},
		{name: "not an object", chunks: []string{`[1,2]`}, wantErr: "decoding upstream chunk"},
		{name: "wrong field type", chunks: []string{`{"choices":[{"index":0,"delta":{"content":5}}]}`}, wantErr: "decoding upstream chunk"},
		{
			name: "error chunk", chunks: []string{`{"error":{"message":"Overloaded","type":"server_error","code":"529"}}`},
			wantErr: "upstream error (server_error) [529]: Overloaded", upstream: true, status: 529,
		},
		{name: "error string", chunks: []string{`{"error":"model crashed"}`}, wantErr: "upstream error: model crashed", upstream: true},
		{
			name:    "finish_reason error after content",
			chunks:  []string{`{"choices":[{"index":0,"delta":{"content":"a"}}]}`, `{"choices":[{"index":0,"delta":{},"finish_reason":"error"}]}`},
			wantErr: `finish_reason "error"`, finish: true, wantStart: true,
		},
		{
			name:    "GLM network_error after content",
			chunks:  []string{`{"choices":[{"index":0,"delta":{"content":"a"}}]}`, `{"choices":[{"index":0,"delta":{},"finish_reason":"network_error"}],"usage":{"prompt_tokens":4,"completion_tokens":1}}`},
			wantErr: `finish_reason "network_error"`, finish: true, wantStart: true,
		},
		{
			name:    "DeepSeek insufficient_system_resource before content",
			chunks:  []string{`{"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"insufficient_system_resource"}]}`},
			wantErr: `finish_reason "insufficient_system_resource"`, finish: true,
		},
		{
			name:    "Gemini MALFORMED_FUNCTION_CALL",
			chunks:  []string{`{"choices":[{"index":0,"delta":{},"finish_reason":"MALFORMED_FUNCTION_CALL"}]}`},
			wantErr: `finish_reason "MALFORMED_FUNCTION_CALL"`, finish: true,
		},
		{
			name:    "content and an error in one chunk",
			chunks:  []string{`{"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"error"}]}`},
			wantErr: `finish_reason "error"`, finish: true, wantStart: false,
		},
		{
			name:    "arguments without a name",
			chunks:  []string{`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]},"finish_reason":"tool_calls"}]}`, `[DONE]`},
			wantErr: "tool call 0: no function name",
		},
		{
			name:    "tool index out of range",
			chunks:  []string{`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":-1,"id":"a","function":{"name":"A"}}]}}]}`},
			wantErr: "out of range",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewStreamConverter(StreamOptions{Model: "m"})
			var err error
			for _, ch := range tt.chunks {
				if _, err = c.Process([]byte(ch)); err != nil {
					break
				}
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			var ue *UpstreamError
			if got := errors.As(err, &ue); got != tt.upstream {
				t.Errorf("errors.As(*UpstreamError) = %v, want %v", got, tt.upstream)
			}
			var fe *FinishError
			if got := errors.As(err, &fe); got != tt.finish {
				t.Errorf("errors.As(*FinishError) = %v, want %v", got, tt.finish)
			}
			if ue != nil && ue.Status() != tt.status {
				t.Errorf("Status() = %d, want %d", ue.Status(), tt.status)
			}
			if c.Started() != tt.wantStart {
				t.Errorf("Started() = %v, want %v", c.Started(), tt.wantStart)
			}
			// The error is final.
			if _, again := c.Process([]byte(`{"choices":[{"index":0,"delta":{"content":"more"}}]}`)); again != err {
				t.Errorf("Process after an error = %v, want the same error", again)
			}
			if events, fin := c.Finish(); fin != err || len(events) != 0 {
				t.Errorf("Finish after an error = %v, %v; want no events and the same error", types(events), fin)
			}
		})
	}
}

func TestFinish(t *testing.T) {
	t.Run("nothing received is a cut", func(t *testing.T) {
		c := NewStreamConverter(StreamOptions{Model: "m"})
		if _, err := c.Finish(); !errors.Is(err, ErrTruncated) {
			t.Fatalf("Finish() = %v, want ErrTruncated", err)
		}
	})
	t.Run("after DONE returns nothing", func(t *testing.T) {
		c := NewStreamConverter(StreamOptions{Model: "m"})
		if _, err := c.Process([]byte(`{"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"stop"}]}`)); err != nil {
			t.Fatal(err)
		}
		events, err := c.Process([]byte(" [DONE] \n"))
		if err != nil || events[len(events)-1].Type != anthropic.EventMessageStop {
			t.Fatalf("[DONE]: %v, %v", types(events), err)
		}
		if events, err := c.Process([]byte(`{"choices":[{"index":0,"delta":{"content":"late"}}]}`)); err != nil || len(events) != 0 {
			t.Errorf("chunk after [DONE]: %v, %v; want ignored", types(events), err)
		}
		if events, err := c.Finish(); err != nil || len(events) != 0 {
			t.Errorf("Finish after [DONE]: %v, %v; want nothing", types(events), err)
		}
	})
	t.Run("blank data is a keep-alive", func(t *testing.T) {
		c := NewStreamConverter(StreamOptions{Model: "m"})
		if events, err := c.Process([]byte("  ")); err != nil || len(events) != 0 || c.Started() {
			t.Fatalf("blank data: %v, %v", types(events), err)
		}
	})
}

func TestStopReasons(t *testing.T) {
	tests := []struct {
		finish  string
		tools   bool
		want    string
		warning string
	}{
		{finish: "stop", want: "end_turn"},
		{finish: "length", want: "max_tokens"},
		{finish: "tool_calls", tools: true, want: "tool_use"},
		{finish: "function_call", tools: true, want: "tool_use"},
		{finish: "content_filter", want: "refusal"},
		{finish: "stop", tools: true, want: "tool_use"},
		{finish: "tool_calls", want: "end_turn"},
		{finish: "end_turn", want: "end_turn"},
		{finish: "max_tokens", want: "max_tokens"},
		{finish: "eos", want: "end_turn"},
		{finish: "stop_sequence", want: "stop_sequence"},
		{finish: "sensitive", want: "refusal"},
		{finish: "SAFETY", want: "refusal"},
		{finish: "RECITATION", want: "refusal"},
		{finish: "PROHIBITED_CONTENT", want: "refusal"},
		{finish: "STOP", want: "end_turn"},
		{finish: "MAX_TOKENS", want: "max_tokens"},
		{finish: "model_context_window_exceeded", want: "model_context_window_exceeded"},
		{finish: "OTHER", want: "max_tokens", warning: `unknown finish_reason "OTHER" read as max_tokens: the answer may be incomplete`},
		{finish: "cancelled", want: "max_tokens", warning: `unknown finish_reason "cancelled" read as max_tokens: the answer may be incomplete`},
	}
	for _, tt := range tests {
		t.Run(tt.finish, func(t *testing.T) {
			c := NewStreamConverter(StreamOptions{Model: "m"})
			delta := `{"content":"a"}`
			if tt.tools {
				delta = `{"tool_calls":[{"index":0,"id":"c","function":{"name":"A","arguments":"{}"}}]}`
			}
			chunk := `{"choices":[{"index":0,"delta":` + delta + `,"finish_reason":"` + tt.finish + `"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}`
			if _, err := c.Process([]byte(chunk)); err != nil {
				t.Fatal(err)
			}
			events, err := c.Finish()
			if err != nil {
				t.Fatal(err)
			}
			md := events[len(events)-2]
			if md.Type != anthropic.EventMessageDelta || md.StopReason != tt.want {
				t.Errorf("message_delta %+v, want stop_reason %q", md, tt.want)
			}
			var want []string
			if tt.warning != "" {
				want = []string{tt.warning}
			}
			if diff := cmp.Diff(want, c.Warnings()); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestToolIDs(t *testing.T) {
	c := NewStreamConverter(StreamOptions{Model: "m"})
	c.newID = seqIDs()
	chunk := `{"id":"chunk1","choices":[{"index":0,"delta":{"tool_calls":[` +
		`{"index":0,"id":"call 1/x","function":{"name":"A","arguments":"{}"}},` +
		`{"index":1,"id":"call 1/x","function":{"name":"B","arguments":"{}"}},` +
		`{"index":2,"id":"functions.Bash:0","function":{"name":"C","arguments":"{}"}},` +
		`{"index":3,"function":{"name":"D","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}`
	events, err := c.Process([]byte(chunk))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		if e.Type == anthropic.EventContentBlockStart {
			got = append(got, e.Block.ID)
		}
	}
	// Unique although the upstream repeats an id; each carries the
	// upstream's id; a call without one gets a random id.
	want := []string{"toolu_0000gen1_call-201-2Fx", "toolu_0000gen2_call-201-2Fx", "toolu_0000gen3_functions-2EBash-3A0", "toolu_gen4"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tool ids (-want +got):\n%s", diff)
	}
	for i, upstream := range []string{"call 1/x", "call 1/x", "functions.Bash:0"} {
		if back, ok := upstreamToolID(got[i]); !ok || back != upstream {
			t.Errorf("upstreamToolID(%q) = %q, %v; want %q", got[i], back, ok, upstream)
		}
	}
}

func TestUsageMapping(t *testing.T) {
	tests := []struct {
		name  string
		usage string
		want  anthropic.Usage
	}{
		{name: "openai cached", usage: `{"prompt_tokens":100,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":60}}`,
			want: anthropic.Usage{InputTokens: 40, CacheReadInputTokens: 60, OutputTokens: 7}},
		{name: "deepseek cache hit", usage: `{"prompt_tokens":100,"completion_tokens":7,"prompt_cache_hit_tokens":90,"prompt_cache_miss_tokens":10}`,
			want: anthropic.Usage{InputTokens: 10, CacheReadInputTokens: 90, OutputTokens: 7}},
		{name: "cached above prompt", usage: `{"prompt_tokens":5,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":9}}`,
			want: anthropic.Usage{InputTokens: 0, CacheReadInputTokens: 5, OutputTokens: 1}},
		{name: "null details", usage: `{"prompt_tokens":3,"completion_tokens":2,"prompt_tokens_details":null}`,
			want: anthropic.Usage{InputTokens: 3, OutputTokens: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewStreamConverter(StreamOptions{Model: "m", EstimateInput: func() int { return 999 }})
			if _, err := c.Process([]byte(`{"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"stop"}]}`)); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Process([]byte(`{"choices":[],"usage":` + tt.usage + `}`)); err != nil {
				t.Fatal(err)
			}
			events, err := c.Process([]byte(`[DONE]`))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, events[len(events)-2].Usage); diff != "" {
				t.Errorf("usage (-want +got):\n%s", diff)
			}
		})
	}
}

// toolArgs is a chunk carrying an argument fragment for tool call idx
// (named on its first fragment).
func toolArgs(idx int, name, frag string) []byte {
	b, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"index": 0, "delta": map[string]any{
		"tool_calls": []any{map[string]any{"index": idx, "id": "call_" + strconv.Itoa(idx), "type": "function",
			"function": map[string]any{"name": name, "arguments": frag}}}}}}})
	return b
}

// TestToolArgumentsBounded: a provider that streams arguments without end
// fails the stream once MaxToolArguments are buffered, instead of growing
// memory without limit.
func TestToolArgumentsBounded(t *testing.T) {
	c := NewStreamConverter(StreamOptions{Model: "m"})
	frag := `{"a":"` + strings.Repeat("x", 1<<20)
	if _, err := c.Process(toolArgs(0, "Read", frag)); err != nil {
		t.Fatal(err)
	}
	frag = strings.Repeat("y", 1<<20)
	for i := 0; ; i++ {
		_, err := c.Process(toolArgs(0, "", frag))
		if err != nil {
			if !strings.Contains(err.Error(), "tool call arguments longer than") {
				t.Fatalf("error %v, want the arguments bound", err)
			}
			if i < MaxToolArguments>>20-2 {
				t.Fatalf("failed after %d MiB, before the bound", i+1)
			}
			return
		}
		if i > MaxToolArguments>>20+2 {
			t.Fatal("arguments past MaxToolArguments were buffered")
		}
	}
}

// TestInterleavedToolCallsWhole: with a second call waiting, the open
// call's block closes exactly when its arguments become a whole JSON object
// or array, whatever way they are split, and never for arguments that
// cannot become one.
func TestInterleavedToolCallsWhole(t *testing.T) {
	tests := []struct {
		args  string
		whole bool
	}{
		{`{"path":"/a/b.go","n":[1,{"x":"}"}]}`, true},
		{`[1,2,"]"]`, true},
		{`{"s":"\"}\\"}`, true},
		{` { }`, true},
		{`x{"a":1}`, false},
		{`}{`, false},
		{`"string"`, false},
		{`{"a":`, false},
	}
	for _, tt := range tests {
		for split := 1; split <= len(tt.args); split++ {
			c := NewStreamConverter(StreamOptions{Model: "m"})
			var stopped bool
			for i := 0; i < len(tt.args); i += split {
				evs, err := c.Process(toolArgs(0, "First", tt.args[i:min(i+split, len(tt.args))]))
				if err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					// The second call arrives after the first fragment and waits.
					if evs, err = c.Process(toolArgs(1, "Second", "")); err != nil {
						t.Fatal(err)
					}
				}
				for _, e := range evs {
					stopped = stopped || e.Type == anthropic.EventContentBlockStop
				}
			}
			if stopped != tt.whole {
				t.Errorf("args %q in fragments of %d: first block closed %v, want %v", tt.args, split, stopped, tt.whole)
			}
		}
	}
}
