package proxy

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/internal/fake"
	"github.com/ccbalancer/ccbalancer/proxy/health"
)

// providerState reads one provider's entry of /providers as raw JSON.
func (e *env) providerJSON(name string) map[string]any {
	e.t.Helper()
	resp, err := e.client.Get(e.front.URL + "/providers")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Providers []map[string]any `json:"providers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		e.t.Fatal(err)
	}
	for _, p := range out.Providers {
		if p["name"] == name {
			return p
		}
	}
	e.t.Fatalf("no provider %s in /providers", name)
	return nil
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// TestRateLimitHeaderFamilies: each family of limit headers decides how
// long a provider that answered 429 stays out, and a success whose headers
// say the window is used up keeps it out too.
func TestRateLimitHeaderFamilies(t *testing.T) {
	hours := time.Now().Add(4 * time.Hour).Truncate(time.Second)
	tests := []struct {
		name   string
		status int
		header http.Header
		// want is how long A stays out, from the request.
		want time.Duration
	}{
		{"subscription window used up, resets in four hours", 429, http.Header{
			"Anthropic-Ratelimit-Unified-Status":         {"rejected"},
			"Anthropic-Ratelimit-Unified-Reset":          {unix(hours)},
			"Anthropic-Ratelimit-Unified-5h-Status":      {"rejected"},
			"Anthropic-Ratelimit-Unified-5h-Utilization": {"1.0"},
			"Anthropic-Ratelimit-Unified-5h-Reset":       {unix(hours)},
			"Anthropic-Ratelimit-Unified-7d-Utilization": {"0.4"},
			"Anthropic-Ratelimit-Unified-7d-Reset":       {unix(hours.Add(72 * time.Hour))},
			"Retry-After":                                {"60"},
		}, 4 * time.Hour},
		{"API requests window, reset in RFC 3339", 429, http.Header{
			"Anthropic-Ratelimit-Requests-Limit":     {"50"},
			"Anthropic-Ratelimit-Requests-Remaining": {"0"},
			"Anthropic-Ratelimit-Requests-Reset":     {time.Now().Add(3 * time.Hour).UTC().Format(time.RFC3339)},
		}, 3 * time.Hour},
		{"short rate limit: retry-after", 429, http.Header{"Retry-After": {"20"}}, 20 * time.Second},
		{"OpenAI-style headers on an Anthropic-compatible provider", 429, http.Header{
			"X-Ratelimit-Remaining-Tokens": {"0"},
			"X-Ratelimit-Reset-Tokens":     {"2h0m0s"},
		}, 2 * time.Hour},
		{"a success whose headers say the window is used up", 200, http.Header{
			"Anthropic-Ratelimit-Unified-Status":         {"rejected"},
			"Anthropic-Ratelimit-Unified-5h-Utilization": {"1"},
			"Anthropic-Ratelimit-Unified-5h-Reset":       {unix(hours)},
		}, 4 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, ups("A", "B")...)
			rep := fake.Reply{Header: tt.header}
			if tt.status != 200 {
				rep.Mode, rep.Status = fake.Status, tt.status
			}
			e.ups["A"].Always(rep)
			start := time.Now()
			resp, _, _ := e.send(false, nil)
			wantBy := "B"
			if tt.status == 200 {
				wantBy = "A"
			}
			if resp.StatusCode != 200 || resp.Header.Get("X-Provider-Used") != wantBy {
				t.Fatalf("status %d from %q, want 200 from %s", resp.StatusCode, resp.Header.Get("X-Provider-Used"), wantBy)
			}
			st := e.srv.health.Status("A")
			if st.State != health.StateRateLimited {
				t.Fatalf("A is %s, want rate_limited", st.State)
			}
			if got := st.Until.Sub(start); got < tt.want-2*time.Second || got > tt.want+2*time.Second {
				t.Errorf("A out for %v, want %v", got, tt.want)
			}
			// The next request does not touch A.
			before := e.ups["A"].Count()
			if resp, _, _ := e.send(false, nil); resp.Header.Get("X-Provider-Used") != "B" || e.ups["A"].Count() != before {
				t.Errorf("next request went to %q (A got %d more)", resp.Header.Get("X-Provider-Used"), e.ups["A"].Count()-before)
			}
			p := e.providerJSON("A")
			if p["state"] != "rate_limited" || p["state_text"] == "" || p["quota"] == nil {
				t.Errorf("/providers for A: state %v, text %v, quota %v", p["state"], p["state_text"], p["quota"])
			}
		})
	}
}

// TestOpenAIRateLimitHours: an OpenAI provider's x-ratelimit reset of hours
// keeps it out that long.
func TestOpenAIRateLimitHours(t *testing.T) {
	o := fake.NewOpenAI("O")
	o.SetScript(func(int, map[string]any) fake.ChatReply {
		return fake.ChatReply{Status: 429, Message: "Rate limit reached for requests", Header: http.Header{
			"X-Ratelimit-Limit-Requests": {"10000"}, "X-Ratelimit-Remaining-Requests": {"0"}, "X-Ratelimit-Reset-Requests": {"5h"}}}
	})
	hs := httptest.NewServer(o)
	defer hs.Close()
	e := newEnv(t, func(c *config.Config) {
		c.Providers = append([]config.Provider{{Name: "O", Type: config.TypeOpenAI, BaseURL: hs.URL + "/v1", AuthType: config.AuthAPIKey,
			AuthValue: "sk-o", Enabled: true}}, c.Providers...)
		c.Routes[0].Entries = append([]config.RouteEntry{{Provider: "O", Model: "gpt-x", Priority: 0}}, c.Routes[0].Entries...)
	}, ups("B")...)
	start := time.Now()
	if resp, _, _ := e.send(true, nil); resp.Header.Get("X-Provider-Used") != "B" {
		t.Fatalf("served by %q, want B", resp.Header.Get("X-Provider-Used"))
	}
	st := e.srv.health.Status("O")
	if st.State != health.StateRateLimited || st.Until.Sub(start) < 5*time.Hour-2*time.Second {
		t.Fatalf("O is %s until %v from now, want rate_limited for 5h", st.State, st.Until.Sub(start))
	}
}

// TestNearLimitGoesBehind: a provider past quota_near_limit of a window is
// tried after the others while it still serves.
func TestNearLimitGoesBehind(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Settings.QuotaNearLimit = 0.9 }, ups("A", "B")...)
	e.ups["A"].Always(fake.Reply{Header: http.Header{
		"Anthropic-Ratelimit-Unified-5h-Utilization": {"0.93"},
		"Anthropic-Ratelimit-Unified-5h-Reset":       {unix(time.Now().Add(time.Hour))},
	}})
	if resp, _, _ := e.send(false, nil); resp.Header.Get("X-Provider-Used") != "A" {
		t.Fatalf("first request served by %q, want A (priority 1)", resp.Header.Get("X-Provider-Used"))
	}
	if resp, _, _ := e.send(false, nil); resp.Header.Get("X-Provider-Used") != "B" {
		t.Fatalf("second request served by %q, want B: A reported 93%% of its window used", resp.Header.Get("X-Provider-Used"))
	}
	if st, _ := e.srv.health.State("A"); st != health.StateHealthy {
		t.Errorf("A is %s: close to the limit is a preference, not a state", st)
	}
	// B fails: A, close to its limit, still serves.
	e.ups["B"].Always(fake.Reply{Mode: fake.Status, Status: 503})
	if resp, _, _ := e.send(false, nil); resp.Header.Get("X-Provider-Used") != "A" {
		t.Errorf("with B failing, served by %q, want A", resp.Header.Get("X-Provider-Used"))
	}
	if got := e.providerJSON("A")["quota"].(map[string]any)["text"]; got != "5h window 93% used" {
		t.Errorf("quota text %q", got)
	}
}
