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
)

// TestFailoverMatrix: provider A misbehaves in one way, B is healthy. For
// each kind, stream and non-stream: who served, what the client got, what
// /providers shows, and that A is used again once its cooldown is over.
func TestFailoverMatrix(t *testing.T) {
	t.Parallel()
	const cooldown = 300 * time.Millisecond
	type want struct {
		status   int    // what the client gets
		servedBy string // x-provider-used
		cooldown bool   // A cooling down afterwards
		minCool  time.Duration
		reason   string // in A's last_error
		bCalls   int
		// attention: A needs attention afterwards (no timer).
		attention bool
	}
	failover := func(reason string) want {
		return want{status: 200, servedBy: "B", cooldown: true, reason: reason, bCalls: 1}
	}
	// A rejected key or no credit: no timer brings the provider back.
	attention := func(reason string) want {
		return want{status: 200, servedBy: "B", cooldown: true, reason: reason, bCalls: 1, attention: true}
	}
	tests := []struct {
		name  string
		deadA func(t *testing.T) string // A is a dead address instead of a fake
		reply fake.Reply
		want  want
	}{
		{name: "connection refused", deadA: refusedURL, want: failover("connection refused")},
		{name: "connect timeout", deadA: blackholeURL, want: failover("connect timeout")},
		{name: "no first byte", reply: fake.Reply{Mode: fake.StallHeaders}, want: failover("no response within request_timeout")},
		{name: "500", reply: fake.Reply{Mode: fake.Status, Status: 500}, want: failover("HTTP 500")},
		{name: "502", reply: fake.Reply{Mode: fake.Status, Status: 502}, want: failover("HTTP 502")},
		{name: "503", reply: fake.Reply{Mode: fake.Status, Status: 503}, want: failover("HTTP 503")},
		{name: "529", reply: fake.Reply{Mode: fake.Status, Status: 529, Message: "Overloaded"}, want: failover("HTTP 529: Overloaded")},
		{name: "429 retry-after", reply: fake.Reply{Mode: fake.Status, Status: 429, RetryAfter: "30"},
			want: want{status: 200, servedBy: "B", cooldown: true, minCool: 29 * time.Second, reason: "HTTP 429", bCalls: 1}},
		{name: "402", reply: fake.Reply{Mode: fake.Status, Status: 402, Message: "quota exceeded"}, want: attention("HTTP 402: quota exceeded")},
		{name: "401", reply: fake.Reply{Mode: fake.Status, Status: 401, Message: "invalid x-api-key"}, want: attention("HTTP 401")},
		{name: "403", reply: fake.Reply{Mode: fake.Status, Status: 403}, want: attention("HTTP 403")},
		{name: "200 then error event", reply: fake.Reply{Mode: fake.ErrorEvent, Message: "Overloaded"}, want: failover("overloaded_error: Overloaded")},
		{name: "stall after message_start", reply: fake.Reply{Mode: fake.StallAfterStart}, want: failover("no data within stream_idle_timeout")},
		{name: "404 model not found", reply: fake.Reply{Mode: fake.Status, Status: 404, Message: "model: claude-sonnet-5"},
			want: want{status: 200, servedBy: "B", cooldown: false, reason: "HTTP 404", bCalls: 1}},
		{name: "400 client error", reply: fake.Reply{Mode: fake.Status, Status: 400, Message: "max_tokens: too large"},
			want: want{status: 400, servedBy: "A", cooldown: false, bCalls: 0}},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			if (tt.reply.Mode == fake.ErrorEvent || tt.reply.Mode == fake.StallAfterStart) && !stream {
				continue // an error event only exists in a stream
			}
			t.Run(fmt.Sprintf("%s/stream=%v", tt.name, stream), func(t *testing.T) {
				t.Parallel()
				specs := ups("A", "B")
				if tt.deadA != nil {
					specs[0].url = tt.deadA(t)
				}
				e := newEnv(t, func(c *config.Config) {
					c.Settings.FailureCooldown = cooldown
					c.Settings.RequestTimeout = 400 * time.Millisecond
					c.Settings.ConnectTimeout = 150 * time.Millisecond
					c.Settings.StreamIdleTimeout = 300 * time.Millisecond
				}, specs...)
				if a := e.ups["A"]; a != nil {
					a.SetScript(func(n int, _ *http.Request) fake.Reply {
						if n == 1 {
							return tt.reply
						}
						return fake.Reply{}
					})
				}
				start := time.Now()
				resp, body, err := e.send(stream, nil)
				took := time.Since(start)
				if err != nil {
					t.Fatalf("reading answer: %v", err)
				}
				if resp.StatusCode != tt.want.status || resp.Header.Get("X-Provider-Used") != tt.want.servedBy {
					t.Fatalf("got %d from %q, want %d from %q; body %s", resp.StatusCode, resp.Header.Get("X-Provider-Used"), tt.want.status, tt.want.servedBy, body)
				}
				switch {
				case tt.want.status == 400:
					if typ, msg, ok := anthropic.ParseError([]byte(body)); !ok || typ != anthropic.ErrInvalidRequest || msg != "max_tokens: too large" {
						t.Errorf("client error not relayed as it is: %s", body)
					}
				case stream:
					if !strings.Contains(body, "event: message_stop") || streamText(t, body) != "Hello from B." {
						t.Errorf("stream incomplete: %s", body)
					}
				default:
					if !strings.Contains(body, `"Hello from B."`) {
						t.Errorf("answer = %s", body)
					}
				}
				if got := e.ups["B"].Count(); got != tt.want.bCalls {
					t.Errorf("B received %d requests, want %d", got, tt.want.bCalls)
				}
				a := e.providers()["A"]
				if a.Healthy == tt.want.cooldown {
					t.Errorf("A healthy = %v, want %v (%+v)", a.Healthy, !tt.want.cooldown, a)
				}
				if tt.want.minCool > 0 && a.CooldownRemainingS < tt.want.minCool.Seconds() {
					t.Errorf("A cooldown %.1fs, want at least %v (retry-after honoured)", a.CooldownRemainingS, tt.want.minCool)
				}
				if !strings.Contains(a.LastError, tt.want.reason) {
					t.Errorf("A last_error = %q, want it to contain %q", a.LastError, tt.want.reason)
				}
				if strings.Contains(a.LastError, "secret") || strings.Contains(body, "secret") {
					t.Errorf("a secret leaked: %q / %s", a.LastError, body)
				}
				t.Logf("failover took %v", took)
				if tt.want.attention != (a.State == "needs_attention") {
					t.Errorf("A state = %q, want needs_attention: %v", a.State, tt.want.attention)
				}
				if !tt.want.cooldown || tt.want.minCool > 0 || tt.deadA != nil || tt.want.attention {
					return
				}
				// Recovery: once the cooldown is over, A serves again.
				deadline := time.Now().Add(5 * time.Second)
				for !e.providers()["A"].Healthy {
					if time.Now().After(deadline) {
						t.Fatal("A never came back after its cooldown")
					}
					time.Sleep(20 * time.Millisecond)
				}
				resp, _, err = e.send(stream, nil)
				if err != nil || resp.Header.Get("X-Provider-Used") != "A" {
					t.Fatalf("after the cooldown: served by %q (err %v), want A", resp.Header.Get("X-Provider-Used"), err)
				}
			})
		}
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
	if !ok || typ != anthropic.ErrOverloaded || !strings.Contains(msg, "A: HTTP 529: Overloaded") || !strings.Contains(msg, "B: HTTP 500: boom") {
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
	if _, msg, _ := anthropic.ParseError(b); resp.StatusCode != 404 || !strings.Contains(msg, `no route for model "claude-sonnet-5"`) {
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
	if resp.StatusCode != 503 || strings.Contains(body, "sk-test-a-secret") || !strings.Contains(body, "[REDACTED]") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if le := e.providers()["A"].LastError; strings.Contains(le, "sk-test-a-secret") {
		t.Fatalf("last_error = %q", le)
	}
	if ev := <-events; strings.Contains(ev.Reason, "sk-test-a-secret") {
		t.Fatalf("event %+v", ev)
	}
}
