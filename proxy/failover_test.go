package proxy

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/internal/fake"
	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
	"github.com/ccbalancer/ccbalancer/proxy/health"
)

// TestRecoveryAfterCooldown: a provider that failed is used again once its
// cooldown is over, by itself, without a request having to prove it first.
func TestRecoveryAfterCooldown(t *testing.T) {
	t.Parallel()
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprint("stream=", stream), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *config.Config) { c.Settings.FailureCooldown = 200 * time.Millisecond }, ups("A", "B")...)
			events, cancel := e.srv.Subscribe()
			defer cancel()
			e.ups["A"].SetScript(func(n int, _ *http.Request) fake.Reply {
				if n == 1 {
					return fake.Reply{Mode: fake.Status, Status: 500}
				}
				return fake.Reply{}
			})
			if resp, _, _ := e.send(stream, nil); resp.Header.Get("X-Provider-Used") != "B" {
				t.Fatalf("first request served by %q, want B", resp.Header.Get("X-Provider-Used"))
			}
			if resp, _, _ := e.send(stream, nil); resp.Header.Get("X-Provider-Used") != "B" {
				t.Fatalf("during A's cooldown served by %q, want B", resp.Header.Get("X-Provider-Used"))
			}
			// Wait for the end of the cooldown as the tray learns of it.
			for ev := range events {
				if ev.Kind == EventProviderState && ev.Provider == "A" && ev.State == health.StateHealthy {
					if ev.Reason != "cooldown over" || ev.Prev != health.StateCooling {
						t.Fatalf("recovery event %+v", ev)
					}
					break
				}
			}
			resp, _, err := e.send(stream, nil)
			if err != nil || resp.Header.Get("X-Provider-Used") != "A" {
				t.Fatalf("after the cooldown: served by %q (err %v), want A", resp.Header.Get("X-Provider-Used"), err)
			}
		})
	}
}

func TestAllProvidersDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, ups("A", "B")...)
	e.ups["A"].Always(fake.Reply{Mode: fake.Status, Status: 529, Message: "Overloaded"})
	e.ups["B"].Always(fake.Reply{Mode: fake.Status, Status: 500, Message: "boom"})
	events, cancel := e.srv.Subscribe()
	defer cancel()
	resp, body, _ := e.send(false, nil)
	if resp.StatusCode != 503 {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
	typ, msg, ok := anthropic.ParseError([]byte(body))
	if !ok || typ != anthropic.ErrAPI || !strings.Contains(msg, "A: HTTP 529: Overloaded") || !strings.Contains(msg, "B: HTTP 500: boom") {
		t.Fatalf("error = %s", body)
	}
	if strings.Contains(body, "sk-test") {
		t.Fatalf("secret in error: %s", body)
	}
	// Both cool down; the next request still tries them (nothing healthy
	// remains) rather than refusing outright.
	resp, _, _ = e.send(false, nil)
	if resp.StatusCode != 503 || e.ups["A"].Count() != 2 {
		t.Fatalf("second request: %d, A tried %d times", resp.StatusCode, e.ups["A"].Count())
	}
	var kinds []EventKind
	timeout := time.After(2 * time.Second)
	for len(kinds) < 4 {
		select {
		case ev := <-events:
			kinds = append(kinds, ev.Kind)
		case <-timeout:
			t.Fatalf("events so far: %v", kinds)
		}
	}
	want := []EventKind{EventProviderState, EventFailover, EventProviderState, EventAllDown}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("events %v, want %v", kinds, want)
	}
}

func TestNoRouteForModel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *config.Config) { c.Routes = nil }, ups("A")...)
	resp := e.post("/v1/messages", claudeBody("claude-sonnet-5", false), nil)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if _, msg, _ := anthropic.ParseError(b); resp.StatusCode != 400 || !strings.Contains(msg, `no route for model "claude-sonnet-5"`) {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
}

// TestEchoedKeyRedacted: a provider that echoes the key it rejected does not
// get it into /providers, the 503 body, or events.
func TestEchoedKeyRedacted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, ups("A")...)
	e.ups["A"].Always(fake.Reply{Mode: fake.Status, Status: 401, Message: "invalid x-api-key: sk-test-a-secret"})
	events, cancel := e.srv.Subscribe()
	defer cancel()
	resp, body, _ := e.send(false, nil)
	if resp.StatusCode != 403 || strings.Contains(body, "sk-test-a-secret") || !strings.Contains(body, "[REDACTED]") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if le := e.providers()["A"].LastError; strings.Contains(le, "sk-test-a-secret") {
		t.Fatalf("last_error = %q", le)
	}
	if ev := <-events; strings.Contains(ev.Reason, "sk-test-a-secret") {
		t.Fatalf("event %+v", ev)
	}
}
