package demo

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ccbalancer/ccbalancer/proxy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestDemo: behind the proxy, the demo's flaky provider fails every
// FlakyEvery-th request and the proxy fails over to the steady one.
func TestDemo(t *testing.T) {
	p, cfg, err := Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	srv, err := proxy.New(cfg, proxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	front := httptest.NewServer(srv.Handler())
	defer front.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	var served []string
	for range FlakyEvery {
		resp, err := client.Post(front.URL+"/v1/messages", "application/json",
			strings.NewReader(`{"model":"claude-sonnet-5","messages":[{"role":"user","content":"hi"}],"stream":true}`))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || !strings.Contains(string(b), "message_stop") {
			t.Fatalf("%v %d %s", err, resp.StatusCode, b)
		}
		served = append(served, resp.Header.Get("X-Provider-Used"))
	}
	if strings.Join(served, ",") != "Flaky,Flaky,Steady" {
		t.Fatalf("served by %v, want the third to fail over", served)
	}
	if h, n := srv.Snapshot().Health(); h != 1 || n != 2 {
		t.Fatalf("health %d/%d, want Flaky cooling down", h, n)
	}
	// The traffic generator talks to the proxy and stops with its context.
	before := srv.Snapshot()
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	Traffic(ctx, front.URL, 50*time.Millisecond, slog.New(slog.DiscardHandler))
	after := srv.Snapshot()
	sent := after.Providers[0].Requests + after.Providers[1].Requests - before.Providers[0].Requests - before.Providers[1].Requests
	if sent < 2 {
		t.Fatalf("traffic generator got %d answers served", sent)
	}
}
