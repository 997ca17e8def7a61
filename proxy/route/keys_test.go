package route

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy/health"
)

// keyHealth answers states by name (keys by health.KeyName) and which
// providers are close to their limit.
type keyHealth struct {
	states map[string]health.State
	until  map[string]time.Time
	near   map[string]bool
}

func (h keyHealth) State(p string) (health.State, time.Time) {
	if s, ok := h.states[p]; ok {
		return s, h.until[p]
	}
	return health.StateHealthy, time.Time{}
}

func (h keyHealth) NearLimit(p string) bool { return h.near[p] }

func TestKeyChoice(t *testing.T) {
	t.Parallel()
	none := func(int) bool { return false }
	s := NewSelector()
	h := keyHealth{states: map[string]health.State{"P#2": health.StateRateLimited}}
	var got []int
	for range 4 {
		got = append(got, s.Key("P", 3, "", h, none))
	}
	if diff := cmp.Diff([]int{0, 2, 2, 0}, got); diff != "" {
		t.Errorf("keys in turn, key 2 rate limited (-want +got):\n%s", diff)
	}
	// A session stays on its key while it is healthy.
	s.ServedKey("sess", "P", 2)
	for range 3 {
		if k := s.Key("P", 3, "sess", h, none); k != 2 {
			t.Fatalf("session key %d, want 2", k)
		}
	}
	h.states["P#3"] = health.StateNeedsAttention
	if k := s.Key("P", 3, "sess", h, none); k != 0 {
		t.Errorf("session key out: got %d, want the healthy key 0", k)
	}
	// Only cooling keys left: the soonest back; all out or tried: -1.
	now := time.Now()
	h = keyHealth{states: map[string]health.State{"P#1": health.StateCooling, "P#2": health.StateCooling, "P#3": health.StateNeedsAttention},
		until: map[string]time.Time{"P#1": now.Add(time.Minute), "P#2": now.Add(time.Second)}}
	if k := s.Key("P", 3, "", h, none); k != 1 {
		t.Errorf("cooling keys: got %d, want 1 (back sooner)", k)
	}
	if k := s.Key("P", 3, "", h, func(i int) bool { return i < 2 }); k != -1 {
		t.Errorf("every usable key tried: got %d, want -1", k)
	}
}

func TestNearLimitGoesLast(t *testing.T) {
	t.Parallel()
	r := &config.Route{Pattern: "*", Entries: entries("A", "B", "C")}
	h := keyHealth{near: map[string]bool{"A": true}}
	var got []string
	for _, e := range NewSelector().Order(r, config.StrategyPriority, "", h) {
		got = append(got, e.Provider)
	}
	if diff := cmp.Diff([]string{"B", "C", "A"}, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}
