package health

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

type recorder struct {
	mu  sync.Mutex
	got []Transition
}

func (r *recorder) add(tr Transition) { r.mu.Lock(); r.got = append(r.got, tr); r.mu.Unlock() }
func (r *recorder) list() []Transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Transition(nil), r.got...)
}

func cooling(reason string, d time.Duration) Failure {
	return Failure{State: StateCooling, Reason: reason, For: d}
}

func TestCooldownLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		tr := New(rec.add)
		defer tr.Close()
		start := time.Now()

		tr.Failed("A", cooling("HTTP 529", 90*time.Second))
		if st, until := tr.State("A"); st != StateCooling || !until.Equal(start.Add(90*time.Second)) {
			t.Fatalf("state after failure = %s until %v", st, until)
		}
		st := tr.Status("A")
		if st.FailureCount != 1 || st.LastError != "HTTP 529" || st.Reason != "HTTP 529" {
			t.Fatalf("status after failure = %+v", st)
		}
		// A second failure during the cooldown reports no second transition,
		// and a shorter cooldown does not shorten the running one.
		time.Sleep(10 * time.Second)
		tr.Failed("A", cooling("HTTP 500", 30*time.Second))
		if _, until := tr.State("A"); !until.Equal(start.Add(90 * time.Second)) {
			t.Fatalf("cooldown ends %v, want start+90s", until.Sub(start))
		}
		time.Sleep(79 * time.Second)
		synctest.Wait()
		if st, _ := tr.State("A"); st != StateCooling {
			t.Fatalf("state %s before the cooldown ended", st)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if st, _ := tr.State("A"); st != StateHealthy {
			t.Fatalf("state %s after the cooldown", st)
		}
		want := []Transition{
			{Provider: "A", State: StateCooling, Prev: StateHealthy, Reason: "HTTP 529", Until: start.Add(90 * time.Second)},
			{Provider: "A", State: StateHealthy, Prev: StateCooling, Reason: "cooldown over"},
		}
		if diff := cmp.Diff(want, rec.list()); diff != "" {
			t.Errorf("transitions (-want +got):\n%s", diff)
		}
		if got := tr.Status("A").FailureCount; got != 2 {
			t.Errorf("consecutive failures = %d, want 2 (only a success clears them)", got)
		}
	})
}

// TestStateRanks: a failure moves a provider to a state that keeps it out
// longer, never to one that would let it back sooner.
func TestStateRanks(t *testing.T) {
	tests := []struct {
		name      string
		failures  []Failure
		wantState State
		wantFor   time.Duration // from the start; 0 for no timer
	}{
		{"longer cooldown extends", []Failure{cooling("a", 10*time.Second), cooling("b", 300*time.Second)}, StateCooling, 300 * time.Second},
		{"rate limit over cooling", []Failure{cooling("a", 90*time.Second), {State: StateRateLimited, Reason: "429", For: 30 * time.Second}}, StateRateLimited, 30 * time.Second},
		{"cooling does not undo a rate limit", []Failure{{State: StateRateLimited, Reason: "429", For: 4 * time.Hour}, cooling("a", 90*time.Second)}, StateRateLimited, 4 * time.Hour},
		{"key rejected over everything", []Failure{{State: StateRateLimited, Reason: "429", For: time.Hour}, {State: StateNeedsAttention, Reason: "HTTP 401"}}, StateNeedsAttention, 0},
		{"nothing undoes needs attention", []Failure{{State: StateNeedsAttention, Reason: "HTTP 402"}, {State: StateRateLimited, Reason: "429", For: time.Hour}, cooling("x", time.Hour)}, StateNeedsAttention, 0},
		{"a failure without a state changes none", []Failure{{Reason: "HTTP 404"}}, StateHealthy, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := New(nil)
				defer tr.Close()
				start := time.Now()
				for _, f := range tt.failures {
					tr.Failed("A", f)
				}
				st, until := tr.State("A")
				var wantUntil time.Time
				if tt.wantFor > 0 {
					wantUntil = start.Add(tt.wantFor)
				}
				if st != tt.wantState || !until.Equal(wantUntil) {
					t.Fatalf("state %s until +%v, want %s until +%v", st, until.Sub(start), tt.wantState, tt.wantFor)
				}
				if got := tr.Status("A").Failures; got != int64(len(tt.failures)) {
					t.Errorf("failures counted %d, want %d", got, len(tt.failures))
				}
			})
		})
	}
}

