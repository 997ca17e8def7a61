// Package health tracks each provider's runtime state (DESIGN.md section 10,
// "Provider states"): healthy, cooling, rate limited, needs attention or
// budget reached, with counters and latency. State is keyed by provider name
// and lives outside the configuration, so it survives a reload.
//
// A provider with several keys (SetKeys) has a state per key, addressed as
// KeyName(provider, i) ("name#1", "name#2", ...): a key that is rejected or
// rate limited sits out on its own, and the provider's state is the best of
// its keys' (DESIGN.md section 10), so that everything that reads a
// provider's state (selection, /providers, the tray) goes on reading it by
// the provider's name.
package health

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ccbalancer/ccbalancer/proxy/quota"
)

// State is a provider's state. The zero value is not a state; a provider the
// Tracker has never seen is StateHealthy.
type State string

// Provider states, as DESIGN.md section 10 defines them. Every consumer
// (/providers, the tray, notifications, selection) reads these same values.
const (
	// StateHealthy: in rotation.
	StateHealthy State = "healthy"
	// StateCooling: a transient failure (connection, timeout, 5xx, 529, 3xx,
	// cut stream). Tried only when nothing else is left, until its timer ends.
	StateCooling State = "cooling"
	// StateRateLimited: 429, or quota headers saying the window is used up.
	// Skipped until the window resets.
	StateRateLimited State = "rate_limited"
	// StateNeedsAttention: the key was rejected (401/403) or the account has
	// no credit (402, billing errors). Skipped; no timer ends it, only a real
	// success (a probe, "Retry now", or a reload that changes the provider).
	StateNeedsAttention State = "needs_attention"
	// StateBudgetReached: the provider's own budget is spent. Skipped until
	// the budget window resets.
	StateBudgetReached State = "budget_reached"
	// StateDisabled: enabled: false in the configuration. Never tried. The
	// Tracker never holds this state; snapshots derive it from the config.
	StateDisabled State = "disabled"
)

// States lists every state, in the order of DESIGN.md section 10.
var States = []State{StateHealthy, StateCooling, StateRateLimited, StateNeedsAttention, StateBudgetReached, StateDisabled}

// rank orders states by how much they keep a provider out: a failure moves a
// provider to a state of higher rank, or extends one of the same rank.
func (s State) rank() int {
	switch s {
	case StateCooling:
		return 1
	case StateRateLimited, StateBudgetReached:
		return 2
	case StateNeedsAttention:
		return 3
	}
	return 0
}

// Usable reports whether selection may try a provider in this state at all:
// healthy ones in rotation, cooling ones as a last resort.
func (s State) Usable() bool { return s == StateHealthy || s == StateCooling || s == "" }

// Failure is one failed attempt as the Tracker needs it.
type Failure struct {
	// State is the state the failure puts the provider in; "" counts the
	// failure without changing the state (a 404, a request the provider's
	// format cannot carry).
	State State
	// Reason is short, human and secret-free: "HTTP 401: invalid x-api-key".
	Reason string
	// For is how long the state lasts (cooling, rate limited); it is ignored
	// for StateNeedsAttention, which has no timer.
	For time.Duration
	// Status is the upstream's HTTP status, 0 when there was none: it tells
	// a rejected key (401, 403) from an empty account (402, billing errors)
	// within needs_attention.
	Status int
}

// Transition is a change of a provider's state, reported to the Tracker's
// callback.
type Transition struct {
	Provider string
	// Key is 0 for the provider's own state; for a change of one key's state
	// (that did not change the provider's), the key's number from 1.
	Key   int
	State State
	// Prev is the state left.
	Prev   State
	Reason string
	// Until is when the state ends by itself; zero when it has no timer.
	Until time.Time
}

// Status is a copy of one provider's state.
type Status struct {
	State State
	// Until is when State ends by itself (zero for healthy and needs_attention).
	Until time.Time
	// Reason is why the provider is in State ("" when healthy).
	Reason       string
	FailureCount int // consecutive failures
	LastFailure  time.Time
	LastError    string
	// LastStatus is the HTTP status of the last failure (0 if it had none).
	LastStatus  int
	Requests    int64
	Failures    int64
	LastSuccess time.Time
	LatencyP50  time.Duration
	LatencyP99  time.Duration
	// Quota is what the provider's last answer said about its limits, read
	// at QuotaAt (zero when no answer carried limit headers).
	Quota   quota.Info
	QuotaAt time.Time
	// Keys holds each key's state when the provider has several (nil
	// otherwise); Key is its number from 1.
	Keys []KeyStatus
}

// KeyStatus is the state of one of a provider's keys.
type KeyStatus struct {
	Key    int
	State  State
	Until  time.Time
	Reason string
}

