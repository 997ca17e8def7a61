package proxy

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/internal/fake"
)

// freePort returns a loopback port that nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	return port
}

// TestListenOverrideNeedsAuthKey: the --listen override follows the rule the
// file's host follows (DESIGN.md section 9): an address beyond loopback
// without settings.auth_key is refused before anything listens, since the
// Host check alone is defeated by a caller who sends Host: 127.0.0.1.
func TestListenOverrideNeedsAuthKey(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(fake.New("A"))
	defer up.Close()
	for _, host := range []string{"0.0.0.0", ""} {
		t.Run("host "+host, func(t *testing.T) {
			port := freePort(t)
			addr := net.JoinHostPort(host, port)
			srv, err := New(testConfig(configProvider("A", up.URL)), Options{Listen: addr})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			err = srv.Start()
			if err == nil {
				// Show what the hole is: a request from anywhere, Host forged.
				req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+port+"/providers", nil)
				req.Host = "127.0.0.1"
				client := &http.Client{Transport: &http.Transport{}}
				defer client.CloseIdleConnections()
				status := 0
				if resp, err := client.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
				}
				t.Fatalf("Start(--listen %s) without auth_key succeeded; a caller sending Host: 127.0.0.1 got status %d", addr, status)
			}
			want := `listening on "` + addr + `" (not a loopback address) requires settings.auth_key`
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Start error = %q, want it to say %q", err, want)
			}
			if srv.Running() {
				t.Error("Running() after a refused Start")
			}
			if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
				c.Close()
				t.Errorf("port %s accepts connections after a refused Start", port)
			}
		})
	}
}

// TestListenOverrideLoopback: a loopback override needs no key.
func TestListenOverrideLoopback(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(fake.New("A"))
	defer up.Close()
	for _, host := range []string{"127.0.0.1", "localhost", "::1"} {
		t.Run(host, func(t *testing.T) {
			srv, err := New(testConfig(configProvider("A", up.URL)), Options{Listen: net.JoinHostPort(host, "0")})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			if err := srv.Start(); err != nil {
				if host == "::1" && strings.Contains(err.Error(), "cannot assign requested address") {
					t.Skip("no IPv6 loopback here")
				}
				t.Fatalf("Start(%s): %v", host, err)
			}
		})
	}
}

// TestReloadKeepsListenRule: a reload that drops auth_key while the proxy
// is set to listen beyond loopback (here by the override) is refused, and the
// old configuration, key included, keeps serving.
func TestReloadKeepsListenRule(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(fake.New("A"))
	defer up.Close()
	path := filepath.Join(t.TempDir(), "providers.yaml")
	file := func(settings string) {
		t.Helper()
		data := "providers:\n  - {name: A, type: anthropic, base_url: \"" + up.URL + "\", auth_value: k}\n" +
			"model_routes:\n  \"*sonnet*\": [{provider: A}]\n" + settings
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	file("settings:\n  auth_key: proxy-key\n")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, Options{Listen: "0.0.0.0:" + freePort(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	file("") // auth_key gone; the file's own host is loopback
	err = srv.Reload()
	if err == nil || !strings.Contains(err.Error(), "requires settings.auth_key") {
		t.Fatalf("Reload = %v, want it refused: the override listens beyond loopback", err)
	}
	// The old configuration still demands the key.
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/v1/messages", strings.NewReader(string(claudeBody("claude-sonnet-5", false))))
	r.RemoteAddr = "192.0.2.7:4000"
	srv.Handler().ServeHTTP(rec, r)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("after the refused reload, a request without the key got %d, want 401", rec.Code)
	}
}
