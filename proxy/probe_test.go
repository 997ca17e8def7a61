package proxy

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/internal/fake"
	"github.com/ccbalancer/ccbalancer/proxy/health"
)

// modelRequests counts the model list requests an upstream received.
func modelRequests(rs []fake.Request, key string) int {
	n := 0
	for _, r := range rs {
		if r.Method == http.MethodGet && (r.Path == "/v1/models" || r.Path == "/v1/models/") {
			if key == "" || r.Header.Get("X-Api-Key") == key || r.Header.Get("Authorization") == "Bearer "+key {
				n++
			}
		}
	}
	return n
}

// TestProbes: providers that need attention or sit out for long are probed
// with GET /v1/models (no tokens spent) on the probe clock, and come back on
// success; short cooldowns are left to their timer; a refused probe leaves
// the provider out; a provider is probed at most once per interval.
func TestProbes(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Settings.ProbeInterval = 5 * time.Minute }, ups("A", "B", "C", "D")...)
	ctx := context.Background()
	now := time.Now()
	e.srv.health.Failed("A", health.Failure{State: health.StateNeedsAttention, Reason: "HTTP 401: invalid x-api-key"})
	e.srv.health.Failed("B", health.Failure{State: health.StateRateLimited, Reason: "HTTP 429", For: 4 * time.Hour})
	e.srv.health.Failed("C", health.Failure{State: health.StateCooling, Reason: "HTTP 529", For: time.Minute})
	e.srv.health.Failed("D", health.Failure{State: health.StateNeedsAttention, Reason: "HTTP 402"})
	e.ups["D"].SetModels(http.StatusPaymentRequired)

	events, cancel := e.srv.Subscribe()
	defer cancel()
	e.srv.probeRound(ctx, now)

	states := map[string]health.State{}
	for _, n := range []string{"A", "B", "C", "D"} {
		states[n], _ = e.srv.health.State(n)
	}
	want := map[string]health.State{"A": health.StateHealthy, "B": health.StateHealthy, "C": health.StateCooling, "D": health.StateNeedsAttention}
	for n, w := range want {
		if states[n] != w {
			t.Errorf("%s after a probe round: %s, want %s", n, states[n], w)
		}
	}
	wantProbes := map[string]int{"A": 1, "B": 1, "C": 0, "D": 1}
	for n, w := range wantProbes {
		rs := e.ups[n].Requests()
		if got := modelRequests(rs, "sk-test-"+string(rune('a'+n[0]-'A'))+"-secret"); got != w {
			t.Errorf("%s got %d probes with its key, want %d", n, got, w)
		}
		for _, r := range rs {
			if r.Path == "/v1/messages" {
				t.Errorf("%s got a messages request: a probe must spend no tokens", n)
			}
		}
	}
	select {
	case ev := <-events:
		if ev.Kind != EventProviderState || ev.State != health.StateHealthy || ev.Reason != "probe succeeded" {
			t.Errorf("first event %+v, want a recovery by probe", ev)
		}
	default:
		t.Error("no event for a provider back by probe")
	}

	// Within the interval D is not probed again; after it, it is.
	e.srv.probeRound(ctx, now.Add(time.Minute))
	if got := modelRequests(e.ups["D"].Requests(), ""); got != 1 {
		t.Errorf("D probed %d times within one interval", got)
	}
	e.ups["D"].SetModels(0, "claude-sonnet-5")
	e.srv.probeRound(ctx, now.Add(5*time.Minute))
	if st, _ := e.srv.health.State("D"); st != health.StateHealthy {
		t.Errorf("D after a successful probe one interval later: %s", st)
	}
}

// TestProbeKeepsAUsedUpWindow: a probe that answers but whose headers say
// the window is still used up does not bring the provider back.
func TestProbeKeepsAUsedUpWindow(t *testing.T) {
	reset := time.Now().Add(3 * time.Hour)
	used := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Anthropic-Ratelimit-Unified-Status", "rejected")
		w.Header().Set("Anthropic-Ratelimit-Unified-Reset", unix(reset))
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"data":[{"type":"model","id":"claude-sonnet-5"}],"has_more":false}`))
	}
	hs := httptest.NewServer(http.HandlerFunc(used))
	defer hs.Close()
	e := newEnv(t, nil, upSpec{name: "S", url: hs.URL})
	e.srv.health.Failed("S", health.Failure{State: health.StateRateLimited, Reason: "HTTP 429", For: 3 * time.Hour})
	e.srv.probeRound(context.Background(), time.Now())
	if st, _ := e.srv.health.State("S"); st != health.StateRateLimited {
		t.Errorf("S is %s, want still rate_limited", st)
	}
}

// TestProbeKeys: with several keys, each key that is out is probed with
// itself, and comes back alone.
func TestProbeKeys(t *testing.T) {
	e := newEnv(t, withKeys("A", threeKeys...), ups("A")...)
	e.srv.health.Failed("A#2", health.Failure{State: health.StateNeedsAttention, Reason: "HTTP 401"})
	e.srv.probeRound(context.Background(), time.Now())
	if got := modelRequests(e.ups["A"].Requests(), "sk-key-two-secret"); got != 1 || modelRequests(e.ups["A"].Requests(), "") != 1 {
		t.Errorf("probes: %d with key 2, %d in all; want one, with key 2", got, modelRequests(e.ups["A"].Requests(), ""))
	}
	if st, _ := e.srv.health.State("A#2"); st != health.StateHealthy {
		t.Errorf("key 2 after its probe: %s", st)
	}
}

// TestModelsOpenAI lists an OpenAI-compatible provider's models through
// its base_url, with a Bearer key.
func TestListModels(t *testing.T) {
	o := fake.NewOpenAI("O")
	o.SetModels(0, "gpt-5", "gpt-4.1")
	hs := httptest.NewServer(o)
	defer hs.Close()
	p := config.Provider{Name: "O", Type: config.TypeOpenAI, BaseURL: hs.URL + "/v1", AuthValue: "sk-o-secret", Enabled: true}
	ids, err := ListModels(context.Background(), p, config.Defaults())
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0] != "gpt-4.1" || ids[1] != "gpt-5" {
		t.Errorf("models %v", ids)
	}
	r := o.Requests()[0]
	if r.Path != "/v1/models" || r.Header.Get("Authorization") != "Bearer sk-o-secret" {
		t.Errorf("request %s with auth %q", r.Path, r.Header.Get("Authorization"))
	}
	o.SetModels(401)
	// A refusal names the provider and the URL asked, and stays a
	// *ModelsError for callers that look at its status.
	_, err = ListModels(context.Background(), p, config.Defaults())
	var me *ModelsError
	if want := "provider O: listing models at " + hs.URL + "/v1/models?limit=1000: HTTP 401: Unauthorized"; err == nil || err.Error() != want || !errors.As(err, &me) || me.Status != 401 {
		t.Errorf("refused: %v, want %s", err, want)
	}
}
