package proxy

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
)

// TestForwardBytes: the forwarded body differs from the client's only in
// the model value, and only when the route maps the model.
func TestForwardBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, model, wantModel string
	}{
		{"passthrough", config.Passthrough, "claude-sonnet-5"},
		{"mapped", "vendor/sonnet-like", "vendor/sonnet-like"},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, func(c *config.Config) { c.Routes[0].Entries[0].Model = tt.model }, ups("A")...)
				client := claudeBody("claude-sonnet-5", stream)
				resp := e.post("/v1/messages?beta=true", client, nil)
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				got := e.ups["A"].Requests()[0].Body
				want := bytes.Replace(client, []byte(`"model":"claude-sonnet-5"`), []byte(`"model":"`+tt.wantModel+`"`), 1)
				if !bytes.Equal(got, want) {
					t.Fatalf("forwarded body\n%s\nwant\n%s", got, want)
				}
			})
		}
	}
}

func TestForwardHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		auth       config.AuthType
		value      config.Secret
		clientHdr  map[string]string
		wantKey    string
		wantBearer string
	}{
		{"api_key", config.AuthAPIKey, "sk-prov", nil, "sk-prov", ""},
		{"auth_token", config.AuthAuthToken, "tok-prov", nil, "", "Bearer tok-prov"},
		{"passthrough x-api-key", config.AuthAPIKey, config.Passthrough, nil, "client-key", ""},
		{"passthrough oauth", config.AuthAuthToken, config.Passthrough, map[string]string{"X-Api-Key": "", "Authorization": "Bearer oauth-tok"}, "", "Bearer oauth-tok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *config.Config) {
				c.Providers[0].AuthType = tt.auth
				c.Providers[0].AuthValue = tt.value
				c.Providers[0].Headers = map[string]string{"X-Title": "ccbalancer"}
			}, ups("A")...)
			hdr := map[string]string{
				"Anthropic-Beta":           "claude-code-20250219,interleaved-thinking-2025-05-14",
				"X-Claude-Code-Session-Id": "0b5d3a4e-session",
				"User-Agent":               "claude-cli/2.1.197 (external, sdk-cli)",
				"X-Stainless-Retry-Count":  "0",
				"Connection":               "keep-alive, X-Hop",
				"Accept-Encoding":          "gzip, deflate, br, zstd",
			}
			for k, v := range tt.clientHdr {
				hdr[k] = v
			}
			resp := e.post("/v1/messages?beta=true", claudeBody("claude-sonnet-5", true), hdr)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.Header.Get("X-Provider-Used") != "A" || resp.Header.Get("Request-Id") == "" || resp.Header.Get("Anthropic-Ratelimit-Requests-Remaining") != "999" {
				t.Errorf("response headers not passed back: %v", resp.Header)
			}
			got := e.ups["A"].Requests()[0]
			if got.RawQuery != "beta=true" || got.Path != "/v1/messages" {
				t.Errorf("forwarded to %s?%s", got.Path, got.RawQuery)
			}
			for _, k := range []string{"Anthropic-Version", "Anthropic-Beta", "X-Claude-Code-Session-Id", "User-Agent", "X-Stainless-Retry-Count"} {
				want := hdr[k]
				if k == "Anthropic-Version" {
					want = "2023-06-01"
				}
				if got.Header.Get(k) != want {
					t.Errorf("header %s = %q, want %q", k, got.Header.Get(k), want)
				}
			}
			if got.Header.Get("X-Title") != "ccbalancer" {
				t.Errorf("provider header missing")
			}
			if got.Header.Get("X-Api-Key") != tt.wantKey || got.Header.Get("Authorization") != tt.wantBearer {
				t.Errorf("credentials: x-api-key %q, authorization %q; want %q, %q",
					got.Header.Get("X-Api-Key"), got.Header.Get("Authorization"), tt.wantKey, tt.wantBearer)
			}
			if strings.Contains(got.Header.Get("Connection"), "X-Hop") || got.Header.Get("X-Hop") != "" {
				t.Errorf("hop-by-hop header forwarded: %v", got.Header)
			}
		})
	}
}

func TestStrategiesEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *config.Config) { c.Settings.SelectionStrategy = config.StrategyRoundRobin }, ups("A", "B")...)
	var served []string
	for range 4 {
		resp, _, _ := e.send(false, nil)
		served = append(served, resp.Header.Get("X-Provider-Used"))
	}
	if strings.Join(served, ",") != "A,B,A,B" {
		t.Errorf("round robin served %v", served)
	}
	// One Claude Code session stays on one provider.
	served = nil
	for range 4 {
		resp, _, _ := e.send(false, map[string]string{"X-Claude-Code-Session-Id": "s-1"})
		served = append(served, resp.Header.Get("X-Provider-Used"))
	}
	if served[0] != served[1] || served[1] != served[2] || served[2] != served[3] {
		t.Errorf("session moved between providers: %v", served)
	}
	// Live strategy change.
	if err := e.srv.SetStrategy(config.StrategyPriority); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if resp, _, _ := e.send(false, nil); resp.Header.Get("X-Provider-Used") != "A" {
			t.Fatalf("priority after SetStrategy served by %s", resp.Header.Get("X-Provider-Used"))
		}
	}
	if err := e.srv.SetStrategy("fastest"); err == nil {
		t.Error("unknown strategy accepted")
	}
}

