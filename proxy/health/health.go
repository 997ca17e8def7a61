// Package health tracks each provider's runtime state (DESIGN.md section 10,
// "Provider states"): healthy, cooling, rate limited, needs attention or
// budget reached, with counters and latency. State is keyed by provider name
// and lives outside the configuration, so it survives a reload.
package health

import (
	"slices"
	"sync"
	"time"
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
}

// Transition is a change of a provider's state, reported to the Tracker's
// callback.
type Transition struct {
	Provider string
	State    State
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
	Requests     int64
	Failures     int64
	LastSuccess  time.Time
	LatencyP50   time.Duration
	LatencyP99   time.Duration
}

// Available reports whether the provider is in rotation (healthy).
func (s Status) Available() bool { return s.State == StateHealthy }

// latencyWindow is how many recent latencies the percentiles are computed over.
const latencyWindow = 256

type provider struct {
	state       State
	until       time.Time
	reason      string
	failures    int
	lastFailure time.Time
	lastError   string
	lastSuccess time.Time
	requests    int64
	failed      int64
	lat         [latencyWindow]time.Duration
	latN        int
	timer       *time.Timer
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
		p = &provider{state: StateHealthy}
		t.m[name] = p
	}
	return p
}

// State returns the provider's state and when it ends by itself (zero when
// it has no timer).
func (t *Tracker) State(name string) (State, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.m[name]; p != nil {
		return p.state, p.until
	}
	return StateHealthy, time.Time{}
}

// Failed records a failed attempt and, when f.State outranks the current
// state (or equals it with a later end), moves the provider there.
func (t *Tracker) Failed(name string, f Failure) {
	now := time.Now()
	t.change(name, func(p *provider) *Transition {
		p.failures++
		p.failed++
		p.lastFailure = now
		p.lastError = f.Reason
		if f.State == "" || f.State == StateHealthy {
			return nil
		}
		var until time.Time
		if f.State != StateNeedsAttention && f.For > 0 {
			until = now.Add(f.For)
		}
		if !outranks(f.State, until, p) {
			return nil
		}
		return t.enterLocked(name, p, f.State, f.Reason, until)
	})
}

// Hold puts the provider in state until the given time, whatever it was in,
// unless it is in a state of higher rank. It is for states that are not
// failures: a budget spent, quota headers that say the window is used up.
func (t *Tracker) Hold(name string, state State, reason string, until time.Time) {
	t.change(name, func(p *provider) *Transition {
		if !outranks(state, until, p) {
			return nil
		}
		return t.enterLocked(name, p, state, reason, until)
	})
}

// change runs f on the provider's record under the lock and reports the
// transition it returns, if any, once the lock is released. Nothing changes
// after Close.
func (t *Tracker) change(name string, f func(p *provider) *Transition) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	tr := f(t.get(name))
	t.mu.Unlock()
	t.notify(tr)
}

// outranks reports whether entering state until the given time keeps p out
// longer than what it is in now: a state of higher rank, or one of the same
// rank that ends later (rate limit and budget share a rank).
func outranks(state State, until time.Time, p *provider) bool {
	if state.rank() != p.state.rank() {
		return state.rank() > p.state.rank()
	}
	return !p.until.IsZero() && until.After(p.until)
}

// enterLocked moves p to state and arms the timer that ends it.
func (t *Tracker) enterLocked(name string, p *provider, state State, reason string, until time.Time) *Transition {
	prev := p.state
	p.state, p.reason, p.until = state, reason, until
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	if !until.IsZero() {
		p.timer = time.AfterFunc(time.Until(until), func() { t.expire(name, until) })
	}
	return &Transition{Provider: name, State: state, Prev: prev, Reason: reason, Until: until}
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
	p := t.m[name]
	if t.closed || p == nil || !p.until.Equal(until) || p.state == StateHealthy {
		t.mu.Unlock()
		return
	}
	tr := t.leaveLocked(name, p, endReason(p.state))
	t.mu.Unlock()
	t.notify(tr)
}

// leaveLocked returns p to healthy.
func (t *Tracker) leaveLocked(name string, p *provider, reason string) *Transition {
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	if p.state == StateHealthy {
		return nil
	}
	prev := p.state
	p.state, p.reason, p.until = StateHealthy, "", time.Time{}
	return &Transition{Provider: name, State: StateHealthy, Prev: prev, Reason: reason}
}

// Succeeded records a served request and its latency (time to response
// headers). A success is proof the provider works: it clears the
// consecutive-failure count and every failure state. A spent budget stays.
func (t *Tracker) Succeeded(name string, latency time.Duration) {
	now := time.Now()
	t.change(name, func(p *provider) *Transition {
		p.requests++
		p.failures = 0
		p.lastSuccess = now
		p.lat[p.latN%latencyWindow] = latency
		p.latN++
		if p.state == StateBudgetReached {
			return nil
		}
		return t.leaveLocked(name, p, "served a request")
	})
}

// Reset returns a provider to healthy with the given reason ("retried by
// hand", "provider changed by reload", "probe succeeded") and clears its
// consecutive failures.
func (t *Tracker) Reset(name, reason string) {
	t.change(name, func(p *provider) *Transition {
		p.failures = 0
		return t.leaveLocked(name, p, reason)
	})
}

// Forget drops everything known about a provider (it left the configuration).
func (t *Tracker) Forget(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.m[name]; p != nil && p.timer != nil {
		p.timer.Stop()
	}
	delete(t.m, name)
}

func (t *Tracker) notify(tr *Transition) {
	if tr != nil && t.onChange != nil {
		t.onChange(*tr)
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
		LastSuccess:  p.lastSuccess,
		Requests:     p.requests,
		Failures:     p.failed,
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
		if p.timer != nil {
			p.timer.Stop()
			p.timer = nil
		}
	}
}
