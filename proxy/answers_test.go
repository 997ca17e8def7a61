package proxy

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/internal/fake"
	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
	"github.com/ccbalancer/ccbalancer/proxy/health"
)

// TestEveryProviderFailed: when no provider serves a request, the answer
// names each provider and why, and its status makes Claude Code wait or
// stop as measured with its CLI (docs/claude-code-errors.md): 503 api_error
// (or 429 when only rate limits stand in the way) with a retry-after of when
// the first provider is back, at most 60 s; a 4xx with x-should-retry: false
// when only the user can fix it.
func TestEveryProviderFailed(t *testing.T) {
	t.Parallel()
	type reply = fake.Reply
	tests := []struct {
		name       string
		cooldown   time.Duration
		a, b       reply
		disableAll bool
		wantStatus int
		wantType   string
		wantRetry  string // "" when no retry-after
		wantInMsg  []string
		// noRetry: x-should-retry: false (the CLI then shows the message
		// after one request).
		noRetry bool
	}{
		{name: "keys rejected", a: reply{Mode: fake.Status, Status: 401, Message: "invalid x-api-key"},
			b: reply{Mode: fake.Status, Status: 403, Message: "key disabled"}, wantStatus: 403, wantType: anthropic.ErrPermission, noRetry: true,
			wantInMsg: []string{"A: HTTP 401: invalid x-api-key (needs attention", "B: HTTP 403: key disabled (needs attention"}},
		{name: "no credit", a: reply{Mode: fake.Status, Status: 401, Message: "invalid x-api-key"},
			b: reply{Mode: fake.Status, Status: 402, Message: "credit balance too low"}, wantStatus: 402, wantType: anthropic.ErrBilling, noRetry: true,
			wantInMsg: []string{"A: HTTP 401: invalid x-api-key (needs attention", "B: HTTP 402: credit balance too low (needs attention"}},
		{name: "billing error under a 400", a: reply{Mode: fake.Status, Status: 400, Message: "Your credit balance is too low to access the Anthropic API."},
			b: reply{Mode: fake.Status, Status: 402}, wantStatus: 402, wantType: anthropic.ErrBilling, noRetry: true},
		{name: "rate limited for hours", a: reply{Mode: fake.Status, Status: 429, RetryAfter: "14400", Message: "5-hour window used up"},
			b: reply{Mode: fake.Status, Status: 429, RetryAfter: "7200"}, wantStatus: 429, wantType: anthropic.ErrRateLimit, noRetry: true,
			wantInMsg: []string{"A: HTTP 429: 5-hour window used up (rate limited until "}},
		{name: "overloaded", cooldown: 30 * time.Second, a: reply{Mode: fake.Status, Status: 529, Message: "Overloaded"},
			b: reply{Mode: fake.Status, Status: 500, Message: "boom"}, wantStatus: 503, wantType: anthropic.ErrAPI, wantRetry: "30",
			wantInMsg: []string{"A: HTTP 529: Overloaded (cooling down, 0:30 left)", "B: HTTP 500: boom (cooling down, 0:30 left)"}},
		{name: "long cooldowns capped", cooldown: 10 * time.Minute, a: reply{Mode: fake.Status, Status: 503},
			b: reply{Mode: fake.Status, Status: 503}, wantStatus: 503, wantType: anthropic.ErrAPI, wantRetry: "60"},
		{name: "rate limited", a: reply{Mode: fake.Status, Status: 429, RetryAfter: "20", Message: "slow down"},
			b: reply{Mode: fake.Status, Status: 429, RetryAfter: "40"}, wantStatus: 429, wantType: anthropic.ErrRateLimit, wantRetry: "20",
			wantInMsg: []string{"A: HTTP 429: slow down (rate limited, 0:20 left)"}},
		{name: "one key rejected, one overloaded", cooldown: 45 * time.Second, a: reply{Mode: fake.Status, Status: 403},
			b: reply{Mode: fake.Status, Status: 529}, wantStatus: 503, wantType: anthropic.ErrAPI, wantRetry: "45",
			wantInMsg: []string{"A: HTTP 403", "needs attention", "B: HTTP 529"}},
		{name: "no enabled provider", disableAll: true, wantStatus: 400, wantType: anthropic.ErrInvalidRequest,
			wantInMsg: []string{"the route has no enabled provider"}},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tt.name, stream), func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, func(c *config.Config) {
					if tt.cooldown > 0 {
						c.Settings.FailureCooldown = tt.cooldown
					}
					if tt.disableAll {
						c.Routes[0].Entries = nil
					}
				}, ups("A", "B")...)
				e.ups["A"].Always(tt.a)
				e.ups["B"].Always(tt.b)
				resp, body, _ := e.send(stream, nil)
				typ, msg, ok := anthropic.ParseError([]byte(body))
				if resp.StatusCode != tt.wantStatus || !ok || typ != tt.wantType {
					t.Fatalf("got %d %s, want %d %s", resp.StatusCode, body, tt.wantStatus, tt.wantType)
				}
				if got := resp.Header.Get("Retry-After"); got != tt.wantRetry {
					t.Errorf("retry-after = %q, want %q", got, tt.wantRetry)
				}
				if got := resp.Header.Get("X-Should-Retry") == "false"; got != tt.noRetry {
					t.Errorf("x-should-retry: false sent: %v, want %v", got, tt.noRetry)
				}
				for _, w := range tt.wantInMsg {
					if !strings.Contains(msg, w) {
						t.Errorf("message %q does not say %q", msg, w)
					}
				}
				if strings.Contains(body, "sk-test") {
					t.Errorf("a key leaked: %s", body)
				}
				// The next request finds the providers out of rotation and
				// says so without asking those that cannot serve.
				calls := e.ups["A"].Count() + e.ups["B"].Count()
				resp, body, _ = e.send(stream, nil)
				if resp.StatusCode != tt.wantStatus {
					t.Errorf("second request: %d %s, want %d", resp.StatusCode, body, tt.wantStatus)
				}
				if tt.noRetry && e.ups["A"].Count()+e.ups["B"].Count() != calls {
					t.Errorf("providers that need attention were asked again")
				}
			})
		}
	}
}

