package proxy

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/internal/fake"
	"github.com/ccbalancer/ccbalancer/proxy/sse"
)

// The provider-quirks cases (testdata/quirks/NN-name): each folder holds
// the client's request(s), the upstream's script (its canned answers and
// the rules it enforces, in internal/fake's Script format), the
// providers.yaml the proxy runs with, and expected.txt saying the correct
// outcome. Each case runs the real proxy, configured from its file, in front
// of the scripted upstream; the test checks the outcome expected.txt names,
// and golden.txt keeps the whole exchange: what the client got and what
// the upstream received (refresh with -update).

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// quirkCase is one case folder, served.
type quirkCase struct {
	t     *testing.T
	dir   string
	up    *fake.Scripted
	front *httptest.Server
	seen  int // upstream requests already in the transcript
	// transcript is the exchange, for golden.txt.
	transcript bytes.Buffer
}

func newQuirkCase(t *testing.T, name string) *quirkCase {
	t.Helper()
	qc := &quirkCase{t: t, dir: filepath.Join("testdata", "quirks", name)}
	var script fake.Script
	if err := json.Unmarshal(qc.read("upstream.json"), &script); err != nil {
		t.Fatalf("upstream.json: %v", err)
	}
	qc.up = fake.NewScripted(script)
	upSrv := httptest.NewServer(qc.up)
	t.Cleanup(upSrv.Close)
	yaml := strings.ReplaceAll(string(qc.read("providers.yaml")), "127.0.0.1:@FAKE_PORT@", strings.TrimPrefix(upSrv.URL, "http://"))
	cfg, err := config.Parse(filepath.Join(qc.dir, "providers.yaml"), []byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	qc.front = httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		qc.front.Close()
		srv.Close()
	})
	return qc
}

func (qc *quirkCase) read(name string) []byte {
	qc.t.Helper()
	b, err := os.ReadFile(filepath.Join(qc.dir, name))
	if err != nil {
		qc.t.Fatal(err)
	}
	return b
}

// clientAnswer is what the client made of one answer.
type clientAnswer struct {
	status  int
	body    []byte
	cut     bool           // the connection broke off (the proxy aborted)
	message map[string]any // a stream folded, or a JSON message
}

// post sends a request as Claude Code does and folds the answer.
func (qc *quirkCase) post(path string, body []byte, header map[string]string) clientAnswer {
	qc.t.Helper()
	req, err := http.NewRequest(http.MethodPost, qc.front.URL+path, bytes.NewReader(body))
	if err != nil {
		qc.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Anthropic-Version", "2023-06-01")
	req.Header.Set("X-Api-Key", "client-key")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := qc.front.Client().Do(req)
	if err != nil {
		qc.t.Fatal(err)
	}
	defer resp.Body.Close()
	a := clientAnswer{status: resp.StatusCode}
	a.body, err = io.ReadAll(resp.Body)
	a.cut = err != nil
	switch {
	case strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream"):
		a.message = foldAnthropicStream(qc.t, a.body)
	case resp.StatusCode == http.StatusOK:
		_ = json.Unmarshal(a.body, &a.message)
	}
	qc.record(path, body, a)
	return a
}

// record appends one exchange to the transcript: the client's answer and
// the request the upstream received for it.
func (qc *quirkCase) record(path string, body []byte, a clientAnswer) {
	w := &qc.transcript
	fmt.Fprintf(w, "=== POST %s (%d bytes)\n", path, len(body))
	fmt.Fprintf(w, "client got: HTTP %d", a.status)
	if a.cut {
		fmt.Fprint(w, ", connection cut")
	}
	fmt.Fprintln(w)
	switch {
	case a.message != nil:
		w.Write(indentJSON(qc.t, a.message))
	case len(a.body) > 0 && !a.cut:
		w.Write(a.body)
		fmt.Fprintln(w)
	}
	reqs := qc.up.Requests()
	if len(reqs) > qc.seen {
		for _, r := range reqs[qc.seen:] {
			fmt.Fprintf(w, "upstream got: %s %s\n", r.Method, r.Path)
			var v any
			if json.Unmarshal(r.Body, &v) == nil {
				w.Write(indentJSON(qc.t, v))
			} else {
				w.Write(r.Body)
			}
		}
		qc.seen = len(reqs)
	}
}

// tool-call ids carry a random nonce; the transcript shows it as NONCE.
var nonces = regexp.MustCompile(`toolu_[A-Za-z0-9]{8}_`)

func indentJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(nonces.ReplaceAll(b, []byte("toolu_NONCE_")), '\n')
}

