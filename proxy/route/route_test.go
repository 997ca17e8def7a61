package route

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy/health"
)

func entries(names ...string) []config.RouteEntry {
	var es []config.RouteEntry
	for i, n := range names {
		es = append(es, config.RouteEntry{Provider: n, Model: config.Passthrough, Priority: i + 1})
	}
	return es
}

func TestGlob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*sonnet*", "claude-sonnet-5", true},
		{"*sonnet*", "claude-opus-4-8", false},
		{"claude-?-x", "claude-3-x", true},
		{"claude-?-x", "claude-33-x", false},
		{"*", "", true},
		{"*", "anything/with/slashes", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"*haiku", "claude-haiku-4-5-20251001", false},
		{"*haiku*", "claude-haiku-4-5-20251001", true},
		{"exact", "exact", true},
		{"exact", "exactly", false},
		{"**a", "bba", true},
	}
	for _, tt := range tests {
		if got := Glob(tt.pattern, tt.name); got != tt.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestTableMatch(t *testing.T) {
	t.Parallel()
	routes := []config.Route{
		{Pattern: "*opus*", Entries: entries("O")},
		{Pattern: "*sonnet*", Entries: entries("S")},
		{Pattern: "claude-sonnet-special", Entries: entries("X")},
		{Pattern: "*", Entries: entries("Any")},
	}
	tests := []struct {
		name, def, model string
		want             string
		wantDefault      bool
	}{
		{"exact wins over an earlier pattern", "", "claude-sonnet-special", "claude-sonnet-special", false},
		{"exact is case-insensitive", "", "Claude-Sonnet-SPECIAL", "claude-sonnet-special", false},
		{"pattern in file order", "", "claude-opus-sonnet", "*opus*", false},
		{"pattern case-insensitive", "", "CLAUDE-OPUS-4-8", "*opus*", false},
		{"catch-all pattern", "", "gpt-5", "*", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, isDef := NewTable(routes, tt.def).Match(tt.model)
			if r == nil || r.Pattern != tt.want || isDef != tt.wantDefault {
				t.Fatalf("Match(%q) = %+v, %v; want %q, %v", tt.model, r, isDef, tt.want, tt.wantDefault)
			}
		})
	}
}

func TestTableDefaultRoute(t *testing.T) {
	t.Parallel()
	noCatchAll := []config.Route{{Pattern: "*opus*"}, {Pattern: "*sonnet*"}, {Pattern: "*haiku*"}}
	tests := []struct {
		name   string
		routes []config.Route
		def    string
		want   string
	}{
		{"first sonnet route", noCatchAll, "", "*sonnet*"},
		{"configured default", noCatchAll, "*haiku*", "*haiku*"},
		{"first route when no sonnet", []config.Route{{Pattern: "a*"}, {Pattern: "b*"}}, "", "a*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, isDef := NewTable(tt.routes, tt.def).Match("some-unknown-model")
			if r == nil || r.Pattern != tt.want || !isDef {
				t.Fatalf("Match = %+v, %v; want default %q", r, isDef, tt.want)
			}
		})
	}
	if r, _ := NewTable(nil, "").Match("x"); r != nil {
		t.Errorf("empty table matched %+v", r)
	}
}

// fakeHealth: a provider with a time is cooling until then; states names
// other states.
type fakeHealth map[string]time.Time

func (f fakeHealth) State(p string) (health.State, time.Time) {
	if u, ok := f[p]; ok && u.After(time.Now()) {
		return health.StateCooling, u
	}
	return health.StateHealthy, time.Time{}
}

type stateHealth map[string]health.State

func (f stateHealth) State(p string) (health.State, time.Time) {
	if s, ok := f[p]; ok {
		return s, time.Time{}
	}
	return health.StateHealthy, time.Time{}
}

func TestOrderSkipsStatesOutOfRotation(t *testing.T) {
	t.Parallel()
	r := &config.Route{Pattern: "*", Entries: entries("A", "B", "C", "D", "E")}
	h := stateHealth{"A": health.StateNeedsAttention, "B": health.StateRateLimited, "C": health.StateBudgetReached, "D": health.StateCooling}
	for _, strategy := range config.Strategies {
		got := names(NewSelector().Order(r, strategy, "", h))
		if diff := cmp.Diff([]string{"E", "D"}, got); diff != "" {
			t.Errorf("%s: order (-want +got):\n%s", strategy, diff)
		}
	}
}

