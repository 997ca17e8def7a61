package proxy

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/internal/fake"
	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
	"github.com/ccbalancer/ccbalancer/proxy/health"
	"github.com/ccbalancer/ccbalancer/proxy/sse"
)

// openaiEnv: provider "O" speaks Chat Completions, "B" is Anthropic.
func openaiEnv(t *testing.T, tweak func(*config.Config)) (*env, *fake.OpenAI) {
	t.Helper()
	o := fake.NewOpenAI("O")
	hs := httptest.NewServer(o)
	t.Cleanup(hs.Close)
	e := newEnv(t, func(c *config.Config) {
		c.Providers[0].Type = config.TypeOpenAI
		c.Providers[0].BaseURL = hs.URL + "/api/v1"
		c.Providers[0].Headers = map[string]string{"X-Title": "ccbalancer"}
		c.Routes[0].Entries[0].Model = "vendor/model-x"
		if tweak != nil {
			tweak(c)
		}
	}, upSpec{name: "O", url: "http://unused.invalid"}, upSpec{name: "B"})
	return e, o
}

type block struct {
	Type, Text, ID, Name, Input string
}

type streamed struct {
	StopReason string
	Blocks     []block
	Stopped    bool
}

// foldStream folds an Anthropic SSE body into its blocks, checking that
// event names match their types and indexes are in order.
func foldStream(t *testing.T, body string) streamed {
	t.Helper()
	r := sse.NewReader(strings.NewReader(body), 0)
	var out streamed
	for {
		ev, err := r.Next()
		if err != nil {
			return out
		}
		var e struct {
			Type  string `json:"type"`
			Index int    `json:"index"`
			Block struct {
				Type, ID, Name string
			} `json:"content_block"`
			Delta struct {
				Type        string `json:"type"`
				Text        string `json:"text"`
				PartialJSON string `json:"partial_json"`
				StopReason  string `json:"stop_reason"`
			} `json:"delta"`
		}
		if err := json.Unmarshal(ev.Data, &e); err != nil || e.Type != ev.Name {
			t.Fatalf("event %q: %s (%v)", ev.Name, ev.Data, err)
		}
		switch e.Type {
		case "content_block_start":
			if e.Index != len(out.Blocks) {
				t.Fatalf("block index %d, want %d", e.Index, len(out.Blocks))
			}
			out.Blocks = append(out.Blocks, block{Type: e.Block.Type, ID: e.Block.ID, Name: e.Block.Name})
		case "content_block_delta":
			b := &out.Blocks[e.Index]
			b.Text += e.Delta.Text
			b.Input += e.Delta.PartialJSON
		case "message_delta":
			out.StopReason = e.Delta.StopReason
		case "message_stop":
			out.Stopped = true
		}
	}
}

const toolTurn1 = `{"model":"claude-sonnet-5","max_tokens":64000,"stream":true,
"system":[{"type":"text","text":"You are a coding agent."},{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],
"tools":[{"name":"Read","description":"Read a file","input_schema":{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"path":{"type":"string"}},"required":["path"],"additionalProperties":false}}],
"messages":[{"role":"user","content":[{"type":"text","text":"What is in a.txt?","cache_control":{"type":"ephemeral"}}]}]}`

const toolTurn2 = `{"model":"claude-sonnet-5","max_tokens":64000,
"tools":[{"name":"Read","description":"Read a file","input_schema":{"type":"object","properties":{"path":{"type":"string"}}}}],
"messages":[{"role":"user","content":"What is in a.txt?"},
{"role":"assistant","content":[{"type":"text","text":"Let me look."},{"type":"tool_use","id":"toolu_1","name":"Read","input":{"path":"a.txt"}}]},
{"role":"system","content":"The user is watching."},
{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"hello world","cache_control":{"type":"ephemeral"}}]}]}`

