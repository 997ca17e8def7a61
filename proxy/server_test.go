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