func names(es []config.RouteEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Provider)
	}
	return out
}

func TestOrderPriority(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		r := &config.Route{Pattern: "*", Entries: []config.RouteEntry{
			{Provider: "C", Priority: 3}, {Provider: "A", Priority: 1}, {Provider: "B", Priority: 2}, {Provider: "D", Priority: 4},
		}}
		s := NewSelector()
		h := fakeHealth{"A": now.Add(time.Minute), "D": now.Add(time.Second)}
		// Healthy by priority, then cooling soonest-back first; a session never
		// changes the priority order.
		s.Served("sess", "C")
		got := names(s.Order(r, config.StrategyPriority, "sess", h))
		if diff := cmp.Diff([]string{"B", "C", "D", "A"}, got); diff != "" {
			t.Errorf("order (-want +got):\n%s", diff)
		}
	})
}

func TestOrderRoundRobin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &config.Route{Pattern: "*", Entries: entries("A", "B", "C")}
		s := NewSelector()
		h := fakeHealth{}
		var firsts []string
		for range 6 {
			firsts = append(firsts, s.Order(r, config.StrategyRoundRobin, "", h)[0].Provider)
		}
		if diff := cmp.Diff([]string{"A", "B", "C", "A", "B", "C"}, firsts); diff != "" {
			t.Errorf("round robin (-want +got):\n%s", diff)
		}
		// Cooling providers are skipped by the rotation and go last.
		h["B"] = time.Now().Add(time.Minute)
		for range 4 {
			got := names(s.Order(r, config.StrategyRoundRobin, "", h))
			if got[2] != "B" {
				t.Fatalf("cooling B not last: %v", got)
			}
		}
	})
}

func TestOrderRandomCoversAll(t *testing.T) {
	t.Parallel()
	r := &config.Route{Pattern: "*", Entries: entries("A", "B", "C")}
	s := NewSelector()
	seen := map[string]int{}
	for range 300 {
		got := s.Order(r, config.StrategyRandom, "", fakeHealth{})
		if len(got) != 3 {
			t.Fatalf("order lost entries: %v", names(got))
		}
		seen[got[0].Provider]++
	}
	for _, p := range []string{"A", "B", "C"} {
		if seen[p] < 50 {
			t.Errorf("random picked %s first %d/300 times", p, seen[p])
		}
	}
}

func TestStickySessions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &config.Route{Pattern: "*", Entries: entries("A", "B", "C")}
		for _, strategy := range []config.Strategy{config.StrategyRoundRobin, config.StrategyRandom} {
			s := NewSelector()
			h := fakeHealth{}
			s.Served("s1", "B")
			for range 10 {
				if got := s.Order(r, strategy, "s1", h)[0].Provider; got != "B" {
					t.Fatalf("%s: session s1 went to %s, want B", strategy, got)
				}
			}
			// While B cools down the session moves on; it is not sent to a broken provider.
			h["B"] = time.Now().Add(time.Minute)
			if got := s.Order(r, strategy, "s1", h)[0].Provider; got == "B" {
				t.Fatalf("%s: session stuck to cooling provider", strategy)
			}
		}
	})
}

func TestSessionMemoryBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSelector()
		for i := range 3 * maxSessions {
			s.Served(fmt.Sprint("s", i), "A")
			if i%100 == 0 {
				time.Sleep(time.Second)
			}
		}
		if n := s.Len(); n > maxSessions {
			t.Fatalf("remembered %d sessions, bound %d", n, maxSessions)
		}
		if p, _, ok := s.sessions.get(fmt.Sprint("s", 3*maxSessions-1)); !ok || p != "A" {
			t.Fatal("newest session was dropped")
		}
	})
}

func (fakeHealth) NearLimit(string) bool  { return false }
func (stateHealth) NearLimit(string) bool { return false }
