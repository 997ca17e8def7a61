package proxy

import (
	"net/http"
	"testing"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/internal/fake"
	"github.com/ccbalancer/ccbalancer/proxy/health"
)

// TestSubscriptionFirst is the README's "Claude subscription first" recipe
// end to end: Claude Code logged in to a subscription sends its OAuth token
// and the oauth beta flag; the subscription provider (auth_value:
// passthrough) gets them; when its 5-hour window is used up, the API
// provider serves with its own key and without the OAuth-only flag, and the
// subscription stays out until its window resets.
func TestSubscriptionFirst(t *testing.T) {
	e := newEnv(t, func(c *config.Config) {
		c.Providers[0].AuthValue = config.Passthrough
		c.Providers[0].AuthType = config.AuthAuthToken
	}, ups("Subscription", "API")...)
	const token = "sk-ant-oat01-subscription-login-token"
	client := map[string]string{
		"Authorization":  "Bearer " + token,
		"X-Api-Key":      "",
		"Anthropic-Beta": "claude-code-20250219,oauth-2025-04-20,interleaved-thinking-2025-05-14",
	}
	resp, _, _ := e.send(true, client)
	if resp.Header.Get("X-Provider-Used") != "Subscription" {
		t.Fatalf("first request served by %q", resp.Header.Get("X-Provider-Used"))
	}
	sub := e.ups["Subscription"].Requests()[0]
	if sub.Header.Get("Authorization") != "Bearer "+token || sub.Header.Get("Anthropic-Beta") != client["Anthropic-Beta"] {
		t.Errorf("the subscription got auth %q and betas %q; want the client's own", sub.Header.Get("Authorization"), sub.Header.Get("Anthropic-Beta"))
	}

	reset := time.Now().Add(3 * time.Hour)
	e.ups["Subscription"].Always(fake.Reply{Mode: fake.Status, Status: 429, Message: "rate limited", Header: http.Header{
		"Anthropic-Ratelimit-Unified-Status":         {"rejected"},
		"Anthropic-Ratelimit-Unified-5h-Status":      {"rejected"},
		"Anthropic-Ratelimit-Unified-5h-Utilization": {"1"},
		"Anthropic-Ratelimit-Unified-5h-Reset":       {unix(reset)},
	}})
	for i := range 2 {
		resp, body, _ := e.send(true, client)
		if resp.StatusCode != 200 || resp.Header.Get("X-Provider-Used") != "API" || streamText(t, body) == "" {
			t.Fatalf("request %d: %d from %q", i+2, resp.StatusCode, resp.Header.Get("X-Provider-Used"))
		}
	}
	if n := e.ups["Subscription"].Count(); n != 2 {
		t.Errorf("the subscription got %d requests, want 2: none while its window is used up", n)
	}
	for _, r := range e.ups["API"].Requests() {
		if got := r.Header.Get("Authorization"); got != "" {
			t.Errorf("the API provider got the subscription's Authorization %q", got)
		}
		if r.Header.Get("X-Api-Key") != "sk-test-api-secret" {
			t.Errorf("the API provider got x-api-key %q, want its own", r.Header.Get("X-Api-Key"))
		}
		if got := r.Header.Get("Anthropic-Beta"); got != "claude-code-20250219,interleaved-thinking-2025-05-14" {
			t.Errorf("the API provider got betas %q, want the OAuth-only flag removed", got)
		}
	}
	st := e.srv.health.Status("Subscription")
	if st.State != health.StateRateLimited || st.Until.Unix() != reset.Unix() {
		t.Errorf("subscription %s until %v, want rate_limited until the 5h reset %v", st.State, st.Until, reset)
	}
}

func TestStripOAuthBetas(t *testing.T) {
	tests := []struct{ in, want []string }{
		{[]string{"oauth-2025-04-20"}, nil},
		{[]string{"a-1, oauth-2025-04-20 ,b-2"}, []string{"a-1,b-2"}},
		{[]string{"a-1", "OAuth-2026-01-01,b-2"}, []string{"a-1,b-2"}},
		{[]string{"a-1,b-2"}, []string{"a-1,b-2"}},
	}
	for _, tt := range tests {
		h := http.Header{"Anthropic-Beta": tt.in}
		stripOAuthBetas(h)
		if got := h.Values("Anthropic-Beta"); len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) {
			t.Errorf("%q -> %q, want %q", tt.in, got, tt.want)
		}
	}
}
