package proxy

import (
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

// TestProfiles: a profile, named by URL prefix or header, routes with its
// own table; every endpoint works under the prefix; an unknown profile gets
// an error naming the known ones (a 400 on the messages endpoint, which
// Claude Code shows; a 404 elsewhere); other requests are not affected.
func TestProfiles(t *testing.T) {
	e := newEnv(t, func(c *config.Config) {
		set := c.Settings
		c.Profiles = []config.Profile{
			{Name: "work", Settings: set, Routes: []config.Route{{Pattern: "*", Entries: []config.RouteEntry{{Provider: "B", Model: "glm-4.6", Priority: 1}}}}},
			{Name: "home", Settings: set, Routes: c.Routes},
		}
	}, ups("A", "B")...)

	tests := []struct {
		name     string
		path     string
		header   map[string]string
		provider string
	}{
		{"top level", "/v1/messages?beta=true", nil, "A"},
		{"URL prefix", "/p/work/v1/messages?beta=true", nil, "B"},
		{"header", "/v1/messages?beta=true", map[string]string{"X-Ccbalancer-Profile": "work"}, "B"},
		{"URL wins over header", "/p/home/v1/messages", map[string]string{"X-Ccbalancer-Profile": "work"}, "A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.post(tt.path, claudeBody("claude-sonnet-5", false), tt.header)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("X-Provider-Used") != tt.provider {
				t.Fatalf("status %d from %q, want 200 from %s", resp.StatusCode, resp.Header.Get("X-Provider-Used"), tt.provider)
			}
		})
	}
	// What B received: the path without the prefix, the profile's model,
	// and no profile header.
	for _, r := range e.ups["B"].Requests() {
		if r.Path != "/v1/messages" || r.RawQuery != "beta=true" || !strings.Contains(string(r.Body), `"model":"glm-4.6"`) || r.Header.Get("X-Ccbalancer-Profile") != "" {
			t.Errorf("B received %s?%s with body model %q and profile header %q", r.Path, r.RawQuery, r.Body[:40], r.Header.Get("X-Ccbalancer-Profile"))
		}
	}

	for _, path := range []string{"/p/work/", "/p/work/providers", "/p/work/metrics"} {
		resp, err := e.client.Get(e.front.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
	}
	resp := e.post("/p/work/v1/messages/count_tokens", claudeBody("claude-sonnet-5", false), nil)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("count_tokens under the prefix: %d", resp.StatusCode)
	}

	for _, c := range []struct {
		path   string
		header map[string]string
		want   string
	}{
		{"/p/play/v1/messages", nil, `no profile "play"`},
		{"/v1/messages", map[string]string{"X-Ccbalancer-Profile": "play"}, `no profile "play"`},
		{"/p//v1/messages", nil, `no profile ""`}, // not the top level
	} {
		resp := e.post(c.path, claudeBody("claude-sonnet-5", false), c.header)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		typ, msg, _ := anthropic.ParseError(b)
		if resp.StatusCode != http.StatusBadRequest || typ != anthropic.ErrInvalidRequest ||
			!strings.Contains(msg, c.want) || !strings.Contains(msg, "known profiles are home, work") {
			t.Errorf("%s: %d %s", c.path, resp.StatusCode, b)
		}
	}
	resp, err := e.client.Get(e.front.URL + "/p/play/providers")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if _, msg, _ := anthropic.ParseError(b); resp.StatusCode != http.StatusNotFound || !strings.Contains(msg, "known profiles are home, work") {
		t.Errorf("/p/play/providers: %d %s", resp.StatusCode, b)
	}
}

// TestProfileAddedByReload: a profile written into the file while the proxy
// runs serves after a reload, with no restart, and the top-level routes
// stay as they were.
func TestProfileAddedByReload(t *testing.T) {
	a := httptest.NewServer(fake.New("A"))
	defer a.Close()
	b := httptest.NewServer(fake.New("B"))
	defer b.Close()
	path := filepath.Join(t.TempDir(), "providers.yaml")
	base := `providers:
  - {name: A, type: anthropic, base_url: "` + a.URL + `", auth_value: "k1"}
  - {name: B, type: anthropic, base_url: "` + b.URL + `", auth_value: "k2"}
model_routes:
  "*": [{provider: A}]
`
	os.WriteFile(path, []byte(base), 0o600)
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
	post := func(path string) (int, string) {
		resp, err := client.Post(front.URL+path, "application/json", strings.NewReader(string(claudeBody("claude-sonnet-5", false))))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("X-Provider-Used")
	}
	if code, _ := post("/p/other/v1/messages"); code != http.StatusBadRequest {
		t.Fatalf("unknown profile before the reload: %d", code)
	}
	os.WriteFile(path, []byte(base+"profiles:\n  other:\n    model_routes:\n      \"*\": [{provider: B}]\n"), 0o600)
	if err := srv.Reload(); err != nil {
		t.Fatal(err)
	}
	if code, by := post("/p/other/v1/messages"); code != 200 || by != "B" {
		t.Errorf("profile after the reload: %d from %q", code, by)
	}
	if _, by := post("/v1/messages"); by != "A" {
		t.Errorf("top level after the reload served by %q", by)
	}
}