func (qc *quirkCase) checkGolden() {
	qc.t.Helper()
	path := filepath.Join(qc.dir, "golden.txt")
	got := qc.transcript.Bytes()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			qc.t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		qc.t.Fatalf("reading golden (run with -update to create it): %v", err)
	}
	if string(want) != string(got) {
		qc.t.Errorf("%s differs from the exchange; run with -update and review the diff\n--- got:\n%s", path, got)
	}
}

// foldAnthropicStream folds an Anthropic SSE stream into the message, as a
// client does: blocks by index, deltas appended, input_json_delta joined
// and parsed, message_delta's stop_reason and usage merged (a usage figure
// replaces the earlier one only when it is above zero, Claude Code's rule).
func foldAnthropicStream(t *testing.T, stream []byte) map[string]any {
	t.Helper()
	var msg map[string]any
	blocks := map[int]map[string]any{}
	partial := map[int]string{}
	rd := sse.NewReader(bytes.NewReader(stream), 0)
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		var e map[string]any
		if err := json.Unmarshal(ev.Data, &e); err != nil {
			t.Fatalf("event %s: %v", ev.Data, err)
		}
		idx := 0
		if f, ok := e["index"].(float64); ok {
			idx = int(f)
		}
		switch e["type"] {
		case "message_start":
			msg = e["message"].(map[string]any)
		case "content_block_start":
			blocks[idx] = e["content_block"].(map[string]any)
		case "content_block_delta":
			b, d := blocks[idx], e["delta"].(map[string]any)
			switch d["type"] {
			case "text_delta":
				b["text"] = b["text"].(string) + d["text"].(string)
			case "thinking_delta":
				b["thinking"] = b["thinking"].(string) + d["thinking"].(string)
			case "signature_delta":
				b["signature"] = b["signature"].(string) + d["signature"].(string)
			case "input_json_delta":
				partial[idx] += d["partial_json"].(string)
			}
		case "message_delta":
			msg["stop_reason"] = e["delta"].(map[string]any)["stop_reason"]
			usage := msg["usage"].(map[string]any)
			for k, v := range e["usage"].(map[string]any) {
				if f, ok := v.(float64); ok && f > 0 {
					usage[k] = v
				}
			}
		case "message_stop":
			msg["(message_stop)"] = true
		}
	}
	if msg == nil {
		return nil
	}
	var content []any
	for i := 0; i < len(blocks); i++ {
		b := blocks[i]
		if p, ok := partial[i]; ok {
			var in any
			if err := json.Unmarshal([]byte(p), &in); err != nil {
				t.Fatalf("block %d: input %q: %v", i, p, err)
			}
			b["input"] = in
		}
		content = append(content, b)
	}
	msg["content"] = content
	return msg
}

// text is the text of a message's text blocks.
func text(msg map[string]any) string {
	var sb strings.Builder
	for _, b := range msg["content"].([]any) {
		if bb := b.(map[string]any); bb["type"] == "text" {
			sb.WriteString(bb["text"].(string))
		}
	}
	return sb.String()
}

// upstreamBodies are the request bodies the upstream received.
func (qc *quirkCase) upstreamBodies() []map[string]any {
	var out []map[string]any
	for _, r := range qc.up.Requests() {
		var m map[string]any
		if err := json.Unmarshal(r.Body, &m); err != nil {
			qc.t.Fatalf("upstream body is not JSON: %v", err)
		}
		out = append(out, m)
	}
	return out
}

func TestQuirkCase01BillingHeader(t *testing.T) {
	t.Parallel()
	qc := newQuirkCase(t, "01-billing-header-cache")
	for _, r := range []string{"request1.json", "request2.json"} {
		if a := qc.post("/v1/messages", qc.read(r), nil); a.status != http.StatusOK {
			t.Fatalf("%s: HTTP %d %s", r, a.status, a.body)
		}
	}
	var systems []string
	for _, b := range qc.upstreamBodies() {
		first := b["messages"].([]any)[0].(map[string]any)
		if first["role"] != "system" {
			t.Fatalf("first message %v is not the system prompt", first)
		}
		systems = append(systems, first["content"].(string))
	}
	if len(systems) != 2 || systems[0] != systems[1] {
		t.Errorf("the system text differs between the turns:\n%q\n%q", systems[0], systems[1])
	}
	if strings.Contains(systems[0], "x-anthropic-billing-header") {
		t.Errorf("the billing line reached the upstream: %q", systems[0][:80])
	}
	qc.checkGolden()
}