// Available reports whether the provider is in rotation (healthy).
func (s Status) Available() bool { return s.State == StateHealthy }

// latencyWindow is how many recent latencies the percentiles are computed over.
const latencyWindow = 256

// slot is one state with its timer: a provider's, or one of its keys'.
type slot struct {
	state  State
	until  time.Time
	reason string
	timer  *time.Timer
}

type provider struct {
	slot
	// keys, when the provider has several, each hold their own state; the
	// provider's slot is then derived from them (derive) and has no timer.
	keys        []*slot
	quota       quota.Info
	quotaAt     time.Time
	failures    int
	lastFailure time.Time
	lastError   string
	lastStatus  int
	lastSuccess time.Time
	requests    int64
	failed      int64
	lat         [latencyWindow]time.Duration
	latN        int
}

// Tracker holds every provider's state. It is safe for concurrent use. Time
// comes from the time package, so tests run it under testing/synctest.
type Tracker struct {
	mu       sync.Mutex
	m        map[string]*provider
	onChange func(Transition)
	closed   bool
}

// New returns a Tracker. onChange, if not nil, is called (outside the lock,
// from the goroutine that caused the change or from a timer) on every
// transition.
func New(onChange func(Transition)) *Tracker {
	return &Tracker{m: make(map[string]*provider), onChange: onChange}
}

func (t *Tracker) get(name string) *provider {
	p := t.m[name]
	if p == nil {
		p = &provider{slot: slot{state: StateHealthy}}
		t.m[name] = p
	}
	return p
}

// KeyName names key i (from 0) of a provider with several keys: "name#1"
// for the first. The Tracker's methods take it wherever they take a name.
func KeyName(provider string, i int) string { return provider + "#" + strconv.Itoa(i+1) }

// lookup resolves a name to its provider record and the slot the name
// addresses: the provider's own, or one key's (key from 1; 0 for the
// provider). A "#n" suffix names a key only when the provider has that key.
func (t *Tracker) lookup(name string) (p *provider, prov string, key int) {
	if i := strings.LastIndexByte(name, '#'); i > 0 {
		if n, err := strconv.Atoi(name[i+1:]); err == nil && n >= 1 {
			if kp := t.m[name[:i]]; kp != nil && n <= len(kp.keys) {
				return kp, name[:i], n
			}
		}
	}
	return t.get(name), name, 0
}

// SetKeys says how many keys the provider has. With more than one, each has
// its own state from then on; a change of the count starts every key
// afresh. One or none: the provider has a single state.
func (t *Tracker) SetKeys(name string, n int) {
	t.change(name, func(p *provider) []*Transition {
		if n <= 1 {
			n = 0
		}
		if len(p.keys) == n {
			return nil
		}
		for _, k := range p.keys {
			stopTimer(k)
		}
		p.keys = nil
		for range n {
			p.keys = append(p.keys, &slot{state: StateHealthy})
		}
		if n > 0 {
			stopTimer(&p.slot)
		}
		return []*Transition{t.derive(name, p, p.state, p.until)}
	})
}

// State returns the state of a provider (or of one key, by KeyName) and
// when it ends by itself (zero when it has no timer).
func (t *Tracker) State(name string) (State, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i := strings.LastIndexByte(name, '#'); i > 0 {
		if p := t.m[name[:i]]; p != nil && len(p.keys) > 0 {
			if n, err := strconv.Atoi(name[i+1:]); err == nil && n >= 1 && n <= len(p.keys) {
				return p.keys[n-1].state, p.keys[n-1].until
			}
		}
	}
	if p := t.m[name]; p != nil {
		return p.state, p.until
	}
	return StateHealthy, time.Time{}
}

// Used is the share of the provider's rate-limit windows used, 0 to 1, as
// its last answer's headers said, counting only windows that had not reset
// by now; 0 when nothing is known.
func (t *Tracker) Used(name string, now time.Time) float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, _, _ := t.lookupRead(name)
	if p == nil {
		return 0
	}
	return max(p.quota.UsedAt(now), 0)
}

// lookupRead is lookup without creating a record for an unknown name.
func (t *Tracker) lookupRead(name string) (*provider, string, int) {
	if t.m[name] == nil && !strings.Contains(name, "#") {
		return nil, name, 0
	}
	p, prov, key := t.lookup(name)
	return p, prov, key
}

// Observe keeps what an answer's headers said about the provider's limits
// (name may be a key's; the provider keeps the last one seen).
func (t *Tracker) Observe(name string, info quota.Info) {
	if info.Empty() {
		return
	}
	now := time.Now()
	t.change(name, func(p *provider) []*Transition {
		p.quota, p.quotaAt = info, now
		return nil
	})
}

