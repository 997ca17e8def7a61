// Package health tracks each provider's runtime health: cooldowns after
// failures, counters and latency. State is keyed by provider name and lives
// outside the configuration, so it survives a reload.
package health

import (
	"slices"
	"sync"
	"time"
)

// Transition is a change of a provider's availability, reported to the
// Tracker's callback.
type Transition struct {
	Provider string
	// Down is true when the provider entered a cooldown, false when it left one.
	Down     bool
	Reason   string
	Cooldown time.Duration
}

// Status is a copy of one provider's state.
type Status struct {
	Available         bool
	FailureCount      int // consecutive failures
	LastFailure       time.Time
	CooldownUntil     time.Time
	CooldownRemaining time.Duration
	LastError         string
	Requests          int64
	Failures          int64
	LatencyP50        time.Duration
	LatencyP99        time.Duration
}

// latencyWindow is how many recent latencies the percentiles are computed over.
const latencyWindow = 256

type state struct {
	failures      int
	lastFailure   time.Time
	cooldownUntil time.Time
	lastError     string
	requests      int64
	failed        int64
	lat           [latencyWindow]time.Duration
	latN          int
	timer         *time.Timer
}

// Tracker holds every provider's health. It is safe for concurrent use.
// Time comes from the time package, so tests run it under testing/synctest.
type Tracker struct {
	mu       sync.Mutex
	m        map[string]*state
	onChange func(Transition)
	closed   bool
}

// New returns a Tracker. onChange, if not nil, is called (outside the lock,
// from the goroutine that caused the change or from a timer) on every transition.
func New(onChange func(Transition)) *Tracker {
	return &Tracker{m: make(map[string]*state), onChange: onChange}
}

func (t *Tracker) get(name string) *state {
	s := t.m[name]
	if s == nil {
		s = &state{}
		t.m[name] = s
	}
	return s
}

// Available reports whether the provider is out of cooldown.
func (t *Tracker) Available(name string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[name]
	return s == nil || !time.Now().Before(s.cooldownUntil)
}

// CooldownUntil returns when the provider's cooldown ends (zero if none).
func (t *Tracker) CooldownUntil(name string) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.m[name]; s != nil && time.Now().Before(s.cooldownUntil) {
		return s.cooldownUntil
	}
	return time.Time{}
}

// Failed records a failed attempt. With cooldown > 0 the provider sits out
// until now+cooldown (a longer running cooldown is kept).
func (t *Tracker) Failed(name, reason string, cooldown time.Duration) {
	now := time.Now()
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	s := t.get(name)
	s.failures++
	s.failed++
	s.lastFailure = now
	s.lastError = reason
	var tr *Transition
	if until := now.Add(cooldown); cooldown > 0 && until.After(s.cooldownUntil) {
		wasDown := now.Before(s.cooldownUntil)
		s.cooldownUntil = until
		t.armLocked(name, s, cooldown)
		if !wasDown {
			tr = &Transition{Provider: name, Down: true, Reason: reason, Cooldown: cooldown}
		}
	}
	t.mu.Unlock()
	t.notify(tr)
}

// armLocked (re)starts the timer that reports the end of the cooldown.
func (t *Tracker) armLocked(name string, s *state, d time.Duration) {
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timer = time.AfterFunc(d, func() { t.expire(name) })
}

func (t *Tracker) expire(name string) {
	t.mu.Lock()
	s := t.m[name]
	if t.closed || s == nil || s.cooldownUntil.IsZero() || time.Now().Before(s.cooldownUntil) {
		t.mu.Unlock()
		return
	}
	s.cooldownUntil = time.Time{}
	s.timer = nil
	t.mu.Unlock()
	t.notify(&Transition{Provider: name, Down: false, Reason: "cooldown over"})
}

// Succeeded records a served request and its latency. A success clears the
// consecutive-failure count and any cooldown.
func (t *Tracker) Succeeded(name string, latency time.Duration) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	s := t.get(name)
	s.requests++
	s.failures = 0
	s.lat[s.latN%latencyWindow] = latency
	s.latN++
	var tr *Transition
	if !s.cooldownUntil.IsZero() {
		tr = t.clearLocked(name, s, "served a request")
	}
	t.mu.Unlock()
	t.notify(tr)
}

// Reset clears a provider's cooldown and failure count ("retry now").
func (t *Tracker) Reset(name string) {
	t.mu.Lock()
	s := t.get(name)
	s.failures = 0
	tr := t.clearLocked(name, s, "retried by hand")
	t.mu.Unlock()
	t.notify(tr)
}

func (t *Tracker) clearLocked(name string, s *state, reason string) *Transition {
	wasDown := time.Now().Before(s.cooldownUntil)
	s.cooldownUntil = time.Time{}
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if !wasDown {
		return nil
	}
	return &Transition{Provider: name, Down: false, Reason: reason}
}

func (t *Tracker) notify(tr *Transition) {
	if tr != nil && t.onChange != nil {
		t.onChange(*tr)
	}
}

// Status returns a copy of the provider's state.
func (t *Tracker) Status(name string) Status {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[name]
	if s == nil {
		return Status{Available: true}
	}
	st := Status{
		Available:    !now.Before(s.cooldownUntil),
		FailureCount: s.failures,
		LastFailure:  s.lastFailure,
		LastError:    s.lastError,
		Requests:     s.requests,
		Failures:     s.failed,
	}
	if !st.Available {
		st.CooldownUntil = s.cooldownUntil
		st.CooldownRemaining = s.cooldownUntil.Sub(now)
	}
	n := min(s.latN, latencyWindow)
	if n > 0 {
		lat := slices.Clone(s.lat[:n])
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
	for _, s := range t.m {
		if s.timer != nil {
			s.timer.Stop()
			s.timer = nil
		}
	}
}
