package proxy

import (
	"bufio"
	"fmt"
	"io"
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
)

// TestReloadRebinds: a reload that changes the listen address moves the
// proxy there; a stream in flight on the old address runs to its end, and
// the old address takes no new connections. An address that cannot be
// opened leaves the proxy where it is and is published as needing a
// restart.
func TestReloadRebinds(t *testing.T) {
	t.Parallel()
	f := fake.New("A")
	step := make(chan struct{})
	f.Always(fake.Reply{Step: step, Deltas: 3, Text: "finished on the old port"})
	up := httptest.NewServer(f)
	defer up.Close()
	path := filepath.Join(t.TempDir(), "providers.yaml")
	write := func(port string) {
		t.Helper()
		text := fmt.Sprintf("providers:\n  - {name: A, type: anthropic, base_url: %q, auth_value: k}\nmodel_routes:\n  \"*\": [{provider: A}]\nsettings:\n  port: %s\n", up.URL, port)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	first := freePort(t)
	write(first)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	events, unsub := srv.Subscribe()
	defer unsub()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	post := func(addr string, stream bool) (*http.Response, error) {
		return client.Post("http://"+addr+"/v1/messages", "application/json", strings.NewReader(string(claudeBody("claude-sonnet-5", stream))))
	}
	oldAddr := srv.Addr()
	resp, err := post(oldAddr, true)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	step <- struct{}{}
	readUntil(t, br, "event: content_block_delta")

	second := freePort(t)
	write(second)
	if err := srv.Reload(); err != nil {
		t.Fatal(err)
	}
	if want := "127.0.0.1:" + second; srv.Addr() != want {
		t.Fatalf("Addr() = %s after the reload, want %s", srv.Addr(), want)
	}
	close(step)
	rest, err := io.ReadAll(br)
	if err != nil || !strings.Contains(string(rest), "message_stop") {
		t.Fatalf("the stream in flight on the old address did not finish: %v\n%s", err, rest)
	}
	r2, err := post(srv.Addr(), false)
	if err != nil || r2.StatusCode != http.StatusOK {
		t.Fatalf("request on the new address: %v", err)
	}
	r2.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", oldAddr)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the old address still takes connections")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// An address that is taken: the reload fails, the proxy stays where it
	// is with its configuration, and the event says a restart is needed.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, busyPort, _ := net.SplitHostPort(busy.Addr().String())
	write(busyPort)
	here := srv.Addr()
	if err := srv.Reload(); err == nil || !strings.Contains(err.Error(), busy.Addr().String()) {
		t.Errorf("Reload to a taken address: %v", err)
	}
	if srv.Addr() != here {
		t.Errorf("Addr() = %s, want it unchanged (%s)", srv.Addr(), here)
	}
	for {
		select {
		case ev := <-events:
			if ev.Kind == EventConfigReloadFailed {
				if !strings.Contains(ev.Reason, "restart") || !strings.Contains(ev.Reason, busy.Addr().String()) {
					t.Errorf("reason %q", ev.Reason)
				}
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no event about the address that cannot be opened")
		}
	}
}