// Failed records a failed attempt and, when f.State outranks the current
// state (or equals it with a later end), moves the provider there. name may
// be a key's (KeyName): the key alone enters the state. A provider's own
// name, when it has several keys, puts every key there (a failure of the
// provider itself: connection, timeout, 5xx).
func (t *Tracker) Failed(name string, f Failure) {
	now := time.Now()
	t.change(name, func(p *provider) []*Transition {
		p.failures++
		p.failed++
		p.lastFailure = now
		p.lastError = f.Reason
		p.lastStatus = f.Status
		if f.State == "" || f.State == StateHealthy {
			return nil
		}
		var until time.Time
		if f.State != StateNeedsAttention && f.For > 0 {
			until = now.Add(f.For)
		}
		return t.enter(name, p, f.State, f.Reason, until)
	})
}

// Hold puts the provider (or one key, by KeyName) in state until the given
// time, unless it is in a state of higher rank. It is for states that are
// not failures: a budget spent, quota headers that say the window is used up.
func (t *Tracker) Hold(name string, state State, reason string, until time.Time) {
	t.change(name, func(p *provider) []*Transition {
		return t.enter(name, p, state, reason, until)
	})
}

// enter moves the slots that name addresses to state when it outranks what
// each is in, and derives the provider's state from its keys.
func (t *Tracker) enter(name string, p *provider, state State, reason string, until time.Time) []*Transition {
	_, prov, key := t.lookup(name)
	if len(p.keys) == 0 {
		if !outranks(state, until, &p.slot) {
			return nil
		}
		prev := p.state
		t.arm(prov, &p.slot, state, reason, until)
		return []*Transition{{Provider: prov, State: state, Prev: prev, Reason: reason, Until: until}}
	}
	prevState, prevUntil := p.state, p.until
	var out []*Transition
	for i, k := range p.keys {
		if (key != 0 && i+1 != key) || !outranks(state, until, k) {
			continue
		}
		prev := k.state
		t.arm(KeyName(prov, i), k, state, reason, until)
		if key != 0 {
			out = append(out, &Transition{Provider: prov, Key: key, State: state, Prev: prev, Reason: reason, Until: until})
		}
	}
	return append(out, t.derive(prov, p, prevState, prevUntil))
}

// derive sets a provider with keys to the best of its keys' states (the
// lowest rank; the soonest end among equals) and returns the transition, if
// that changed the provider's state or its end.
func (t *Tracker) derive(prov string, p *provider, prevState State, prevUntil time.Time) *Transition {
	if len(p.keys) == 0 {
		return nil
	}
	best := 0
	for i, k := range p.keys {
		b := p.keys[best]
		if k.state.rank() < b.state.rank() || k.state.rank() == b.state.rank() && k.until.Before(b.until) {
			best = i
		}
	}
	k := p.keys[best]
	p.state, p.until, p.reason = k.state, k.until, ""
	if k.state != StateHealthy {
		p.reason = fmt.Sprintf("every key out; key %d of %d: %s", best+1, len(p.keys), k.reason)
	}
	if p.state == prevState && p.until.Equal(prevUntil) {
		return nil
	}
	return &Transition{Provider: prov, State: p.state, Prev: prevState, Reason: p.reason, Until: p.until}
}

// change runs f on the record of the provider that name addresses, under
// the lock, and reports the transitions it returns once the lock is
// released. Nothing changes after Close.
func (t *Tracker) change(name string, f func(p *provider) []*Transition) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	p, _, _ := t.lookup(name)
	trs := f(p)
	t.mu.Unlock()
	t.notify(trs)
}

// outranks reports whether entering state until the given time keeps s out
// longer than what it is in now: a state of higher rank, or one of the same
// rank that ends later (rate limit and budget share a rank).
func outranks(state State, until time.Time, s *slot) bool {
	if state.rank() != s.state.rank() {
		return state.rank() > s.state.rank()
	}
	return !s.until.IsZero() && until.After(s.until)
}

// arm moves s to state and arms the timer that ends it; name addresses s.
func (t *Tracker) arm(name string, s *slot, state State, reason string, until time.Time) {
	s.state, s.reason, s.until = state, reason, until
	stopTimer(s)
	if !until.IsZero() {
		s.timer = time.AfterFunc(time.Until(until), func() { t.expire(name, until) })
	}
}

func stopTimer(s *slot) {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
}

// endReason says why a state ended by its timer.
func endReason(s State) string {
	switch s {
	case StateRateLimited:
		return "rate limit window reset"
	case StateBudgetReached:
		return "budget window reset"
	}
	return "cooldown over"
}