func TestQuirkCase02LongToolName(t *testing.T) {
	t.Parallel()
	qc := newQuirkCase(t, "02-tool-name-over-64")
	const long = "mcp__plugin_chrome-devtools-mcp_chrome-devtools__performance_analyze_insight"
	a := qc.post("/v1/messages", qc.read("request.json"), nil)
	if a.status != http.StatusOK {
		t.Fatalf("HTTP %d %s", a.status, a.body)
	}
	var name string
	for _, b := range a.message["content"].([]any) {
		if bb := b.(map[string]any); bb["type"] == "tool_use" {
			name = bb["name"].(string)
		}
	}
	if name != long {
		t.Errorf("tool_use name %q, want the client's %q", name, long)
	}
	if err := fake.CheckToolNames(qc.upstreamBodies()[0]); err != nil {
		t.Errorf("upstream request breaks the function-name rule: %v", err)
	}
	qc.checkGolden()
}

func TestQuirkCase03ReasoningModel(t *testing.T) {
	t.Parallel()
	qc := newQuirkCase(t, "03-max-completion-tokens")
	a := qc.post("/v1/messages", qc.read("request.json"), nil)
	if a.status != http.StatusOK || a.message["(message_stop)"] != true || text(a.message) != "Hello." {
		t.Fatalf("HTTP %d, message %v; want the streamed Hello.", a.status, a.message)
	}
	b := qc.upstreamBodies()[0]
	if _, ok := b["max_tokens"]; ok {
		t.Error("max_tokens sent to a reasoning model")
	}
	if b["max_completion_tokens"] != 32000.0 {
		t.Errorf("max_completion_tokens = %v, want 32000", b["max_completion_tokens"])
	}
	qc.checkGolden()
}