// TestNotTriedProvidersNamed: a provider left out of rotation is named in
// the answer with its state, though it was not asked.
func TestNotTriedProvidersNamed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, ups("A", "B")...)
	e.srv.health.Failed("A", health.Failure{State: health.StateNeedsAttention, Reason: "HTTP 401: invalid x-api-key"})
	e.ups["B"].Always(fake.Reply{Mode: fake.Status, Status: 402, Message: "no credit"})
	resp, body, _ := e.send(false, nil)
	_, msg, _ := anthropic.ParseError([]byte(body))
	want := "A: not tried (needs attention: fix its key or credit, then retry it, after HTTP 401: invalid x-api-key); B: HTTP 402: no credit (needs attention"
	if resp.StatusCode != 402 || !strings.Contains(msg, want) || e.ups["A"].Count() != 0 {
		t.Fatalf("%d %q; A asked %d times", resp.StatusCode, msg, e.ups["A"].Count())
	}
}

// TestDefaultRouteNamed: a model that matches no route is served by the
// default route; when that fails too, the answer says so, since the
// providers it names were not chosen for that model.
func TestDefaultRouteNamed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, ups("A", "B")...)
	e.ups["A"].Always(fake.Reply{Mode: fake.Status, Status: 401, Message: "invalid x-api-key"})
	e.ups["B"].Always(fake.Reply{Mode: fake.Status, Status: 401, Message: "invalid x-api-key"})
	resp := e.post("/v1/messages", claudeBody("nomatch", false), nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_, msg, _ := anthropic.ParseError(body)
	want := `no provider can serve model nomatch: (no route matches it; the default route "*sonnet*" was used) A: HTTP 401`
	if resp.StatusCode != 403 || !strings.HasPrefix(msg, want) {
		t.Errorf("%d %q, want 403 starting %q", resp.StatusCode, msg, want)
	}
}

