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

	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/assets"
	"github.com/ccbalancer/ccbalancer/proxy"
	"github.com/ccbalancer/ccbalancer/supervisor"
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

// ready is a snapshot with nothing to announce at start.
func ready() supervisor.Snapshot { return supervisor.Snapshot{} }

// TestNotifierGroupsABurst: events within the window become one notice sent
// when the window ends; a later event starts a new burst.
func TestNotifierGroupsABurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		n := NewNotifier(rec.send, discard, nil)
		events := make(chan proxy.Event)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { n.Run(ctx, events, ready); close(done) }()

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
		want := []Notice{{Title: "2 providers out of rotation", Body: "Provider A failed: HTTP 529\nProvider B failed: HTTP 500", Icon: assets.Degraded}}
		if diff := cmp.Diff(want, rec.got()); diff != "" {
			t.Fatalf("after the window (-want +got):\n%s", diff)
		}
		if d := rec.at[0].Sub(start); d != BurstWindow {
			t.Errorf("notice sent %s after the first event, want %s", d, BurstWindow)
		}
		// Recoveries are off by default: nothing more.
		events <- recovered("A", "cooldown over")
		time.Sleep(2 * BurstWindow)
		synctest.Wait()
		if got := rec.got(); len(got) != 1 {
			t.Errorf("after a recovery with recoveries off: %v", got)
		}
		cancel()
		<-done
	})
}

// TestNotifierSwitches: a kind switched off stays quiet; switched back on,
// what it already saw is not told late, but what follows is.
func TestNotifierSwitches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		n := NewNotifier(rec.send, discard, map[NoticeKind]bool{NoticeRecovery: true})
		events := make(chan proxy.Event)
		done := make(chan struct{})
		go func() { n.Run(t.Context(), events, ready); close(done) }()

		events <- failed("A", "HTTP 529", 90*time.Second)
		time.Sleep(2 * BurstWindow)
		synctest.Wait()
		if got := rec.got(); len(got) != 0 {
			t.Errorf("failovers off, yet sent %v", got)
		}
		n.Set(NoticeFailover, true)
		events <- recovered("A", "served a request")
		time.Sleep(2 * BurstWindow)
		synctest.Wait()
		want := []Notice{{Title: "Back in rotation: A", Body: "A: served a request.", Icon: assets.Healthy}}
		if diff := cmp.Diff(want, rec.got()); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		close(events)
		<-done
	})
}

// TestNotifierAnnouncesTheStartState: a setup problem found before the tray
// was up is announced once.
func TestNotifierAnnouncesTheStartState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		n := NewNotifier(rec.send, discard, nil)
		events := make(chan proxy.Event)
		done := make(chan struct{})
		snap := func() supervisor.Snapshot {
			return supervisor.Snapshot{Setup: supervisor.ConfigError, Problem: "/c/providers.yaml:2: boom",
				Snapshot: proxy.Snapshot{ConfigPath: "/c/providers.yaml"}}
		}
		go func() { n.Run(t.Context(), events, snap); close(done) }()
		// The same problem published again (a save that fixed nothing): quiet.
		events <- proxy.Event{Kind: supervisor.EventConfigError, Reason: "/c/providers.yaml:2: boom"}
		time.Sleep(2 * BurstWindow)
		synctest.Wait()
		want := []Notice{{Title: "The configuration has errors", Body: "providers.yaml:2: boom\nThe proxy starts once the file loads.", Icon: assets.Attention}}
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
		n := NewNotifier(rec.send, discard, nil)
		events := make(chan proxy.Event)
		done := make(chan struct{})
		go func() { n.Run(t.Context(), events, ready); close(done) }()
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