// TestOpenAIToolConversation: a multi-turn tool-using conversation through
// an OpenAI-compatible provider, streaming and not.
func TestOpenAIToolConversation(t *testing.T) {
	t.Parallel()
	e, o := openaiEnv(t, nil)
	o.SetScript(func(n int, req map[string]any) fake.ChatReply {
		if n == 1 {
			return fake.ChatReply{Text: "Let me look.", ToolCalls: []fake.ToolCall{{ID: "call_abc", Name: "Read", Arguments: `{"path":"a.txt"}`}}}
		}
		return fake.ChatReply{Text: "It says hello world."}
	})
	// Turn 1, streamed: text, then a tool call whose arguments arrive in fragments.
	resp := e.post("/v1/messages?beta=true", []byte(toolTurn1), map[string]string{"Anthropic-Beta": "claude-code-20250219"})
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("X-Provider-Used") != "O" {
		t.Fatalf("turn 1: %v %d %s", err, resp.StatusCode, b)
	}
	m := foldStream(t, string(b))
	if !m.Stopped || m.StopReason != "tool_use" || len(m.Blocks) != 2 || m.Blocks[0] != (block{Type: "text", Text: "Let me look."}) ||
		m.Blocks[1].Type != "tool_use" || m.Blocks[1].Name != "Read" || m.Blocks[1].Input != `{"path":"a.txt"}` || !strings.HasPrefix(m.Blocks[1].ID, "toolu_") {
		t.Fatalf("turn 1 message = %+v\n%s", m, b)
	}
	up := o.Requests()[0]
	if up.Path != "/api/v1/chat/completions" || up.Header.Get("Authorization") != "Bearer sk-test-o-secret" ||
		up.Header.Get("X-Title") != "ccbalancer" || up.Header.Get("Anthropic-Beta") != "" || up.Header.Get("X-Api-Key") != "" {
		t.Errorf("upstream request %s headers %v", up.Path, up.Header)
	}
	var chat map[string]any
	json.Unmarshal(up.Body, &chat)
	if chat["model"] != "vendor/model-x" || chat["stream"] != true || strings.Contains(string(up.Body), "cache_control") {
		t.Errorf("converted request: %s", up.Body)
	}

	// Turn 2, not streamed: the tool result goes back as a tool message.
	resp = e.post("/v1/messages", []byte(toolTurn2), nil)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	var msg struct {
		Model      string `json:"model"`
		StopReason string `json:"stop_reason"`
		Content    []struct {
			Type, Text string
		} `json:"content"`
	}
	if err := json.Unmarshal(b, &msg); err != nil || resp.StatusCode != 200 {
		t.Fatalf("turn 2: %d %s", resp.StatusCode, b)
	}
	if msg.StopReason != "end_turn" || len(msg.Content) != 1 || msg.Content[0].Text != "It says hello world." || msg.Model != "claude-sonnet-5" {
		t.Fatalf("turn 2 message = %s", b)
	}
	json.Unmarshal(o.Requests()[1].Body, &chat)
	msgs, _ := chat["messages"].([]any)
	var roles []string
	for _, x := range msgs {
		roles = append(roles, x.(map[string]any)["role"].(string))
	}
	// Tool results must follow their calls, so the system note moves after them.
	if strings.Join(roles, ",") != "user,assistant,tool,system" {
		t.Errorf("converted roles %v: %s", roles, o.Requests()[1].Body)
	}
}

// TestOpenAIFailover: from an OpenAI provider to an Anthropic one and back.
func TestOpenAIFailover(t *testing.T) {
	t.Parallel()
	e, o := openaiEnv(t, nil)
	o.SetScript(func(n int, _ map[string]any) fake.ChatReply {
		switch n {
		case 1:
			return fake.ChatReply{Status: 529, Message: "overloaded"}
		case 2:
			return fake.ChatReply{Cut: true, Text: "This answer will be cut short."}
		}
		return fake.ChatReply{Text: "back again"}
	})
	// A 529 before any byte: failed over to B at once.
	resp, body, err := e.send(true, nil)
	if err != nil || resp.Header.Get("X-Provider-Used") != "B" || !strings.Contains(body, "message_stop") {
		t.Fatalf("529: served by %q (%v): %s", resp.Header.Get("X-Provider-Used"), err, body)
	}
	if err := e.srv.RetryNow("O"); err != nil {
		t.Fatal(err)
	}
	// A cut after content: the client's stream is aborted (never a clean end),
	// and Claude Code's non-streaming retry is served by B.
	resp, body, err = e.send(true, nil)
	if err == nil || resp.Header.Get("X-Provider-Used") != "O" || strings.Contains(body, "message_stop") {
		t.Fatalf("cut: err %v from %q: %s", err, resp.Header.Get("X-Provider-Used"), body)
	}
	if le := e.providers()["O"].LastError; !strings.Contains(le, "stream cut") {
		t.Errorf("O last_error = %q", le)
	}
	resp, body, err = e.send(false, nil)
	if err != nil || resp.Header.Get("X-Provider-Used") != "B" {
		t.Fatalf("retry: served by %q (%v): %s", resp.Header.Get("X-Provider-Used"), err, body)
	}
	// B now breaks; O serves again.
	e.ups["B"].Always(fake.Reply{Mode: fake.Status, Status: 500})
	e.srv.RetryNow("O")
	resp, body, err = e.send(true, nil)
	if err != nil || resp.Header.Get("X-Provider-Used") != "O" || streamText(t, body) != "back again" {
		t.Fatalf("back to O: %q %v %s", resp.Header.Get("X-Provider-Used"), err, body)
	}
}

