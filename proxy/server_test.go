package proxy

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ccbalancer/ccbalancer/internal/fake"
)

func TestStartStop(t *testing.T) {
	t.Parallel()
	f := fake.New("A")
	up := httptest.NewServer(f)
	defer up.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cfg := testConfig(configProvider("A", up.URL))
	srv, err := New(cfg, Options{Listen: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	events, cancel := srv.Subscribe()
	defer cancel()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	get := func() error {
		resp, err := client.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	for round := range 2 {
		if err := srv.Start(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if !srv.Running() || srv.Addr() != addr {
			t.Fatalf("running %v at %s", srv.Running(), srv.Addr())
		}
		if err := get(); err != nil {
			t.Fatalf("round %d: proxy not serving: %v", round, err)
		}
		if err := srv.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		client.CloseIdleConnections()
		if err := get(); err == nil {
			t.Fatalf("round %d: port still open after Stop", round)
		}
	}
	var kinds []EventKind
	for len(kinds) < 4 {
		kinds = append(kinds, (<-events).Kind)
	}
	if kinds[0] != EventStarted || kinds[1] != EventStopped || kinds[2] != EventStarted || kinds[3] != EventStopped {
		t.Errorf("events %v", kinds)
	}
	// A busy port is a clear error.
	busy, _ := net.Listen("tcp", "127.0.0.1:0")
	defer busy.Close()
	srv2, _ := New(cfg, Options{Listen: busy.Addr().String()})
	defer srv2.Close()
	if err := srv2.Start(); err == nil || !strings.Contains(err.Error(), "listening on "+busy.Addr().String()) {
		t.Errorf("busy port: %v", err)
	}
}

// TestStopLetsStreamsFinish: Stop closes the port at once but a stream in
// flight runs to its end within the grace period; past it, it is aborted.
func TestStopLetsStreamsFinish(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		grace    time.Duration
		complete bool
	}{{"within grace", 5 * time.Second, true}, {"grace over", 100 * time.Millisecond, false}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := fake.New("A")
			f.Always(fake.Reply{Deltas: 8, Gap: 50 * time.Millisecond})
			up := httptest.NewServer(f)
			defer up.Close()
			srv, _ := New(testConfig(configProvider("A", up.URL)), Options{Listen: "127.0.0.1:0"})
			defer srv.Close()
			if err := srv.Start(); err != nil {
				t.Fatal(err)
			}
			client := &http.Client{Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			resp, err := client.Post("http://"+srv.Addr()+"/v1/messages", "application/json", strings.NewReader(string(claudeBody("claude-sonnet-5", true))))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), tt.grace)
			defer cancel()
			stopped := make(chan struct{})
			go func() { srv.Stop(ctx); close(stopped) }()
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			<-stopped
			if got := err == nil && strings.Contains(string(b), "message_stop"); got != tt.complete {
				t.Fatalf("stream complete = %v (err %v), want %v", got, err, tt.complete)
			}
		})
	}
}

// TestLastServed: the snapshot names the provider that served the latest
// request, and a change of that provider (only a change) is published.
func TestLastServed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, ups("A", "B")...)
	if s := e.srv.Snapshot(); s.LastServed != "" || !s.LastServedAt.IsZero() {
		t.Fatalf("before any request: %q at %v", s.LastServed, s.LastServedAt)
	}
	events, cancel := e.srv.Subscribe()
	defer cancel()
	// The response can reach the client before the handler has noted who
	// served it: wait for the event, which is published after the note.
	nextServed := func() string {
		t.Helper()
		timeout := time.After(5 * time.Second)
		for {
			select {
			case ev := <-events:
				if ev.Kind == EventChanged && ev.Reason == "served a request" {
					return ev.Provider
				}
			case <-timeout:
				t.Fatal("no served event within 5 s")
			}
		}
	}
	before := time.Now()
	if resp, _, _ := e.send(false, nil); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if p := nextServed(); p != "A" {
		t.Fatalf("served event for %q, want A", p)
	}
	s := e.srv.Snapshot()
	if s.LastServed != "A" || s.LastServedAt.Before(before) {
		t.Fatalf("after a request: %q at %v (sent after %v)", s.LastServed, s.LastServedAt, before)
	}
	// A second request by the same provider changes the time, not the
	// provider: no event.
	if resp, _, _ := e.send(false, nil); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	e.ups["A"].Always(fake.Reply{Mode: fake.Status, Status: 529, Message: "Overloaded"})
	if resp, _, _ := e.send(false, nil); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if p := nextServed(); p != "B" {
		t.Fatalf("served event for %q after A's second request and a failover, want B", p)
	}
	if s := e.srv.Snapshot(); s.LastServed != "B" {
		t.Fatalf("after a failover: %q", s.LastServed)
	}
}
