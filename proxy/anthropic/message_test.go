package anthropic

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/google/go-cmp/cmp"
)

func TestEventJSON(t *testing.T) {
	tests := []struct {
		name  string
		event Event
		want  string
	}{
		{"message_start", MessageStart(Message{ID: "msg_1", Model: "claude-sonnet-5", Usage: Usage{InputTokens: 25, OutputTokens: 1}}),
			`{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}`},
		{"text start", BlockStart(0, ContentBlock{Type: BlockText}),
			`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`},
		{"tool_use start", BlockStart(1, ContentBlock{Type: BlockToolUse, ID: "toolu_1", Name: "Read"}),
			`{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"Read","input":{}}}`},
		{"thinking start", BlockStart(0, ContentBlock{Type: BlockThinking}),
			`{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`},
		{"redacted_thinking start", BlockStart(2, ContentBlock{Type: BlockRedactedThinking, Data: "EmwK"}),
			`{"type":"content_block_start","index":2,"content_block":{"type":"redacted_thinking","data":"EmwK"}}`},
		{"text_delta", TextDelta(0, "a <b> & \"c\"\n"),
			`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a <b> & \"c\"\n"}}`},
		{"input_json_delta", InputJSONDelta(1, `{"a":1}`),
			`{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":1}"}}`},
		{"thinking_delta", ThinkingDelta(0, "hmm"),
			`{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}`},
		{"signature_delta", SignatureDelta(0, "EqQB"),
			`{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQB"}}`},
		{"content_block_stop", BlockStop(3), `{"type":"content_block_stop","index":3}`},
		{"message_delta", MessageDelta(StopEndTurn, "", Usage{InputTokens: 10, CacheReadInputTokens: 5, OutputTokens: 15}),
			`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":5,"output_tokens":15}}`},
		{"message_delta stop sequence", MessageDelta(StopStopSequence, "END", Usage{}),
			`{"type":"message_delta","delta":{"stop_reason":"stop_sequence","stop_sequence":"END"},"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}`},
		{"message_stop", MessageStop(), `{"type":"message_stop"}`},
		{"ping", Ping(), `{"type":"ping"}`},
		{"error", ErrorEvent("overloaded_error", "Overloaded"), `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`},
		{"error without type", Event{Type: EventError, ErrorMessage: "x"}, `{"type":"error","error":{"type":"api_error","message":"x"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.event)
			if err != nil {
				t.Fatal(err)
			}
			// json.Marshal compacts but keeps our bytes otherwise; AppendJSON
			// must give the same.
			if diff := cmp.Diff(tt.want, string(tt.event.AppendJSON(nil))); diff != "" {
				t.Errorf("AppendJSON (-want +got):\n%s", diff)
			}
			if !json.Valid(got) {
				t.Errorf("invalid JSON %s", got)
			}
		})
	}
}

func TestAppendSSE(t *testing.T) {
	got := string(BlockStop(0).AppendSSE([]byte("prefix\n")))
	want := "prefix\nevent: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// An event of no known type must not go out as something else.
	got = string(Event{Type: "bogus"}.AppendSSE(nil))
	if !strings.HasPrefix(got, "event: error\ndata: {\"type\":\"error\"") {
		t.Errorf("unknown event type encoded as %q", got)
	}
}

// TestSDKParsesEvents checks each event with the official SDK's union type.
func TestSDKParsesEvents(t *testing.T) {
	events := []Event{
		MessageStart(Message{ID: "msg_1", Model: "m", Usage: Usage{InputTokens: 3}}),
		BlockStart(0, ContentBlock{Type: BlockThinking}),
		ThinkingDelta(0, "t"),
		SignatureDelta(0, "s"),
		BlockStop(0),
		BlockStart(1, ContentBlock{Type: BlockText}),
		TextDelta(1, "hi"),
		BlockStop(1),
		BlockStart(2, ContentBlock{Type: BlockToolUse, ID: "toolu_1", Name: "A"}),
		InputJSONDelta(2, `{"k":`),
		InputJSONDelta(2, `"v"}`),
		BlockStop(2),
		MessageDelta(StopToolUse, "", Usage{InputTokens: 3, CacheReadInputTokens: 2, OutputTokens: 9}),
		MessageStop(),
	}
	var msg sdk.Message
	for _, e := range events {
		var u sdk.MessageStreamEventUnion
		if err := u.UnmarshalJSON(e.AppendJSON(nil)); err != nil {
			t.Fatalf("SDK cannot parse %s: %v", e.Type, err)
		}
		if err := msg.Accumulate(u); err != nil {
			t.Fatalf("SDK Accumulate(%s): %v", e.Type, err)
		}
	}
	ours, err := Accumulate(events)
	if err != nil {
		t.Fatal(err)
	}
	var fromOurs sdk.Message
	if err := fromOurs.UnmarshalJSON(ours.AppendJSON(nil)); err != nil {
		t.Fatal(err)
	}
	type view struct {
		Types                      []string
		Thinking, Sig, Text, Input string
		Stop                       string
		In, CacheRead, Out         int64
	}
	viewOf := func(m *sdk.Message) view {
		v := view{Stop: string(m.StopReason), In: m.Usage.InputTokens, CacheRead: m.Usage.CacheReadInputTokens, Out: m.Usage.OutputTokens}
		for _, b := range m.Content {
			v.Types = append(v.Types, b.Type)
			v.Thinking += b.Thinking
			v.Sig += b.Signature
			v.Text += b.Text
			if b.Type == "tool_use" {
				v.Input = string(b.Input)
			}
		}
		return v
	}
	want := view{Types: []string{"thinking", "text", "tool_use"}, Thinking: "t", Sig: "s", Text: "hi", Input: `{"k":"v"}`, Stop: "tool_use", In: 3, CacheRead: 2, Out: 9}
	if diff := cmp.Diff(want, viewOf(&msg)); diff != "" {
		t.Errorf("SDK stream accumulation (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, viewOf(&fromOurs)); diff != "" {
		t.Errorf("our accumulation, parsed by the SDK (-want +got):\n%s", diff)
	}
}

func TestMessageJSON(t *testing.T) {
	m := Message{
		ID: "msg_1", Model: "claude-sonnet-5", StopReason: StopToolUse,
		Content: []ContentBlock{
			{Type: BlockText, Text: "Reading."},
			{Type: BlockToolUse, ID: "toolu_1", Name: "Read", Input: json.RawMessage("{\n  \"file_path\": \"a\"\n}")},
		},
		Usage: Usage{InputTokens: 1, CacheCreationInputTokens: 2, CacheReadInputTokens: 3, OutputTokens: 4},
	}
	want := `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-5","content":[` +
		`{"type":"text","text":"Reading."},{"type":"tool_use","id":"toolu_1","name":"Read","input":{"file_path":"a"}}],` +
		`"stop_reason":"tool_use","stop_sequence":null,` +
		`"usage":{"input_tokens":1,"cache_creation_input_tokens":2,"cache_read_input_tokens":3,"output_tokens":4}}`
	got, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := json.Marshal(ContentBlock{Type: "image"}); err == nil {
		t.Error("marshalling a content block of unknown type succeeded")
	}
}

func TestAppendString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{"<a> & b", `"<a> & b"`},
		{"q\"b\\s/", `"q\"b\\s/"`},
		{"\n\r\t\x00\x1f\x7f", `"\n\r\t\u0000\u001f` + "\x7f" + `"`},
		{"ü✓😀", `"ü✓😀"`},
		{"bad\xffutf8\xc3", `"bad\ufffdutf8\ufffd"`},
		{"line\u2028sep\u2029", `"line\u2028sep\u2029"`},
	}
	for _, tt := range tests {
		got := string(appendString(nil, tt.in))
		if got != tt.want {
			t.Errorf("appendString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// FuzzAppendString checks that any string encodes to valid JSON on one line
// that decodes back to it (invalid UTF-8 aside).
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\x00\n", "ü\xff", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := appendString(nil, s)
		if strings.ContainsAny(string(enc), "\r\n") {
			t.Fatalf("raw line end in %q", enc)
		}
		var back string
		if err := json.Unmarshal(enc, &back); err != nil {
			t.Fatalf("invalid JSON %q: %v", enc, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("round trip %q -> %q", s, back)
		}
	})
}

func TestContentUnmarshal(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Content
		wantErr bool
	}{
		{name: "string", in: `"hi"`, want: Content{{Type: BlockText, Text: "hi"}}},
		{name: "string after space", in: ` "hi"`, want: Content{{Type: BlockText, Text: "hi"}}},
		{name: "null", in: `null`, want: nil},
		{name: "blocks", in: `[{"type":"text","text":"a","cache_control":{"type":"ephemeral"}},{"type":"tool_result","tool_use_id":"t","content":"r","is_error":true}]`,
			want: Content{{Type: BlockText, Text: "a"}, {Type: BlockToolResult, ToolUseID: "t", IsError: true, Content: Content{{Type: BlockText, Text: "r"}}}}},
		{name: "number", in: `5`, wantErr: true},
		{name: "bad string", in: `"\x"`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Content
			err := json.Unmarshal([]byte(tt.in), &got)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); !tt.wantErr && diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRequestDecode(t *testing.T) {
	body := `{"model":"claude-opus-4-8","messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]},{"role":"system","content":"note"}],` +
		`"system":[{"type":"text","text":"a"}],"tools":[{"name":"A","description":"d","input_schema":{"type":"object"}},{"type":"web_search_20250305","name":"web_search","max_uses":3}],` +
		`"tool_choice":{"type":"any","disable_parallel_tool_use":true},"metadata":{"user_id":"{\"x\":1}"},"max_tokens":64000,` +
		`"thinking":{"type":"enabled","budget_tokens":2048},"context_management":{"edits":[]},"output_config":{"effort":"high"},"stream":true,"temperature":0.5,"top_k":5}`
	var got Request
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	temp, topK := 0.5, 5
	want := Request{
		Model: "claude-opus-4-8",
		Messages: []MessageParam{
			{Role: "user", Content: Content{{Type: BlockText, Text: "hi"}}},
			{Role: "system", Content: Content{{Type: BlockText, Text: "note"}}},
		},
		System: Content{{Type: BlockText, Text: "a"}},
		Tools: []Tool{
			{Name: "A", Description: "d", InputSchema: json.RawMessage(`{"type":"object"}`)},
			{Type: "web_search_20250305", Name: "web_search"},
		},
		ToolChoice:   &ToolChoice{Type: "any", DisableParallelToolUse: true},
		Metadata:     &Metadata{UserID: `{"x":1}`},
		MaxTokens:    64000,
		Thinking:     &Thinking{Type: "enabled", BudgetTokens: 2048},
		OutputConfig: &OutputConfig{Effort: "high"},
		Stream:       true,
		Temperature:  &temp,
		TopK:         &topK,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestAccumulateErrors(t *testing.T) {
	start := MessageStart(Message{ID: "msg_1", Model: "m"})
	tool := BlockStart(0, ContentBlock{Type: BlockToolUse, ID: "t", Name: "A"})
	tests := []struct {
		name   string
		events []Event
		want   string
	}{
		{"empty", nil, "stream ended without message_stop"},
		{"no message_start", []Event{BlockStart(0, ContentBlock{Type: BlockText})}, "first event is not message_start"},
		{"second message_start", []Event{start, start}, "second message_start"},
		{"index gap", []Event{start, BlockStart(1, ContentBlock{Type: BlockText})}, "block started at index 1, want 0"},
		{"unknown block", []Event{start, BlockStart(0, ContentBlock{Type: "image"})}, `unknown type "image"`},
		{"delta without block", []Event{start, TextDelta(0, "a")}, "no block at index 0"},
		{"delta after stop", []Event{start, BlockStart(0, ContentBlock{Type: BlockText}), BlockStop(0), TextDelta(0, "a")}, "block 0 already stopped"},
		{"double stop", []Event{start, BlockStart(0, ContentBlock{Type: BlockText}), BlockStop(0), BlockStop(0)}, "block 0 already stopped"},
		{"wrong delta kind", []Event{start, BlockStart(0, ContentBlock{Type: BlockText}), InputJSONDelta(0, "{}")}, "input_json_delta delta on a text block"},
		{"tool input not an object", []Event{start, tool, InputJSONDelta(0, "[1]"), BlockStop(0)}, "tool input is not a JSON object"},
		{"tool input cut", []Event{start, tool, InputJSONDelta(0, `{"a":`), BlockStop(0)}, "tool input is not a JSON object"},
		{"stop with open block", []Event{start, tool, MessageStop()}, "message_stop with block 0 still open"},
		{"event after stop", []Event{start, MessageStop(), Ping()}, ""},
		{"message_delta after stop", []Event{start, MessageStop(), MessageDelta(StopEndTurn, "", Usage{})}, "event after message_stop"},
		{"error event", []Event{start, ErrorEvent("overloaded_error", "Overloaded")}, "stream error overloaded_error: Overloaded"},
		{"unknown event", []Event{start, {Type: "bogus"}}, `unknown event type "bogus"`},
		{"cut", []Event{start, BlockStart(0, ContentBlock{Type: BlockText}), TextDelta(0, "a")}, "stream ended without message_stop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Accumulate(tt.events)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("error %v, want none (pings are ignored anywhere)", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestAccumulate(t *testing.T) {
	events := []Event{
		MessageStart(Message{ID: "msg_1", Model: "m", Usage: Usage{InputTokens: 42}}),
		Ping(),
		BlockStart(0, ContentBlock{Type: BlockThinking}),
		ThinkingDelta(0, "a"), ThinkingDelta(0, "b"), SignatureDelta(0, "sig"),
		BlockStop(0),
		BlockStart(1, ContentBlock{Type: BlockToolUse, ID: "toolu_1", Name: "A", Input: json.RawMessage("{}")}),
		InputJSONDelta(1, `{"x": `), InputJSONDelta(1, `[1, 2]}`),
		BlockStop(1),
		BlockStart(2, ContentBlock{Type: BlockToolUse, ID: "toolu_2", Name: "B"}),
		BlockStop(2),
		MessageDelta(StopToolUse, "", Usage{InputTokens: 40, CacheReadInputTokens: 2, OutputTokens: 7}),
		MessageStop(),
	}
	got, err := Accumulate(events)
	if err != nil {
		t.Fatal(err)
	}
	want := Message{
		ID: "msg_1", Model: "m", StopReason: StopToolUse,
		Content: []ContentBlock{
			{Type: BlockThinking, Thinking: "ab", Signature: "sig"},
			{Type: BlockToolUse, ID: "toolu_1", Name: "A", Input: json.RawMessage(`{"x":[1,2]}`)},
			{Type: BlockToolUse, ID: "toolu_2", Name: "B", Input: json.RawMessage(`{}`)},
		},
		Usage: Usage{InputTokens: 40, CacheReadInputTokens: 2, OutputTokens: 7},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