func (t *Tracker) expire(name string, until time.Time) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	p, prov, key := t.lookup(name)
	s := &p.slot
	if key != 0 {
		s = p.keys[key-1]
	}
	if !s.until.Equal(until) || s.state == StateHealthy {
		t.mu.Unlock()
		return
	}
	trs := t.leave(prov, key, p, endReason(s.state), func(*slot) bool { return true })
	t.mu.Unlock()
	t.notify(trs)
}

// leave returns to healthy the slots that key addresses (0: the provider,
// every key of it) for which ok holds, and derives the provider's state.
func (t *Tracker) leave(prov string, key int, p *provider, reason string, ok func(*slot) bool) []*Transition {
	back := func(s *slot) (State, bool) {
		prev := s.state
		if prev == StateHealthy || !ok(s) {
			return prev, false
		}
		stopTimer(s)
		s.state, s.reason, s.until = StateHealthy, "", time.Time{}
		return prev, true
	}
	if len(p.keys) == 0 {
		if prev, moved := back(&p.slot); moved {
			return []*Transition{{Provider: prov, State: StateHealthy, Prev: prev, Reason: reason}}
		}
		return nil
	}
	prevState, prevUntil := p.state, p.until
	var out []*Transition
	for i, k := range p.keys {
		if key != 0 && i+1 != key {
			continue
		}
		if prev, moved := back(k); moved && key != 0 {
			out = append(out, &Transition{Provider: prov, Key: key, State: StateHealthy, Prev: prev, Reason: reason})
		}
	}
	tr := t.derive(prov, p, prevState, prevUntil)
	if tr != nil && tr.State == StateHealthy {
		tr.Reason = reason
	}
	return append(out, tr)
}

// Succeeded records a served request and its latency (time to response
// headers). A success is proof the provider works: it clears the
// consecutive-failure count and every failure state of the key that served
// (name may be a key's), and the cooldowns of the provider's other keys.
// A spent budget stays.
func (t *Tracker) Succeeded(name string, latency time.Duration) {
	now := time.Now()
	t.change(name, func(p *provider) []*Transition {
		p.requests++
		p.failures = 0
		p.lastSuccess = now
		p.lat[p.latN%latencyWindow] = latency
		p.latN++
		_, prov, key := t.lookup(name)
		notBudget := func(s *slot) bool { return s.state != StateBudgetReached }
		if key == 0 {
			return t.leave(prov, 0, p, "served a request", notBudget)
		}
		trs := t.leave(prov, key, p, "served a request", notBudget)
		return append(trs, t.leave(prov, 0, p, "served a request", func(s *slot) bool { return s.state == StateCooling })...)
	})
}

// Reset returns a provider (every key of it) or one key to healthy with the
// given reason ("retried by hand", "provider changed by reload", "probe
// succeeded") and clears the provider's consecutive failures.
func (t *Tracker) Reset(name, reason string) {
	t.change(name, func(p *provider) []*Transition {
		p.failures = 0
		_, prov, key := t.lookup(name)
		return t.leave(prov, key, p, reason, func(*slot) bool { return true })
	})
}

// Forget drops everything known about a provider (it left the configuration).
func (t *Tracker) Forget(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.m[name]; p != nil {
		stopTimer(&p.slot)
		for _, k := range p.keys {
			stopTimer(k)
		}
	}
	delete(t.m, name)
}

func (t *Tracker) notify(trs []*Transition) {
	if t.onChange == nil {
		return
	}
	for _, tr := range trs {
		if tr != nil {
			t.onChange(*tr)
		}
	}
}

// Status returns a copy of the provider's state.
func (t *Tracker) Status(name string) Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.m[name]
	if p == nil {
		return Status{State: StateHealthy}
	}
	st := Status{
		State:        p.state,
		Until:        p.until,
		Reason:       p.reason,
		FailureCount: p.failures,
		LastFailure:  p.lastFailure,
		LastError:    p.lastError,
		LastStatus:   p.lastStatus,
		LastSuccess:  p.lastSuccess,
		Requests:     p.requests,
		Failures:     p.failed,
		Quota:        p.quota,
		QuotaAt:      p.quotaAt,
	}
	for i, k := range p.keys {
		st.Keys = append(st.Keys, KeyStatus{Key: i + 1, State: k.state, Until: k.until, Reason: k.reason})
	}
	n := min(p.latN, latencyWindow)
	if n > 0 {
		lat := slices.Clone(p.lat[:n])
		slices.Sort(lat)
		st.LatencyP50 = lat[(n-1)*50/100]
		st.LatencyP99 = lat[(n-1)*99/100]
	}
	return st
}

// Close stops every pending timer; no callback runs after it returns.
func (t *Tracker) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	for _, p := range t.m {
		stopTimer(&p.slot)
		for _, k := range p.keys {
			stopTimer(k)
		}
	}
}