// TestFailoverEventCarriesRealCooldown: the failover event says what the
// failure did to the provider, and nothing else: no cooldown for a 404,
// failure_cooldown (or a longer retry-after) for a 5xx.
func TestFailoverEventCarriesRealCooldown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		reply     fake.Reply
		wantState health.State
		wantFor   time.Duration
	}{
		{"404", fake.Reply{Mode: fake.Status, Status: 404}, "", 0},
		{"500", fake.Reply{Mode: fake.Status, Status: 500}, health.StateCooling, 90 * time.Second},
		{"503 with a longer retry-after", fake.Reply{Mode: fake.Status, Status: 503, RetryAfter: "300"}, health.StateCooling, 300 * time.Second},
		{"429", fake.Reply{Mode: fake.Status, Status: 429, RetryAfter: "12"}, health.StateRateLimited, 12 * time.Second},
		{"401", fake.Reply{Mode: fake.Status, Status: 401}, health.StateNeedsAttention, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *config.Config) { c.Settings.FailureCooldown = 90 * time.Second }, ups("A", "B")...)
			e.ups["A"].Always(tt.reply)
			events, cancel := e.srv.Subscribe()
			defer cancel()
			if resp, _, _ := e.send(false, nil); resp.Header.Get("X-Provider-Used") != "B" {
				t.Fatalf("served by %q", resp.Header.Get("X-Provider-Used"))
			}
			for ev := range events {
				if ev.Kind != EventFailover {
					continue
				}
				var got time.Duration
				if !ev.Until.IsZero() {
					got = ev.Until.Sub(ev.Time).Round(time.Second)
				}
				if ev.Provider != "A" || ev.Next != "B" || ev.State != tt.wantState || got != tt.wantFor {
					t.Errorf("failover event %+v: state %q for %v, want %q for %v", ev, ev.State, got, tt.wantState, tt.wantFor)
				}
				return
			}
		})
	}
}

// TestPassthroughNeverForwardsTheProxyKey: with settings.auth_key, the
// header that authenticated the client to the proxy is the proxy's key and
// never reaches a passthrough provider; the client's own credential does.
func TestPassthroughNeverForwardsTheProxyKey(t *testing.T) {
	t.Parallel()
	for _, typ := range []config.ProviderType{config.TypeAnthropic, config.TypeOpenAI} {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", typ, stream), func(t *testing.T) {
				t.Parallel()
				var got http.Header
				up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					io.Copy(io.Discard, r.Body)
					got = r.Header.Clone()
					wire(typ).answer(w, stream, "ok")
				}))
				defer up.Close()
				e := newEnv(t, func(c *config.Config) {
					c.Settings.AuthKey = "proxy-key-123456"
					c.Providers[0].Type = typ
					c.Providers[0].AuthValue = config.Passthrough
				}, upSpec{name: "A", url: up.URL})
				// The proxy's key as x-api-key, the user's own token as Bearer.
				resp, body, err := e.send(stream, map[string]string{"X-Api-Key": "proxy-key-123456", "Authorization": "Bearer user-oauth-token"})
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("%d %v %s", resp.StatusCode, err, body)
				}
				if got.Get("X-Api-Key") != "" || got.Get("Authorization") != "Bearer user-oauth-token" {
					t.Errorf("upstream got x-api-key %q, authorization %q", got.Get("X-Api-Key"), got.Get("Authorization"))
				}
				// Only the proxy's key: nothing to pass through, nothing sent.
				got = nil
				resp, body, _ = e.send(stream, map[string]string{"X-Api-Key": "proxy-key-123456"})
				_, msg, _ := anthropic.ParseError([]byte(body))
				if resp.StatusCode != 400 || got != nil || !strings.Contains(msg, "no client credential to pass through") {
					t.Errorf("%d %s; upstream headers %v", resp.StatusCode, body, got)
				}
			})
		}
	}
}

