package route

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/ccbalancer/ccbalancer/proxy/health"
)

// keyTurns holds one round-robin counter per provider with several keys.
type keyTurns struct{ m sync.Map } // provider -> *atomic.Uint64

// Key picks which of a provider's n keys (n > 1) serves a request, whatever
// the strategy between providers (DESIGN.md section 10): the key the
// session used last while it is healthy (prompt caching is per key); else
// the next healthy key in turn; else a cooling one, soonest back first.
// Keys for which skip is true (already tried for this request) and keys
// rate limited, rejected or over budget are passed over; -1 when none is left.
func (s *Selector) Key(provider string, n int, session string, h Health, skip func(int) bool) int {
	state := func(i int) (health.State, time.Time) { return h.State(health.KeyName(provider, i)) }
	if session != "" {
		if p, k, ok := s.sessions.get(session); ok && p == provider && k < n && !skip(k) {
			if st, _ := state(k); st == health.StateHealthy {
				return k
			}
		}
	}
	c, _ := s.keys.m.LoadOrStore(provider, new(atomic.Uint64))
	start := int((c.(*atomic.Uint64).Add(1) - 1) % uint64(n))
	best, bestUntil := -1, time.Time{}
	for j := range n {
		i := (start + j) % n
		if skip(i) {
			continue
		}
		switch st, until := state(i); st {
		case health.StateHealthy:
			return i
		case health.StateCooling:
			if best < 0 || until.Before(bestUntil) {
				best, bestUntil = i, until
			}
		}
	}
	return best
}
