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

func TestCooldownLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		tr := New(rec.add)
		defer tr.Close()

		tr.Failed("A", "HTTP 529", 90*time.Second)
		if tr.Available("A") {
			t.Fatal("A available right after failing")
		}
		st := tr.Status("A")
		if st.FailureCount != 1 || st.LastError != "HTTP 529" || st.CooldownRemaining != 90*time.Second {
			t.Fatalf("status after failure = %+v", st)
		}
		// A second failure during the cooldown does not report a second transition,
		// and a shorter cooldown does not shorten the running one.
		time.Sleep(10 * time.Second)
		tr.Failed("A", "HTTP 500", 30*time.Second)
		if got := tr.Status("A").CooldownRemaining; got != 80*time.Second {
			t.Fatalf("cooldown remaining = %v, want 80s", got)
		}
		time.Sleep(79 * time.Second)
		synctest.Wait()
		if tr.Available("A") {
			t.Fatal("A available before its cooldown ended")
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if !tr.Available("A") {
			t.Fatal("A not available after its cooldown")
		}
		want := []Transition{
			{Provider: "A", Down: true, Reason: "HTTP 529", Cooldown: 90 * time.Second},
			{Provider: "A", Down: false, Reason: "cooldown over"},
		}
		if diff := cmp.Diff(want, rec.list()); diff != "" {
			t.Errorf("transitions (-want +got):\n%s", diff)
		}
		if got := tr.Status("A").FailureCount; got != 2 {
			t.Errorf("consecutive failures = %d, want 2 (only a success clears them)", got)
		}
	})
}

func TestLongerCooldownExtends(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := New(nil)
		defer tr.Close()
		tr.Failed("A", "HTTP 429", 10*time.Second)
		tr.Failed("A", "HTTP 429", 300*time.Second) // retry-after longer
		time.Sleep(11 * time.Second)
		if tr.Available("A") {
			t.Fatal("longer cooldown was not kept")
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
		{"reset", func(tr *Tracker) { tr.Reset("A") }, "retried by hand"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var rec recorder
				tr := New(rec.add)
				defer tr.Close()
				tr.Failed("A", "x", time.Minute)
				tt.clear(tr)
				if !tr.Available("A") || tr.Status("A").FailureCount != 0 {
					t.Fatalf("not cleared: %+v", tr.Status("A"))
				}
				time.Sleep(2 * time.Minute) // the old timer must not report again
				synctest.Wait()
				got := rec.list()
				if len(got) != 2 || got[1].Down || got[1].Reason != tt.reason {
					t.Errorf("transitions = %+v", got)
				}
			})
		})
	}
}

func TestNoCooldownFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		tr := New(rec.add)
		defer tr.Close()
		tr.Failed("A", "HTTP 404 model not found", 0)
		if !tr.Available("A") || len(rec.list()) != 0 {
			t.Fatalf("a failure without cooldown changed availability: %+v", rec.list())
		}
		if st := tr.Status("A"); st.Failures != 1 || st.LastError == "" {
			t.Fatalf("status = %+v", st)
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
