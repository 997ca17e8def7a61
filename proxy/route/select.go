package route

import (
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy/health"
)

// Health answers a provider's state and when it ends (zero: no timer), and
// whether it is close to its rate limit (a share of its window used that
// the settings call close: quota_near_limit). State also answers a key's
// state by its health.KeyName.
type Health interface {
	State(provider string) (health.State, time.Time)
	NearLimit(provider string) bool
}

// Selector orders a route's entries for one request. It keeps the
// round-robin counters and the session-to-provider memory; it is safe for
// concurrent use and survives reloads (state is keyed by route pattern and
// provider name).
type Selector struct {
	rr       sync.Map // route pattern -> *atomic.Uint64
	keys     keyTurns
	sessions sessions
}

// NewSelector returns a Selector.
func NewSelector() *Selector {
	return &Selector{sessions: sessions{m: make(map[string]sessionEntry)}}
}

// Order returns the route's entries in the order to try them (DESIGN.md
// section 10): healthy providers first, ordered by strategy (sticky session
// first for round_robin and random), those close to their rate limit after
// the others, then cooling ones, soonest back first. Providers rate
// limited, needing attention or over budget are left out.
func (s *Selector) Order(r *config.Route, strategy config.Strategy, session string, h Health) []config.RouteEntry {
	var ready, cooling []config.RouteEntry
	until := make(map[string]time.Time, len(r.Entries))
	for _, e := range r.Entries {
		switch st, u := h.State(e.Provider); st {
		case health.StateHealthy, "":
			ready = append(ready, e)
		case health.StateCooling:
			until[e.Provider] = u
			cooling = append(cooling, e)
		}
	}
	byPriority := func(a, b config.RouteEntry) int { return a.Priority - b.Priority }
	slices.SortStableFunc(ready, byPriority)
	switch strategy {
	case config.StrategyRoundRobin:
		if len(ready) > 1 {
			c, _ := s.rr.LoadOrStore(r.Pattern, new(atomic.Uint64))
			k := int((c.(*atomic.Uint64).Add(1) - 1) % uint64(len(ready)))
			ready = append(ready[k:], ready[:k]...)
		}
	case config.StrategyRandom:
		rand.Shuffle(len(ready), func(i, j int) { ready[i], ready[j] = ready[j], ready[i] })
	}
	if strategy != config.StrategyPriority && session != "" {
		if p, _, ok := s.sessions.get(session); ok {
			if i := slices.IndexFunc(ready, func(e config.RouteEntry) bool { return e.Provider == p }); i > 0 {
				e := ready[i]
				ready = slices.Delete(ready, i, i+1)
				ready = slices.Insert(ready, 0, e)
			}
		}
	}
	// A provider close to its limit is still in rotation, but goes behind
	// the others before its window runs out.
	if len(ready) > 1 {
		var near []config.RouteEntry
		ready = slices.DeleteFunc(ready, func(e config.RouteEntry) bool {
			if h.NearLimit(e.Provider) {
				near = append(near, e)
				return true
			}
			return false
		})
		ready = append(ready, near...)
	}
	slices.SortStableFunc(cooling, func(a, b config.RouteEntry) int {
		return until[a.Provider].Compare(until[b.Provider])
	})
	return append(ready, cooling...)
}

// Served records that provider served the session, so its next requests stay there.
func (s *Selector) Served(session, provider string) { s.ServedKey(session, provider, 0) }

// ServedKey records that key (from 0) of provider served the session: its
// next requests stay on that key (prompt caching is per key).
func (s *Selector) ServedKey(session, provider string, key int) {
	if session != "" {
		s.sessions.put(session, provider, key)
	}
}

// Session memory is bounded: past maxSessions, entries idle longer than
// sessionIdle are dropped, and if that is not enough, the oldest half.
const (
	maxSessions = 4096
	sessionIdle = 2 * time.Hour
)

type sessionEntry struct {
	provider string
	key      int
	used     time.Time
}

type sessions struct {
	mu sync.Mutex
	m  map[string]sessionEntry
}

func (s *sessions) get(id string) (provider string, key int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[id]
	return e.provider, e.key, ok
}

func (s *sessions) put(id, provider string, key int) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[id]; !ok && len(s.m) >= maxSessions {
		s.pruneLocked(now)
	}
	s.m[id] = sessionEntry{provider: provider, key: key, used: now}
}

func (s *sessions) pruneLocked(now time.Time) {
	for id, e := range s.m {
		if now.Sub(e.used) > sessionIdle {
			delete(s.m, id)
		}
	}
	if len(s.m) < maxSessions {
		return
	}
	times := make([]time.Time, 0, len(s.m))
	for _, e := range s.m {
		times = append(times, e.used)
	}
	slices.SortFunc(times, time.Time.Compare)
	cut := times[len(times)/2]
	for id, e := range s.m {
		if e.used.Before(cut) {
			delete(s.m, id)
		}
	}
}

// Session returns the provider and key (from 0) that served the session
// last; ok is false for a session not seen (or forgotten).
func (s *Selector) Session(id string) (provider string, key int, ok bool) {
	return s.sessions.get(id)
}

// Len returns how many sessions are remembered.
func (s *Selector) Len() int {
	s.sessions.mu.Lock()
	defer s.sessions.mu.Unlock()
	return len(s.sessions.m)
}