// TestNeedsAttentionHasNoTimer: a rejected key is not announced as
// recovered when time passes; only a real success brings it back.
func TestNeedsAttentionHasNoTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		tr := New(rec.add)
		defer tr.Close()
		tr.Failed("A", Failure{State: StateNeedsAttention, Reason: "HTTP 401: invalid key", For: time.Minute})
		time.Sleep(24 * time.Hour)
		synctest.Wait()
		if st, until := tr.State("A"); st != StateNeedsAttention || !until.IsZero() {
			t.Fatalf("after a day: %s until %v", st, until)
		}
		tr.Reset("A", "probe succeeded")
		want := []Transition{
			{Provider: "A", State: StateNeedsAttention, Prev: StateHealthy, Reason: "HTTP 401: invalid key"},
			{Provider: "A", State: StateHealthy, Prev: StateNeedsAttention, Reason: "probe succeeded"},
		}
		if diff := cmp.Diff(want, rec.list()); diff != "" {
			t.Errorf("transitions (-want +got):\n%s", diff)
		}
	})
}

func TestHoldBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		tr := New(rec.add)
		defer tr.Close()
		start := time.Now()
		tr.Hold("A", StateBudgetReached, "daily budget $5.00 reached", start.Add(time.Hour))
		// A success on a request already in flight does not lift a budget.
		tr.Succeeded("A", time.Millisecond)
		if st, _ := tr.State("A"); st != StateBudgetReached {
			t.Fatalf("state %s after a success, want budget_reached", st)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		want := []Transition{
			{Provider: "A", State: StateBudgetReached, Prev: StateHealthy, Reason: "daily budget $5.00 reached", Until: start.Add(time.Hour)},
			{Provider: "A", State: StateHealthy, Prev: StateBudgetReached, Reason: "budget window reset"},
		}
		if diff := cmp.Diff(want, rec.list()); diff != "" {
			t.Errorf("transitions (-want +got):\n%s", diff)
		}
	})
}

func TestSuccessAndResetClear(t *testing.T) {
	tests := []struct {
		name   string
		clear  func(*Tracker)
		reason string
	}{
		{"success", func(tr *Tracker) { tr.Succeeded("A", time.Millisecond) }, "served a request"},
		{"reset", func(tr *Tracker) { tr.Reset("A", "retried by hand") }, "retried by hand"},
	}
	for _, tt := range tests {
		for _, f := range []Failure{cooling("x", time.Minute), {State: StateRateLimited, Reason: "429", For: time.Minute}, {State: StateNeedsAttention, Reason: "401"}} {
			t.Run(tt.name+"/"+string(f.State), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					var rec recorder
					tr := New(rec.add)
					defer tr.Close()
					tr.Failed("A", f)
					tt.clear(tr)
					if st := tr.Status("A"); st.State != StateHealthy || st.FailureCount != 0 {
						t.Fatalf("not cleared: %+v", st)
					}
					time.Sleep(2 * time.Minute) // the old timer must not report again
					synctest.Wait()
					got := rec.list()
					if len(got) != 2 || got[1].State != StateHealthy || got[1].Prev != f.State || got[1].Reason != tt.reason {
						t.Errorf("transitions = %+v", got)
					}
				})
			})
		}
	}
}

func TestForget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		tr := New(rec.add)
		defer tr.Close()
		tr.Failed("A", cooling("x", time.Minute))
		tr.Forget("A")
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if st := tr.Status("A"); st.State != StateHealthy || st.Failures != 0 {
			t.Fatalf("forgotten provider = %+v", st)
		}
		if got := rec.list(); len(got) != 1 {
			t.Fatalf("a forgotten provider's timer reported: %+v", got)
		}
	})
}

func TestLatencyPercentiles(t *testing.T) {
	t.Parallel()
	tr := New(nil)
	for i := 1; i <= 1000; i++ {
		tr.Succeeded("A", time.Duration(i)*time.Millisecond)
	}
	st := tr.Status("A")
	// The window holds the last 256 samples: 745..1000 ms.
	if st.Requests != 1000 || st.LatencyP50 != 872*time.Millisecond || st.LatencyP99 != 997*time.Millisecond {
		t.Fatalf("status = %+v", st)
	}
}
