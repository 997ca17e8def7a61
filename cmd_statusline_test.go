package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/internal/fake"
	"github.com/ccbalancer/ccbalancer/proxy"
)

// statusProxy is a running proxy with one fake provider, DeepSeek, that
// has served session "sess-1"; with a usage ledger, that request cost $0.42
// (12 input tokens at $10,000 and 5 output tokens at $60,000 a million).
func statusProxy(t testing.TB, ledger bool) string { return statusProxyPriced(t, ledger, ledger) }

// statusProxyPriced is statusProxy with the provider's prices set or not.
func statusProxyPriced(t testing.TB, ledger, priced bool) string {
	up := httptest.NewServer(fake.New("DeepSeek"))
	t.Cleanup(up.Close)
	cfg := &config.Config{Settings: config.Defaults(),
		Providers: []config.Provider{{Name: "DeepSeek", Type: config.TypeAnthropic, BaseURL: up.URL, AuthType: config.AuthAPIKey, AuthValue: "sk-ds", Enabled: true}},
		Routes:    []config.Route{{Pattern: "*", Entries: []config.RouteEntry{{Provider: "DeepSeek", Model: "deepseek-chat", Priority: 1}}}}}
	var opts proxy.Options
	if priced {
		cfg.Providers[0].Prices = &config.Prices{Input: 10000, Output: 60000}
	}
	if ledger {
		opts.UsagePath = filepath.Join(t.TempDir(), "usage.db")
	}
	srv, err := proxy.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { front.Close(); srv.Close() })
	req, _ := http.NewRequest(http.MethodPost, front.URL+"/v1/messages",
		strings.NewReader(`{"model":"claude-sonnet-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("X-Claude-Code-Session-Id", "sess-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("setup request: %d", resp.StatusCode)
	}
	// The request is recorded once its handler is done, which may come
	// after the client has the whole answer.
	for deadline := time.Now().Add(5 * time.Second); ledger && srv.Snapshot().Providers[0].Today.Requests == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the setup request was never recorded")
		}
		time.Sleep(time.Millisecond)
	}
	return front.URL
}

const statusJSON = `{"hook_event_name":"Status","session_id":"%s","model":{"id":"claude-sonnet-5","display_name":"Sonnet"},"cost":{"total_cost_usd":0.1234}}`

func TestStatusline(t *testing.T) {
	withLedger := statusProxy(t, true)
	without := statusProxy(t, false)
	unpriced := statusProxyPriced(t, true, false)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	down := "http://" + ln.Addr().String()
	ln.Close()
	tests := []struct {
		name, url, session, want string
	}{
		{"served session, cost from the usage ledger", withLedger, "sess-1", "⇄ DeepSeek · healthy · $0.42 today"},
		{"served session, no ledger: the session's own cost", without, "sess-1", "⇄ DeepSeek · healthy · $0.12 session"},
		// A ledger without prices knows no cost: not "$0.00 today".
		{"served session, ledger but no prices: the session's own cost", unpriced, "sess-1", "⇄ DeepSeek · healthy · $0.12 session"},
		{"unknown session", without, "sess-2", "⇄ ccbalancer · 1/1 providers healthy · $0.12 session"},
		{"no proxy running", down, "sess-1", "⇄ ccbalancer not running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			in := strings.NewReader(strings.Replace(statusJSON, "%s", tt.session, 1))
			if code := runStatusline([]string{"--url", tt.url}, in, &out, &errb); code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			if got := strings.TrimSuffix(out.String(), "\n"); got != tt.want {
				t.Errorf("line %q, want %q", got, tt.want)
			}
		})
	}
}

// TestStatuslineFindsTheProxy: without --url, the address comes from the
// configuration's settings, read without its keys (which the status line's
// environment may not have).
func TestStatuslineFindsTheProxy(t *testing.T) {
	base := statusProxy(t, false)
	port := base[strings.LastIndexByte(base, ':')+1:]
	dir := t.TempDir()
	path := filepath.Join(dir, "providers.yaml")
	os.WriteFile(path, []byte("providers:\n  - {name: A, type: anthropic, base_url: \"https://a\", auth_value: \"${NOT_SET_HERE}\"}\nsettings:\n  port: "+port+"\n"), 0o600)
	t.Setenv("CCBALANCER_URL", "")
	var out bytes.Buffer
	runStatusline([]string{"--config", path}, strings.NewReader(strings.Replace(statusJSON, "%s", "sess-1", 1)), &out, &bytes.Buffer{})
	if !strings.HasPrefix(out.String(), "⇄ DeepSeek · healthy") {
		t.Errorf("line %q", out.String())
	}
}

// BenchmarkStatusline measures one status line against a running proxy:
// reading the JSON, the question over loopback, the line.
func BenchmarkStatusline(b *testing.B) {
	base := statusProxy(b, false)
	in := strings.Replace(statusJSON, "%s", "sess-1", 1)
	for b.Loop() {
		var out bytes.Buffer
		runStatusline([]string{"--url", base}, strings.NewReader(in), &out, &out)
	}
}
