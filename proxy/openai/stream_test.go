package openai

import (
	"errors"
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
	c := NewStreamConverter("m", 1)
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
			wantErr: `finish_reason "error"`, upstream: true, wantStart: true,
		},
		{
			name:    "content and an error in one chunk",
			chunks:  []string{`{"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"error"}]}`},
			wantErr: `finish_reason "error"`, upstream: true, wantStart: false,
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
			c := NewStreamConverter("m", 0)
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
		c := NewStreamConverter("m", 0)
		if _, err := c.Finish(); !errors.Is(err, ErrTruncated) {
			t.Fatalf("Finish() = %v, want ErrTruncated", err)
		}
	})
	t.Run("after DONE returns nothing", func(t *testing.T) {
		c := NewStreamConverter("m", 0)
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
		c := NewStreamConverter("m", 0)
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
		{finish: "eos", want: "end_turn", warning: `unknown finish_reason "eos" mapped to end_turn`},
	}
	for _, tt := range tests {
		t.Run(tt.finish, func(t *testing.T) {
			c := NewStreamConverter("m", 0)
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
	c := NewStreamConverter("m", 0)
	c.newID = seqIDs()
	chunk := `{"id":"chunk1","choices":[{"index":0,"delta":{"tool_calls":[` +
		`{"index":0,"id":"call 1/x","function":{"name":"A","arguments":"{}"}},` +
		`{"index":1,"id":"call 1/x","function":{"name":"B","arguments":"{}"}},` +
		`{"index":2,"id":"toolu_keep","function":{"name":"C","arguments":"{}"}},` +
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
	want := []string{"toolu_call_1_x", "toolu_call_1_x_2", "toolu_keep", "toolu_gen1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tool ids (-want +got):\n%s", diff)
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
			c := NewStreamConverter("m", 999)
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