func TestDefaultRouteForUnknownModel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, ups("A")...)
	resp := e.post("/v1/messages", claudeBody("some-new-model", false), nil)
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Provider-Used") != "A" {
		t.Fatalf("unknown model: %d", resp.StatusCode)
	}
}

// TestBadInput: each bad request gets an Anthropic-shaped error with the
// right status, and nothing is forwarded.
func TestBadInput(t *testing.T) {
	t.Parallel()
	big := append([]byte(`{"model":"claude-sonnet-5","messages":[],"x":"`), bytes.Repeat([]byte("a"), 2048)...)
	big = append(big, `"}`...)
	tests := []struct {
		name     string
		method   string
		path     string
		body     []byte
		chunked  bool
		status   int
		errType  string
		contains string
	}{
		{"malformed JSON", "POST", "/v1/messages", []byte(`{"model":"x",`), false, 400, anthropic.ErrInvalidRequest, "invalid JSON"},
		{"not an object", "POST", "/v1/messages", []byte(`["model"]`), false, 400, anthropic.ErrInvalidRequest, "JSON object"},
		{"missing model", "POST", "/v1/messages", []byte(`{"messages":[]}`), false, 400, anthropic.ErrInvalidRequest, "model: field required"},
		{"missing messages", "POST", "/v1/messages", []byte(`{"model":"claude-sonnet-5"}`), false, 400, anthropic.ErrInvalidRequest, "messages: field required"},
		{"body over the limit", "POST", "/v1/messages", big, false, 413, anthropic.ErrRequestTooLarge, "exceeds the limit"},
		{"chunked body over the limit", "POST", "/v1/messages", big, true, 413, anthropic.ErrRequestTooLarge, "exceeds the limit"},
		{"wrong method", "GET", "/v1/messages", nil, false, 405, anthropic.ErrInvalidRequest, "use POST"},
		{"wrong path", "POST", "/v1/complete", []byte(`{}`), false, 404, anthropic.ErrNotFound, "no endpoint"},
		{"count_tokens malformed", "POST", "/v1/messages/count_tokens", []byte(`{"model":`), false, 400, anthropic.ErrInvalidRequest, "count_tokens: invalid JSON at byte 9"},
	}
	e := newEnv(t, func(c *config.Config) { c.Settings.MaxBodyBytes = 1024 }, ups("A")...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rd io.Reader = bytes.NewReader(tt.body)
			if tt.chunked {
				rd = io.MultiReader(rd) // unknown length: sent chunked
			}
			req, _ := http.NewRequest(tt.method, e.front.URL+tt.path, rd)
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			typ, msg, ok := anthropic.ParseError(b)
			if resp.StatusCode != tt.status || !ok || typ != tt.errType || !strings.Contains(msg, tt.contains) {
				t.Errorf("got %d %s, want %d %s containing %q", resp.StatusCode, b, tt.status, tt.errType, tt.contains)
			}
		})
	}
	if n := e.ups["A"].Count(); n != 0 {
		t.Errorf("bad requests reached the upstream %d times", n)
	}
}

func TestCountTokensIsLocal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, ups("A")...)
	resp := e.post("/v1/messages/count_tokens", []byte(`{"model":"claude-sonnet-5","messages":[{"role":"user","content":"Hello, world"}]}`), nil)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"input_tokens"`) {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	if e.ups["A"].Count() != 0 {
		t.Error("count_tokens reached a provider")
	}
}

// TestUnsignedThinkingStripped: thinking produced by an OpenAI-compatible
// provider has no signature; after a failover to an Anthropic provider those
// blocks are removed (Anthropic would reject them), and nothing else changes.
func TestUnsignedThinkingStripped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *config.Config) { c.Routes[0].Entries[0].Model = "mapped-model" }, ups("A")...)
	body := `{"model":"claude-sonnet-5","messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":""},{"type":"text","text":"a"}]},{"role":"user","content":"more"}],"stream":false}`
	resp := e.post("/v1/messages", []byte(body), nil)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	got := string(e.ups["A"].Requests()[0].Body)
	want := `{"model":"mapped-model","messages":[{"role":"user","content":"q"},{"content":[{"type":"text","text":"a"}],"role":"assistant"},{"role":"user","content":"more"}],"stream":false}`
	if got != want {
		t.Fatalf("forwarded\n%s\nwant\n%s", got, want)
	}
}