func TestQuirkCase05KimiToolIDs(t *testing.T) {
	t.Parallel()
	qc := newQuirkCase(t, "05-kimi-tool-id-roundtrip")
	turn1 := qc.read("request1.json")
	a := qc.post("/v1/messages", turn1, nil)
	if a.status != http.StatusOK {
		t.Fatalf("turn 1: HTTP %d %s", a.status, a.body)
	}
	var id string
	for _, b := range a.message["content"].([]any) {
		if bb := b.(map[string]any); bb["type"] == "tool_use" {
			id = bb["id"].(string)
		}
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]+$`).MatchString(id) {
		t.Fatalf("client tool id %q is not one Anthropic accepts", id)
	}
	// Turn 2: the history with the call and its result, as Claude Code sends it.
	var req map[string]any
	if err := json.Unmarshal(turn1, &req); err != nil {
		t.Fatal(err)
	}
	req["messages"] = append(req["messages"].([]any),
		map[string]any{"role": "assistant", "content": a.message["content"]},
		map[string]any{"role": "user", "content": []any{map[string]any{"type": "tool_result", "tool_use_id": id, "content": "a.txt\nb.txt"}}})
	turn2, _ := json.Marshal(req)
	if a := qc.post("/v1/messages", turn2, nil); a.status != http.StatusOK || text(a.message) != "Two files." {
		t.Fatalf("turn 2: HTTP %d %s", a.status, a.body)
	}
	msgs := qc.upstreamBodies()[1]["messages"].([]any)
	var sent []string
	for _, m := range msgs {
		mm := m.(map[string]any)
		for _, tc := range asList(mm["tool_calls"]) {
			sent = append(sent, tc.(map[string]any)["id"].(string))
		}
		if id, ok := mm["tool_call_id"].(string); ok {
			sent = append(sent, id)
		}
	}
	if len(sent) != 2 || sent[0] != "functions.Bash:0" || sent[1] != "functions.Bash:0" {
		t.Errorf("upstream got ids %q, want its own functions.Bash:0 twice", sent)
	}
	qc.checkGolden()
}

func asList(v any) []any { l, _ := v.([]any); return l }

func TestQuirkCase07ContextOverflow(t *testing.T) {
	t.Parallel()
	qc := newQuirkCase(t, "07-context-overflow-wording")
	for _, label := range []string{"vLLM", "llama.cpp", "OpenAI"} {
		a := qc.post("/v1/messages", qc.read("request.json"), nil)
		var e struct {
			Error struct{ Type, Message string } `json:"error"`
		}
		_ = json.Unmarshal(a.body, &e)
		if a.status != http.StatusBadRequest || e.Error.Type != "invalid_request_error" || !strings.HasPrefix(e.Error.Message, "prompt is too long") {
			t.Errorf("%s: HTTP %d %s; want 400 invalid_request_error \"prompt is too long…\"", label, a.status, a.body)
		}
	}
	qc.checkGolden()
}

func TestQuirkCase09FinishReasons(t *testing.T) {
	t.Parallel()
	qc := newQuirkCase(t, "09-glm-finish-reasons")
	// network_error after content: the answer is cut, so the connection
	// is aborted and there is no message_stop.
	if a := qc.post("/v1/messages", qc.read("request.json"), nil); !a.cut || a.message["(message_stop)"] == true {
		t.Errorf("network_error: cut %v, message %v; want an aborted stream", a.cut, a.message)
	}
	for _, want := range []string{"refusal", "model_context_window_exceeded"} {
		a := qc.post("/v1/messages", qc.read("request.json"), nil)
		if a.message["(message_stop)"] != true || a.message["stop_reason"] != want {
			t.Errorf("stop_reason %v (cut %v), want %s", a.message["stop_reason"], a.cut, want)
		}
	}
	qc.checkGolden()
}

func TestQuirkCase12Usage(t *testing.T) {
	t.Parallel()
	qc := newQuirkCase(t, "12-usage-for-autocompact")
	body := qc.read("request.json")
	total := func(msg map[string]any) int {
		u := msg["usage"].(map[string]any)
		return int(u["input_tokens"].(float64) + u["cache_read_input_tokens"].(float64) + u["cache_creation_input_tokens"].(float64))
	}
	if a := qc.post("/v1/messages", body, nil); total(a.message) != 52000 {
		t.Errorf("with upstream usage: the client adds up %d prompt tokens, want 52000", total(a.message))
	}
	resp, err := qc.front.Client().Post(qc.front.URL+"/v1/messages/count_tokens", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var counted struct {
		InputTokens int `json:"input_tokens"`
	}
	err = json.NewDecoder(resp.Body).Decode(&counted)
	resp.Body.Close()
	if err != nil || counted.InputTokens == 0 {
		t.Fatalf("count_tokens: %v, %d", err, counted.InputTokens)
	}
	a := qc.post("/v1/messages", body, nil)
	if got := total(a.message); got != counted.InputTokens {
		t.Errorf("without upstream usage: the client adds up %d prompt tokens, want the local count %d", got, counted.InputTokens)
	}
	if out := a.message["usage"].(map[string]any)["output_tokens"].(float64); out <= 0 {
		t.Errorf("without upstream usage: output_tokens %v, want an estimate", out)
	}
	qc.checkGolden()
}

func TestQuirkCase15ToolReference(t *testing.T) {
	t.Parallel()
	qc := newQuirkCase(t, "15-tool-reference-block")
	a := qc.post("/v1/messages?beta=true", qc.read("request.json"),
		map[string]string{"Anthropic-Beta": "claude-code-20250219,advanced-tool-use-2025-11-20"})
	if a.status != http.StatusOK || text(a.message) != "WebFetch is loaded. Which page should I fetch?" || a.message["stop_reason"] != "end_turn" {
		t.Fatalf("HTTP %d, message %v", a.status, a.message)
	}
	bodies := qc.upstreamBodies()
	if len(bodies) != 1 {
		t.Fatalf("%d upstream requests, want 1", len(bodies))
	}
	if err := fake.CheckChatShape(bodies[0]); err != nil {
		t.Errorf("the upstream request is not a valid Chat Completions request: %v", err)
	}
	var tools []string
	for _, tl := range asList(bodies[0]["tools"]) {
		tools = append(tools, tl.(map[string]any)["function"].(map[string]any)["name"].(string))
	}
	if strings.Join(tools, ",") != "Bash,Read,ToolSearch,WebFetch" {
		t.Errorf("tools %v: want the loaded WebFetch, without the unloaded deferred placeholder", tools)
	}
	qc.checkGolden()
}