// TestOpenAIRefusalTriesNextEntry: a 400 from an OpenAI provider answers a
// body that we produced, so it proves nothing about the client's request:
// the next route entry is tried (no cooldown), and only when every entry
// refuses does the client get the first refusal, in Anthropic's shape.
func TestOpenAIRefusalTriesNextEntry(t *testing.T) {
	t.Parallel()
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprint("stream=", stream), func(t *testing.T) {
			t.Parallel()
			e, o := openaiEnv(t, nil)
			o.SetScript(func(int, map[string]any) fake.ChatReply {
				return fake.ChatReply{Status: 400, Message: "Invalid 'messages[2].tool_calls[0].function.name'"}
			})
			resp, body, err := e.send(stream, nil)
			if err != nil || resp.StatusCode != 200 || resp.Header.Get("X-Provider-Used") != "B" {
				t.Fatalf("refusal did not fail over: %d from %q: %s", resp.StatusCode, resp.Header.Get("X-Provider-Used"), body)
			}
			if st := e.srv.Snapshot().Providers[0]; st.Name != "O" || st.State != health.StateHealthy || st.Failures != 1 {
				t.Errorf("O after a refusal: %+v, want healthy with one failure counted", st)
			}
			// B, an Anthropic provider, refuses too: its 400 refuses the
			// client's own body and is relayed at once.
			e.ups["B"].Always(fake.Reply{Mode: fake.Status, Status: 400, Message: "B refuses too"})
			resp, body, _ = e.send(stream, nil)
			typ, msg, ok := anthropic.ParseError([]byte(body))
			if resp.StatusCode != 400 || !ok || resp.Header.Get("X-Provider-Used") != "B" || msg != "B refuses too" {
				t.Fatalf("%d from %q: %s (%s)", resp.StatusCode, resp.Header.Get("X-Provider-Used"), body, typ)
			}
		})
	}
}

// TestOpenAIEveryEntryRefuses: two OpenAI entries both refuse; the client
// gets the first refusal, converted (a context overflow reads "prompt is too
// long", which makes Claude Code compact).
func TestOpenAIEveryEntryRefuses(t *testing.T) {
	t.Parallel()
	o1, o2 := fake.NewOpenAI("O1"), fake.NewOpenAI("O2")
	for i, o := range []*fake.OpenAI{o1, o2} {
		msg := []string{"This model's maximum context length is 8192 tokens.", "second refusal"}[i]
		o.SetScript(func(int, map[string]any) fake.ChatReply { return fake.ChatReply{Status: 400, Message: msg} })
	}
	h1, h2 := httptest.NewServer(o1), httptest.NewServer(o2)
	t.Cleanup(h1.Close)
	t.Cleanup(h2.Close)
	e := newEnv(t, func(c *config.Config) {
		for i := range c.Providers {
			c.Providers[i].Type = config.TypeOpenAI
		}
	}, upSpec{name: "O1", url: h1.URL}, upSpec{name: "O2", url: h2.URL})
	for _, stream := range []bool{false, true} {
		resp, body, _ := e.send(stream, nil)
		typ, msg, ok := anthropic.ParseError([]byte(body))
		if resp.StatusCode != 400 || !ok || typ != anthropic.ErrInvalidRequest || !strings.HasPrefix(msg, "prompt is too long") ||
			resp.Header.Get("X-Provider-Used") != "O1" {
			t.Fatalf("stream=%v: %d from %q: %s", stream, resp.StatusCode, resp.Header.Get("X-Provider-Used"), body)
		}
	}
	if o1.Count() != 2 || o2.Count() != 2 {
		t.Errorf("O1 asked %d times, O2 %d times; want both twice", o1.Count(), o2.Count())
	}
}
