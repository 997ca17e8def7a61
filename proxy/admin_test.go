package proxy

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/internal/fake"
	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
)

func TestRootProbe(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, ups("A", "B")...)
	req, _ := http.NewRequest(http.MethodHead, e.front.URL+"/", nil)
	resp, err := e.client.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("HEAD /: %v %v", err, resp)
	}
	resp.Body.Close()
	resp, _ = e.client.Get(e.front.URL + "/")
	var root map[string]any
	json.NewDecoder(resp.Body).Decode(&root)
	resp.Body.Close()
	if root["service"] != "ccbalancer" || root["status"] != "running" || root["providers_available"] != float64(2) {
		t.Errorf("GET / = %v", root)
	}
}

func TestProvidersAndMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, ups("A", "B")...)
	e.ups["A"].Always(fake.Reply{Mode: fake.Status, Status: 529})
	e.send(false, nil)
	resp, _ := e.client.Get(e.front.URL + "/providers")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"total_providers", "healthy_providers", "selection_strategy", "total_model_routes", "providers"} {
		if _, ok := got[k]; !ok {
			t.Errorf("/providers lacks %q: %s", k, b)
		}
	}
	if got["total_providers"] != float64(2) || got["healthy_providers"] != float64(1) || got["selection_strategy"] != "priority" {
		t.Errorf("/providers = %s", b)
	}
	if strings.Contains(string(b), "sk-test") {
		t.Errorf("/providers shows a secret: %s", b)
	}
	resp, _ = e.client.Get(e.front.URL + "/metrics")
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`ccbalancer_provider_requests_total{provider="B"} 1`,
		`ccbalancer_provider_failures_total{provider="A"} 1`,
		`ccbalancer_provider_healthy{provider="A"} 0`,
		"# TYPE ccbalancer_provider_requests_total counter",
	} {
		if !strings.Contains(string(m), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, m)
		}
	}
}

func TestReload(t *testing.T) {
	t.Parallel()
	a := httptest.NewServer(fake.New("A"))
	defer a.Close()
	b := httptest.NewServer(fake.New("B"))
	defer b.Close()
	path := filepath.Join(t.TempDir(), "providers.yaml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	good := func(first string) string {
		return `providers:
  - {name: A, type: anthropic, base_url: "` + a.URL + `", auth_type: api_key, auth_value: "k1"}
  - {name: B, type: anthropic, base_url: "` + b.URL + `", auth_type: api_key, auth_value: "k2"}
model_routes:
  "*sonnet*":
    - {provider: ` + first + `, model: passthrough, priority: 1}
`
	}
	write(good("A"))
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(srv.Handler())
	client := &http.Client{Transport: &http.Transport{}}
	defer func() { client.CloseIdleConnections(); front.Close(); srv.Close() }()
	events, cancel := srv.Subscribe()
	defer cancel()
	// nextReload skips the events of served requests, which are published
	// after the response and so in no fixed order with the reload's.
	nextReload := func() Event {
		for {
			if ev := <-events; ev.Kind != EventChanged {
				return ev
			}
		}
	}
	servedBy := func() string {
		resp, err := client.Post(front.URL+"/v1/messages", "application/json", strings.NewReader(string(claudeBody("claude-sonnet-5", false))))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.Header.Get("X-Provider-Used")
	}
	reload := func() (int, string) {
		resp, err := client.Post(front.URL+"/providers/reload", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	if got := servedBy(); got != "A" {
		t.Fatalf("served by %s", got)
	}
	// A bad file: every error reported, the old config keeps serving.
	write(good("A") + "settings:\n  prioirty: 1\n  port: 99999\n")
	code, body := reload()
	_, msg, _ := anthropic.ParseError([]byte(body))
	if code != 422 || !strings.Contains(msg, "prioirty") || !strings.Contains(msg, "port") || !strings.Contains(msg, "providers.yaml:") {
		t.Fatalf("bad reload: %d %s", code, body)
	}
	if ev := nextReload(); ev.Kind != EventConfigReloadFailed || ev.Reason == "" {
		t.Errorf("event %+v", ev)
	}
	if got := servedBy(); got != "A" {
		t.Fatalf("after a failed reload served by %s", got)
	}
	// A good file takes effect.
	write(good("B"))
	if code, body := reload(); code != 200 || !strings.Contains(body, "configuration reloaded successfully") {
		t.Fatalf("reload: %d %s", code, body)
	}
	if ev := nextReload(); ev.Kind != EventConfigReloaded {
		t.Errorf("event %+v", ev)
	}
	if got := servedBy(); got != "B" {
		t.Fatalf("after reload served by %s", got)
	}
}

func TestSecurity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		key    config.Secret
		req    func(url string) *http.Request
		remote string
		status int
	}{
		{"browser origin refused", "", func(u string) *http.Request {
			r := httptest.NewRequest("POST", u+"/v1/messages", strings.NewReader(string(claudeBody("claude-sonnet-5", false))))
			r.Header.Set("Origin", "https://evil.example")
			return r
		}, "127.0.0.1:5000", 403},
		{"foreign Host refused (DNS rebinding)", "", func(u string) *http.Request {
			r := httptest.NewRequest("POST", "http://attacker.example/v1/messages", strings.NewReader(string(claudeBody("claude-sonnet-5", false))))
			return r
		}, "127.0.0.1:5000", 403},
		{"localhost Host allowed", "", func(u string) *http.Request {
			return httptest.NewRequest("POST", "http://localhost:8080/v1/messages", strings.NewReader(string(claudeBody("claude-sonnet-5", false))))
		}, "127.0.0.1:5000", 200},
		{"auth key missing", "proxy-key", func(u string) *http.Request {
			return httptest.NewRequest("POST", "http://10.1.2.3:8080/v1/messages", strings.NewReader(string(claudeBody("claude-sonnet-5", false))))
		}, "10.1.2.4:5000", 401},
		{"auth key as bearer", "proxy-key", func(u string) *http.Request {
			r := httptest.NewRequest("POST", "http://10.1.2.3:8080/v1/messages", strings.NewReader(string(claudeBody("claude-sonnet-5", false))))
			r.Header.Set("Authorization", "Bearer proxy-key")
			return r
		}, "10.1.2.4:5000", 200},
		{"reload refused from afar without a key", "", func(u string) *http.Request {
			return httptest.NewRequest("POST", "http://127.0.0.1:8080/providers/reload", nil)
		}, "10.1.2.4:5000", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *config.Config) { c.Settings.AuthKey = tt.key }, ups("A")...)
			r := tt.req(e.front.URL)
			r.RemoteAddr = tt.remote
			rec := httptest.NewRecorder()
			e.srv.Handler().ServeHTTP(rec, r)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status != 200 {
				if _, _, ok := anthropic.ParseError(rec.Body.Bytes()); !ok {
					t.Errorf("not an Anthropic error: %s", rec.Body)
				}
			}
		})
	}
}