// TestSlowNonStreamedAnswer: a non-streamed answer comes with its headers
// only when complete; it may take longer than request_timeout (which bounds
// a stream's first byte) and is still served, without a cooldown. The
// client's own x-stainless-timeout, when smaller, is the limit.
func TestSlowNonStreamedAnswer(t *testing.T) {
	t.Parallel()
	for _, typ := range []config.ProviderType{config.TypeAnthropic, config.TypeOpenAI} {
		t.Run(string(typ), func(t *testing.T) {
			t.Parallel()
			release := make(chan struct{})
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				select {
				case <-release:
				case <-r.Context().Done():
					return
				}
				wire(typ).answer(w, false, "slow but complete")
			}))
			defer up.Close()
			e := newEnv(t, func(c *config.Config) {
				c.Providers[0].Type = typ
				c.Settings.RequestTimeout = 50 * time.Millisecond
				c.Settings.NonstreamTimeout = time.Minute
			}, upSpec{name: "A", url: up.URL}, upSpec{name: "B"})
			// Released after three request_timeouts have passed.
			timer := time.AfterFunc(150*time.Millisecond, func() { close(release) })
			defer timer.Stop()
			resp, body, err := e.send(false, nil)
			if err != nil || resp.StatusCode != 200 || resp.Header.Get("X-Provider-Used") != "A" || !strings.Contains(body, "slow but complete") {
				t.Fatalf("%d from %q (%v): %s", resp.StatusCode, resp.Header.Get("X-Provider-Used"), err, body)
			}
			if a := e.srv.Snapshot().Providers[0]; a.State != health.StateHealthy || a.Failures != 0 {
				t.Errorf("A after a slow answer: %+v", a)
			}
		})
	}
	// x-stainless-timeout lowers nonstream_timeout.
	e := newEnv(t, func(c *config.Config) { c.Settings.NonstreamTimeout = time.Minute }, ups("A", "B")...)
	e.ups["A"].Always(fake.Reply{Mode: fake.StallHeaders})
	resp, _, _ := e.send(false, map[string]string{"X-Stainless-Timeout": "0.2"})
	if resp.Header.Get("X-Provider-Used") != "B" || !strings.Contains(e.providers()["A"].LastError, "nonstream_timeout") {
		t.Errorf("served by %q; A: %+v", resp.Header.Get("X-Provider-Used"), e.providers()["A"])
	}
}

// TestEndlessLineAfterContent: after the first byte, a stream line that
// never ends is cut at max_event_size: the client's response is aborted and
// the proxy's memory stays bounded.
func TestEndlessLineAfterContent(t *testing.T) {
	t.Parallel()
	for _, w := range []wire{wireAnthropic, wireOpenAI} {
		t.Run(string(w), func(t *testing.T) {
			t.Parallel()
			up := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				rw.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(rw, w.head()+w.content("first")+"data: ")
				chunk := []byte(strings.Repeat("y", 16<<10))
				for r.Context().Err() == nil {
					if _, err := rw.Write(chunk); err != nil {
						return
					}
				}
			}))
			defer up.Close()
			e := newEnv(t, func(c *config.Config) {
				c.Providers[0].Type = config.ProviderType(w)
				c.Settings.MaxEventBytes = 256 << 10
			}, upSpec{name: "A", url: up.URL})
			resp, body, err := e.send(true, nil)
			if resp.StatusCode != 200 || err == nil || !strings.Contains(body, "first") {
				t.Fatalf("%d, read error %v; body %s", resp.StatusCode, err, body)
			}
			if le := e.providers()["A"].LastError; !strings.Contains(le, "longer than max_event_size ("+strconv.Itoa(256<<10)+" bytes)") {
				t.Errorf("A's last error = %q", le)
			}
		})
	}
}
