package health

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestKeyStates: each key sits out on its own; the provider is the best of
// its keys, and its transitions say so.
func TestKeyStates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		tr := New(rec.add)
		defer tr.Close()
		start := time.Now()
		tr.SetKeys("A", 2)

		tr.Failed(KeyName("A", 0), Failure{State: StateRateLimited, Reason: "HTTP 429", For: time.Hour})
		if st, _ := tr.State("A"); st != StateHealthy {
			t.Fatalf("provider %s with one key rate limited and one healthy, want healthy", st)
		}
		if st, until := tr.State("A#1"); st != StateRateLimited || !until.Equal(start.Add(time.Hour)) {
			t.Fatalf("key 1 = %s until %v", st, until)
		}
		tr.Failed(KeyName("A", 1), Failure{State: StateNeedsAttention, Reason: "HTTP 401: invalid x-api-key"})
		st := tr.Status("A")
		if st.State != StateRateLimited || !st.Until.Equal(start.Add(time.Hour)) {
			t.Fatalf("provider with keys rate limited and rejected = %s until %v, want rate_limited (the best key)", st.State, st.Until)
		}
		wantKeys := []KeyStatus{
			{Key: 1, State: StateRateLimited, Until: start.Add(time.Hour), Reason: "HTTP 429"},
			{Key: 2, State: StateNeedsAttention, Reason: "HTTP 401: invalid x-api-key"},
		}
		if diff := cmp.Diff(wantKeys, st.Keys); diff != "" {
			t.Errorf("keys (-want +got):\n%s", diff)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if st, _ := tr.State("A"); st != StateHealthy {
			t.Fatalf("provider %s after key 1's window reset", st)
		}
		// A provider-wide failure cools every key; a success on one key
		// clears the others' cooldown but not key 2's rejection.
		tr.Failed("A", Failure{State: StateCooling, Reason: "connection refused", For: time.Minute})
		if st, _ := tr.State("A#1"); st != StateCooling {
			t.Fatalf("key 1 after a provider failure = %s", st)
		}
		tr.Succeeded("A#1", time.Millisecond)
		if st, _ := tr.State("A#2"); st != StateNeedsAttention {
			t.Fatalf("key 2 after key 1 served = %s, want needs_attention", st)
		}
		tr.Reset("A", "retried by hand")
		if st, _ := tr.State("A#2"); st != StateHealthy {
			t.Fatalf("key 2 after a provider reset = %s", st)
		}
		var provider []Transition
		for _, x := range rec.list() {
			if x.Key == 0 {
				x.Until = x.Until.Round(0)
				provider = append(provider, x)
			}
		}
		want := []Transition{
			{Provider: "A", State: StateRateLimited, Prev: StateHealthy, Reason: "every key out; key 1 of 2: HTTP 429", Until: start.Add(time.Hour)},
			{Provider: "A", State: StateHealthy, Prev: StateRateLimited, Reason: "rate limit window reset"},
			{Provider: "A", State: StateCooling, Prev: StateHealthy, Reason: "every key out; key 1 of 2: connection refused", Until: start.Add(time.Hour + time.Minute)},
			{Provider: "A", State: StateHealthy, Prev: StateCooling, Reason: "served a request"},
		}
		if diff := cmp.Diff(want, provider); diff != "" {
			t.Errorf("provider transitions (-want +got):\n%s", diff)
		}
	})
}

func TestKeyNameOfUnknownKeyIsAProvider(t *testing.T) {
	tr := New(nil)
	defer tr.Close()
	tr.Failed("B#1", Failure{State: StateNeedsAttention, Reason: "x"})
	if st, _ := tr.State("B#1"); st != StateNeedsAttention {
		t.Fatalf("a provider named B#1 = %s", st)
	}
	if st, _ := tr.State("B"); st != StateHealthy {
		t.Fatalf("B = %s, want healthy (B has no keys)", st)
	}
}
