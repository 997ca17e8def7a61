package tray

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ccbalancer/ccbalancer/assets"
	"github.com/ccbalancer/ccbalancer/proxy"
	"github.com/google/go-cmp/cmp"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

type recorder struct {
	mu      sync.Mutex
	notices []Notice
	at      []time.Time
	err     error
}

func (r *recorder) send(n Notice) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notices = append(r.notices, n)
	r.at = append(r.at, time.Now())
	return r.err
}

func (r *recorder) got() []Notice {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Notice(nil), r.notices...)
}

// TestNotifierGroupsABurst: events within the window become one notice sent
// when the window ends; a later event starts a new burst.
func TestNotifierGroupsABurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		n := NewNotifier(rec.send, discard)
		events := make(chan proxy.Event)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { n.Run(ctx, events); close(done) }()

		start := time.Now()
		events <- failed("A", "HTTP 529", 90*time.Second)
		time.Sleep(300 * time.Millisecond)
		events <- failed("B", "HTTP 500", 90*time.Second)
		synctest.Wait()
		if got := rec.got(); len(got) != 0 {
			t.Fatalf("notice sent before the burst window ended: %v", got)
		}
		time.Sleep(BurstWindow)
		synctest.Wait()
		want := []Notice{{Title: "2 providers failed", Body: "Provider A failed: HTTP 529\nProvider B failed: HTTP 500", Icon: assets.Degraded}}
		if diff := cmp.Diff(want, rec.got()); diff != "" {
			t.Fatalf("after the window (-want +got):\n%s", diff)
		}
		if d := rec.at[0].Sub(start); d != BurstWindow {
			t.Errorf("notice sent %s after the first event, want %s", d, BurstWindow)
		}

		events <- recovered("A")
		time.Sleep(2 * BurstWindow)
		synctest.Wait()
		if got := rec.got(); len(got) != 2 || got[1].Title != "Provider A recovered" {
			t.Errorf("after recovery: %v", got)
		}
		cancel()
		<-done
	})
}

func TestNotifierDisabledStaysQuiet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		n := NewNotifier(rec.send, discard)
		n.SetEnabled(false)
		events := make(chan proxy.Event)
		done := make(chan struct{})
		go func() { n.Run(t.Context(), events); close(done) }()

		events <- failed("A", "HTTP 529", 90*time.Second)
		time.Sleep(2 * BurstWindow)
		synctest.Wait()
		if got := rec.got(); len(got) != 0 {
			t.Errorf("disabled notifier sent %v", got)
		}
		// Switched back on, the failure it already saw is not told late, but
		// its recovery is.
		n.SetEnabled(true)
		events <- recovered("A")
		time.Sleep(2 * BurstWindow)
		synctest.Wait()
		want := []Notice{{Title: "Provider A recovered", Body: "A is back in rotation.", Icon: assets.Healthy}}
		if diff := cmp.Diff(want, rec.got()); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		close(events)
		<-done
	})
}

// TestNotifierSendErrorIsNotFatal: a failing notification server does not
// stop later notices.
func TestNotifierSendErrorIsNotFatal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{err: errors.New("no notification server")}
		n := NewNotifier(rec.send, discard)
		events := make(chan proxy.Event)
		done := make(chan struct{})
		go func() { n.Run(t.Context(), events); close(done) }()
		events <- failed("A", "x", time.Minute)
		time.Sleep(2 * BurstWindow)
		events <- failed("B", "y", time.Minute)
		time.Sleep(2 * BurstWindow)
		synctest.Wait()
		if got := rec.got(); len(got) != 2 {
			t.Errorf("sent %d notices, want 2", len(got))
		}
		close(events)
		<-done
	})
}
