package proxy

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/internal/fake"
	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
	"github.com/ccbalancer/ccbalancer/proxy/health"
)

// scriptedProv is an OpenAI-compatible provider served by a script, or
// (script nil) an Anthropic provider served by fake.Upstream.
type scriptedProv struct {
	name, family string
	script       *fake.Script
}

// quirkEnv is a proxy in front of scripted providers, routed "*sonnet*" in
// the given order.
type quirkEnv struct {
	*env
	scripted  map[string]*fake.Scripted
	anthropic map[string]*fake.Upstream
	cfg       *config.Config
}

func newQuirkEnv(t *testing.T, log *slog.Logger, provs ...scriptedProv) *quirkEnv {
	t.Helper()
	q := &quirkEnv{scripted: map[string]*fake.Scripted{}, anthropic: map[string]*fake.Upstream{}}
	var cps []config.Provider
	for _, p := range provs {
		var h http.Handler
		cp := config.Provider{Name: p.name, Family: p.family}
		if p.script != nil {
			s := fake.NewScripted(*p.script)
			q.scripted[p.name], h, cp.Type = s, s, config.TypeOpenAI
		} else {
			u := fake.New(p.name)
			q.anthropic[p.name], h = u, u
		}
		hs := httptest.NewServer(h)
		t.Cleanup(hs.Close)
		cp.BaseURL = hs.URL + "/v1"
		if p.script == nil {
			cp.BaseURL = hs.URL
		}
		cps = append(cps, cp)
	}
	q.cfg = testConfig(cps...)
	srv, err := New(q.cfg, Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	q.env = &env{t: t, srv: srv, front: httptest.NewServer(srv.Handler()), client: &http.Client{Transport: &http.Transport{}}}
	t.Cleanup(func() {
		q.client.CloseIdleConnections()
		q.front.Close()
		srv.Close()
	})
	return q
}

// restart replaces the proxy by a new one with the same configuration: a
// proxy restart, which keeps nothing of the old one's memory.
func (q *quirkEnv) restart() {
	q.t.Helper()
	srv, err := New(q.cfg, Options{})
	if err != nil {
		q.t.Fatal(err)
	}
	front := httptest.NewServer(srv.Handler())
	q.t.Cleanup(func() {
		front.Close()
		srv.Close()
	})
	q.front.Close()
	q.srv, q.front = srv, front
}

// exchange posts body and returns the status, the answer and the provider
// that served it.
func (q *quirkEnv) exchange(body []byte) (int, []byte, string) {
	q.t.Helper()
	resp := q.post("/v1/messages?beta=true", body, nil)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header.Get("X-Provider-Used")
}

// sseScript is a script answering with one stream of the given chunks.
func sseScript(chunks ...string) *fake.Script {
	var items []json.RawMessage
	for _, c := range chunks {
		items = append(items, json.RawMessage(c))
	}
	return &fake.Script{Routes: map[string]fake.ScriptRoute{"/chat/completions": {
		Responses: []fake.ScriptResponse{{SSE: items, Done: true}}}}}
}

// errorScript answers every request with status and body.
func errorScript(status int, body string) *fake.Script {
	return &fake.Script{Routes: map[string]fake.ScriptRoute{"/chat/completions": {
		Responses: []fake.ScriptResponse{{Status: status, JSON: json.RawMessage(body)}}}}}
}

const textAnswer = `{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"served"},"finish_reason":null}]}`
const stopChunk = `{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1}}`

// TestOpenAIOverflowEveryEntry: every entry says the prompt does not fit,
// each in its own words and status; the client gets Anthropic's 400
// "prompt is too long", and no provider is cooled down (the request, not the
// provider, is at fault).
func TestOpenAIOverflowEveryEntry(t *testing.T) {
	t.Parallel()
	q := newQuirkEnv(t, nil,
		scriptedProv{name: "Kimi", script: errorScript(400, `{"error":{"message":"Invalid request: Your request exceeded model token limit: 131072","type":"invalid_request_error"}}`)},
		scriptedProv{name: "Llama", script: errorScript(500, `{"error":{"code":500,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":9000,"n_ctx":8192}}`)},
		scriptedProv{name: "Gemini", script: errorScript(400, `[{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}]`)},
	)
	for _, stream := range []bool{true, false} {
		status, body, _ := q.exchange(claudeBody("claude-sonnet-5", stream))
		typ, msg, _ := anthropic.ParseError(body)
		if status != http.StatusBadRequest || typ != anthropic.ErrInvalidRequest || msg != "prompt is too long: more than 131072 tokens (Invalid request: Your request exceeded model token limit: 131072)" {
			t.Errorf("stream=%v: HTTP %d %s; want the first refusal as 400 \"prompt is too long\"", stream, status, body)
		}
	}
	for name, s := range q.scripted {
		if s.Count() != 2 {
			t.Errorf("%s asked %d times, want 2", name, s.Count())
		}
	}
	for _, p := range q.srv.Snapshot().Providers {
		if p.State != health.StateHealthy {
			t.Errorf("%s is %s after an overflow, want healthy", p.Name, p.State)
		}
	}
}

// TestOpenAIOverflowWhileCooling: the only provider is cooling down from
// an earlier failure, is tried all the same, and says the prompt does not
// fit: the client gets "prompt is too long" (and compacts), not "retry in
// 90 s".
func TestOpenAIOverflowWhileCooling(t *testing.T) {
	t.Parallel()
	q := newQuirkEnv(t, nil,
		scriptedProv{name: "Only", script: errorScript(400, `{"error":{"message":"This model's maximum context length is 8192 tokens. However, you requested 9000 tokens.","code":"context_length_exceeded"}}`)})
	q.srv.health.Failed("Only", health.Failure{State: health.StateCooling, For: time.Minute, Reason: "HTTP 503 earlier"})
	status, body, _ := q.exchange(claudeBody("claude-sonnet-5", true))
	typ, msg, _ := anthropic.ParseError(body)
	if status != http.StatusBadRequest || typ != anthropic.ErrInvalidRequest || !strings.HasPrefix(msg, "prompt is too long: 9000 tokens > 8192 maximum") {
		t.Errorf("HTTP %d %s; want 400 \"prompt is too long\"", status, body)
	}
}

// TestOpenAIOverflowFailsOver: a provider with a smaller window refuses,
// one with a larger window serves; an overflow reported as an error chunk
// in a 200 stream (OpenRouter) is a refusal too.
func TestOpenAIOverflowFailsOver(t *testing.T) {
	t.Parallel()
	q := newQuirkEnv(t, nil,
		scriptedProv{name: "Small", script: errorScript(413, `{"error":{"message":"Request too large for model in organization on tokens per minute (TPM): Limit 6000, Requested 12000","type":"tokens","code":"rate_limit_exceeded"}}`)},
		scriptedProv{name: "Router", script: sseScript(`{"id":"gen-1","object":"chat.completion.chunk","choices":[],"error":{"code":400,"message":"This endpoint's maximum context length is 163840 tokens. However, you requested about 200000 tokens."}}`)},
		scriptedProv{name: "Large", script: sseScript(textAnswer, stopChunk)},
	)
	status, body, by := q.exchange(claudeBody("claude-sonnet-5", true))
	if status != http.StatusOK || by != "Large" || !strings.Contains(string(body), `"text":"served"`) {
		t.Fatalf("HTTP %d from %q: %s", status, by, body)
	}
	for _, name := range []string{"Small", "Router"} {
		if st, _ := q.srv.health.State(name); st != health.StateHealthy {
			t.Errorf("%s is %s after an overflow, want healthy", name, st)
		}
	}
}

// TestOpenAIBrokenFinishFailsOver: a finish_reason that breaks the answer
// off (GLM's network_error, DeepSeek's insufficient_system_resource) before
// any content is failed over and cools the provider down; after content the
// stream is aborted (the provider-quirks case 09).
func TestOpenAIBrokenFinishFailsOver(t *testing.T) {
	t.Parallel()
	for _, reason := range []string{"network_error", "insufficient_system_resource"} {
		t.Run(reason, func(t *testing.T) {
			t.Parallel()
			q := newQuirkEnv(t, nil,
				scriptedProv{name: "Broken", script: sseScript(`{"id":"g","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
					`{"id":"g","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"`+reason+`"}]}`)},
				scriptedProv{name: "Good", script: sseScript(textAnswer, stopChunk)},
			)
			status, body, by := q.exchange(claudeBody("claude-sonnet-5", true))
			if status != http.StatusOK || by != "Good" || !strings.Contains(string(body), "message_stop") {
				t.Fatalf("HTTP %d from %q: %s", status, by, body)
			}
			st := q.srv.health.Status("Broken")
			if st.State != health.StateCooling || !strings.Contains(st.LastError, `finish_reason "`+reason+`"`) {
				t.Errorf("Broken: %s, last error %q", st.State, st.LastError)
			}
		})
	}
}

// logBuffer collects log records for a test.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) lines(level, substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range strings.Split(l.buf.String(), "\n") {
		if strings.Contains(line, "level="+level) && strings.Contains(line, substr) {
			n++
		}
	}
	return n
}

// TestOpenAIWarningsOnce: a conversion warning that holds for every
// request is logged at WARN once per provider, then at DEBUG.
func TestOpenAIWarningsOnce(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	q := newQuirkEnv(t, log,
		scriptedProv{name: "A", script: sseScript(textAnswer, stopChunk)},
	)
	for range 3 {
		if status, body, _ := q.exchange(claudeBody("claude-sonnet-5", true)); status != http.StatusOK {
			t.Fatalf("HTTP %d %s", status, body)
		}
	}
	const w = "thinking dropped: the provider takes no reasoning settings"
	if warn, debug := logs.lines("WARN", w), logs.lines("DEBUG", w); warn != 1 || debug != 2 {
		t.Errorf("%q logged %d times at WARN and %d at DEBUG, want 1 and 2", w, warn, debug)
	}
}

// Turn 1 of a tool-using conversation, and how turn 2 is built from the
// answer: the history as Claude Code sends it back (the assistant's blocks
// verbatim, then the tool result).
const stateTurn1 = `{"model":"claude-sonnet-5","max_tokens":4096,"stream":true,
"tools":[{"name":"Read","description":"Read a file","input_schema":{"type":"object","properties":{"path":{"type":"string"}}}}],
"messages":[{"role":"user","content":"Read a.txt"}]}`

func turn2(t *testing.T, answer map[string]any) []byte {
	t.Helper()
	var req map[string]any
	if err := json.Unmarshal([]byte(stateTurn1), &req); err != nil {
		t.Fatal(err)
	}
	var id string
	for _, b := range answer["content"].([]any) {
		if bb := b.(map[string]any); bb["type"] == "tool_use" {
			id = bb["id"].(string)
		}
	}
	req["messages"] = append(req["messages"].([]any),
		map[string]any{"role": "assistant", "content": answer["content"]},
		map[string]any{"role": "user", "content": []any{map[string]any{"type": "tool_result", "tool_use_id": id, "content": "hello"}}})
	b, _ := json.Marshal(req)
	return b
}

// lastAssistant is the last assistant message a provider received.
func lastAssistant(t *testing.T, s *fake.Scripted) map[string]any {
	t.Helper()
	reqs := s.Requests()
	var body map[string]any
	if err := json.Unmarshal(reqs[len(reqs)-1].Body, &body); err != nil {
		t.Fatal(err)
	}
	var last map[string]any
	for _, m := range body["messages"].([]any) {
		if mm := m.(map[string]any); mm["role"] == "assistant" {
			last = mm
		}
	}
	return last
}

func thoughtSignature(call any) any {
	ec, _ := call.(map[string]any)["extra_content"].(map[string]any)
	g, _ := ec["google"].(map[string]any)
	return g["thought_signature"]
}

// TestOpenAIProviderState: Gemini's thought signature on a tool call comes
// back to Gemini on the next turn, after a proxy restart too, carried by
// the client in a thinking block's signature; another provider never sees
// it (a Gemini provider of another name gets Google's documented sentinel,
// an Anthropic provider no such block at all).
func TestOpenAIProviderState(t *testing.T) {
	t.Parallel()
	const sig = "CiQBjz1rX0l4dGhvdWdodHNpZ25hdHVyZQ=="
	call := `{"id":"g1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"id":"function-call-1","type":"function","function":{"name":"Read","arguments":"{\"path\":\"a.txt\"}"},"extra_content":{"google":{"thought_signature":"` + sig + `"}}}]},"finish_reason":null}]}`
	finish := `{"id":"g1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":30,"completion_tokens":8}}`
	geminiScript := &fake.Script{Routes: map[string]fake.ScriptRoute{"/chat/completions": {Responses: []fake.ScriptResponse{
		{SSE: []json.RawMessage{json.RawMessage(call), json.RawMessage(finish)}, Done: true},
		{SSE: []json.RawMessage{json.RawMessage(textAnswer), json.RawMessage(stopChunk)}, Done: true},
	}}}}
	q := newQuirkEnv(t, nil,
		scriptedProv{name: "Gemini", family: "gemini", script: geminiScript},
		scriptedProv{name: "Gemini2", family: "gemini", script: sseScript(textAnswer, stopChunk)},
		scriptedProv{name: "Claude"},
	)
	status, body, _ := q.exchange([]byte(stateTurn1))
	if status != http.StatusOK {
		t.Fatalf("turn 1: HTTP %d %s", status, body)
	}
	answer := foldAnthropicStream(t, body)
	content := answer["content"].([]any)
	state := content[len(content)-1].(map[string]any)
	if state["type"] != "thinking" || state["thinking"] != "" || !strings.HasPrefix(state["signature"].(string), anthropic.StateSignaturePrefix+"gemini.") {
		t.Fatalf("the answer's last block %v does not carry the state", state)
	}
	if strings.Contains(state["signature"].(string), "Gemini") {
		t.Errorf("the signature %q spells out the provider's name", state["signature"])
	}
	next := turn2(t, answer)

	// A restarted proxy: the state comes only from the client's history.
	q.restart()
	if status, body, by := q.exchange(next); status != http.StatusOK || by != "Gemini" {
		t.Fatalf("turn 2: HTTP %d from %q: %s", status, by, body)
	}
	calls := lastAssistant(t, q.scripted["Gemini"])["tool_calls"].([]any)
	if got := thoughtSignature(calls[0]); got != sig {
		t.Errorf("Gemini got thought_signature %v back, want its own %q", got, sig)
	}
	if id := calls[0].(map[string]any)["id"]; id != "function-call-1" {
		t.Errorf("Gemini got tool call id %v back, want its own", id)
	}

	// The same history to another Gemini provider and to an Anthropic one.
	q.srv.health.Failed("Gemini", health.Failure{State: health.StateCooling, For: 1 << 40, Reason: "test"})
	if status, body, by := q.exchange(next); status != http.StatusOK || by != "Gemini2" {
		t.Fatalf("to Gemini2: HTTP %d from %q: %s", status, by, body)
	}
	calls = lastAssistant(t, q.scripted["Gemini2"])["tool_calls"].([]any)
	if got := thoughtSignature(calls[0]); got != "skip_thought_signature_validator" {
		t.Errorf("Gemini2 got thought_signature %v, want the sentinel", got)
	}
	q.srv.health.Failed("Gemini2", health.Failure{State: health.StateCooling, For: 1 << 40, Reason: "test"})
	if status, body, by := q.exchange(next); status != http.StatusOK || by != "Claude" {
		t.Fatalf("to Claude: HTTP %d from %q: %s", status, by, body)
	}
	reqs := q.anthropic["Claude"].Requests()
	if sent := reqs[len(reqs)-1].Body; bytes.Contains(sent, []byte(anthropic.StateSignaturePrefix)) || !bytes.Contains(sent, []byte(`"tool_use"`)) {
		t.Errorf("the Anthropic provider got %s", sent)
	}
}

// TestOpenAIReasoningDetails: OpenRouter's reasoning_details, sent in
// fragments, come back whole on the next turn.
func TestOpenAIReasoningDetails(t *testing.T) {
	t.Parallel()
	chunks := []string{
		`{"id":"gen-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","reasoning":"Let me ","reasoning_details":[{"type":"reasoning.text","text":"Let me ","format":"anthropic-claude-v1","index":0}]},"finish_reason":null}]}`,
		`{"id":"gen-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"reasoning":"read it.","reasoning_details":[{"type":"reasoning.text","text":"read it.","signature":"EqoBCkgIBhABGAI","format":"anthropic-claude-v1","index":0}]},"finish_reason":null}]}`,
		`{"id":"gen-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"toolu_vrtx_01","type":"function","function":{"name":"Read","arguments":"{\"path\":\"a.txt\"}"}}]},"finish_reason":null}]}`,
		`{"id":"gen-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":30,"completion_tokens":8}}`,
	}
	var items []json.RawMessage
	for _, c := range chunks {
		items = append(items, json.RawMessage(c))
	}
	script := &fake.Script{Routes: map[string]fake.ScriptRoute{"/chat/completions": {Responses: []fake.ScriptResponse{
		{SSE: items, Done: true},
		{SSE: []json.RawMessage{json.RawMessage(textAnswer), json.RawMessage(stopChunk)}, Done: true},
	}}}}
	q := newQuirkEnv(t, nil, scriptedProv{name: "Router", family: "openrouter", script: script})
	status, body, _ := q.exchange([]byte(stateTurn1))
	if status != http.StatusOK {
		t.Fatalf("turn 1: HTTP %d %s", status, body)
	}
	if status, body, _ := q.exchange(turn2(t, foldAnthropicStream(t, body))); status != http.StatusOK {
		t.Fatalf("turn 2: HTTP %d %s", status, body)
	}
	got, _ := json.Marshal(lastAssistant(t, q.scripted["Router"])["reasoning_details"])
	const want = `[{"format":"anthropic-claude-v1","index":0,"signature":"EqoBCkgIBhABGAI","text":"Let me read it.","type":"reasoning.text"}]`
	if string(got) != want {
		t.Errorf("reasoning_details back:\n got %s\nwant %s", got, want)
	}
}

// TestOpenAIUsageEstimateWhole: a non-streamed answer without usage gets
// the local input count, as count_tokens gives it.
func TestOpenAIUsageEstimateWhole(t *testing.T) {
	t.Parallel()
	q := newQuirkEnv(t, nil, scriptedProv{name: "A", script: &fake.Script{Routes: map[string]fake.ScriptRoute{"/chat/completions": {Responses: []fake.ScriptResponse{
		{JSON: json.RawMessage(`{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Done, all four files."},"finish_reason":"stop"}]}`)},
	}}}}})
	body := claudeBody("claude-sonnet-5", false)
	status, answer, _ := q.exchange(body)
	resp := q.post("/v1/messages/count_tokens", body, nil)
	var counted struct {
		InputTokens int `json:"input_tokens"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&counted)
	resp.Body.Close()
	var msg struct {
		Usage struct {
			InputTokens  int `json:"input_tokens"`
			OutputTokens int `json:"output_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(answer, &msg); status != http.StatusOK || err != nil {
		t.Fatalf("HTTP %d %s", status, answer)
	}
	if msg.Usage.InputTokens == 0 || msg.Usage.InputTokens != counted.InputTokens || msg.Usage.OutputTokens != 6 {
		t.Errorf("usage %+v, want input %d (count_tokens) and output 6 (21 bytes)", msg.Usage, counted.InputTokens)
	}
}
