package tray

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/assets"
	"github.com/ccbalancer/ccbalancer/proxy"
	"github.com/ccbalancer/ccbalancer/proxy/health"
)

func TestRefreshShowsTheModel(t *testing.T) {
	srv := newFakeServer()
	b := newFakeBackend()
	c := newController(srv, b, (&desk{}).options(&fakeAutostart{}), func() {})
	c.refresh()
	if diff := cmp.Diff(BuildMenu(srv.Snapshot(), c.prefs()), b.tree()); diff != "" {
		t.Errorf("shown menu (-want +got):\n%s", diff)
	}
	if b.icon != assets.Healthy || b.title != "ccbalancer — 2/2 providers healthy" {
		t.Errorf("icon %s, title %q", b.icon, b.title)
	}
}

// TestViewUpdatesInPlace: value changes update items without rebuilding; a
// new provider (a different shape) rebuilds.
func TestViewUpdatesInPlace(t *testing.T) {
	srv := newFakeServer()
	b := newFakeBackend()
	c := newController(srv, b, (&desk{}).options(&fakeAutostart{}), func() {})
	c.refresh()
	adds := b.adds

	c.refresh()
	if b.adds != adds || len(b.calls) != 0 || b.resets != 0 {
		t.Fatalf("an unchanged snapshot touched the menu: %d adds, updates %q, %d resets", b.adds-adds, b.calls, b.resets)
	}

	srv.set(func(s *proxy.Snapshot) {
		s.Providers[0].Healthy = false
		s.Providers[0].CooldownRemaining = 75 * time.Second
		s.Providers[0].LastError = "HTTP 529: Overloaded"
	})
	c.refresh()
	wantUpdates := []string{"1/2 providers healthy", "A: cooling down, 1:15 left", "Last error: HTTP 529: Overloaded", "Retry now"}
	if diff := cmp.Diff(wantUpdates, b.calls); diff != "" {
		t.Errorf("updates (-want +got):\n%s", diff)
	}
	if b.resets != 0 || b.adds != adds {
		t.Errorf("value changes rebuilt the menu")
	}
	if b.icon != assets.Degraded {
		t.Errorf("icon %s, want degraded", b.icon)
	}
	if diff := cmp.Diff(BuildMenu(srv.Snapshot(), c.prefs()), b.tree()); diff != "" {
		t.Errorf("shown menu (-want +got):\n%s", diff)
	}

	srv.set(func(s *proxy.Snapshot) {
		s.Providers = append(s.Providers, proxy.ProviderStatus{Name: "C", Enabled: true, Healthy: true})
	})
	c.refresh()
	if b.resets != 1 {
		t.Errorf("a new provider did not rebuild the menu (%d resets)", b.resets)
	}
	if diff := cmp.Diff(BuildMenu(srv.Snapshot(), c.prefs()), b.tree()); diff != "" {
		t.Errorf("rebuilt menu (-want +got):\n%s", diff)
	}
}

func TestActions(t *testing.T) {
	tests := []struct {
		action     string
		copyErr    error
		failOn     string
		autostart  *fakeAutostart
		wantCalls  string
		wantQuit   bool
		wantOpened []string
		wantCopied []string
		wantNotes  []Notice
		check      func(t *testing.T, srv *fakeServer, c *controller)
	}{
		{action: ActToggleProxy, wantCalls: "stop", check: func(t *testing.T, srv *fakeServer, _ *controller) {
			if srv.Snapshot().Running {
				t.Error("still running")
			}
			if dl, ok := srv.stopCtx.Deadline(); !ok || time.Until(dl) > time.Second {
				t.Errorf("stop without the grace period: %v %v", dl, ok)
			}
		}},
		{action: ActRetry + "A", wantCalls: "retry A"},
		{action: ActRetry + "name:with:colons", wantCalls: "retry name:with:colons"},
		{action: ActStrategy + "round_robin", wantCalls: "strategy round_robin"},
		{action: ActStrategy + "bogus", failOn: "strategy bogus", wantCalls: "strategy bogus"},
		{action: ActReload, wantCalls: "reload"},
		{action: ActOpenConfig, wantOpened: []string{"/home/me/.config/ccbalancer/providers.yaml"}},
		{action: ActOpenLogs, wantOpened: []string{"/home/me/.local/state/ccbalancer"}},
		{action: ActCopyBaseURL, wantCopied: []string{"http://127.0.0.1:8080"}},
		{action: ActCopyBaseURL, copyErr: errNoClipboard, wantCopied: []string{"http://127.0.0.1:8080"},
			wantNotes: []Notice{{Title: "ANTHROPIC_BASE_URL", Body: "ANTHROPIC_BASE_URL=http://127.0.0.1:8080"}}},
		{action: ActNotifications, check: func(t *testing.T, _ *fakeServer, c *controller) {
			if c.notifier.Enabled() {
				t.Error("notifications still on")
			}
		}},
		{action: ActAutostart, autostart: &fakeAutostart{}, check: func(t *testing.T, _ *fakeServer, c *controller) {
			if !c.prefs().Autostart {
				t.Error("start at login not switched on")
			}
		}},
		{action: ActAutostart, autostart: &fakeAutostart{on: true}, check: func(t *testing.T, _ *fakeServer, c *controller) {
			if c.prefs().Autostart {
				t.Error("start at login not switched off")
			}
		}},
		{action: ActQuit, wantCalls: "stop", wantQuit: true},
		{action: "nonsense"},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			srv := newFakeServer()
			srv.failOn = tt.failOn
			d := &desk{copyErr: tt.copyErr}
			a := tt.autostart
			if a == nil {
				a = &fakeAutostart{}
			}
			c := newController(srv, newFakeBackend(), d.options(a), func() {})
			quit := c.handle(t.Context(), tt.action)
			if quit != tt.wantQuit {
				t.Errorf("quit = %v, want %v", quit, tt.wantQuit)
			}
			if got := srv.callLog(); got != tt.wantCalls {
				t.Errorf("server calls %q, want %q", got, tt.wantCalls)
			}
			if diff := cmp.Diff(tt.wantOpened, d.opened); diff != "" {
				t.Errorf("opened (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantCopied, d.copied); diff != "" {
				t.Errorf("copied (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantNotes, d.notices); diff != "" {
				t.Errorf("notices (-want +got):\n%s", diff)
			}
			if tt.check != nil {
				tt.check(t, srv, c)
			}
		})
	}
}

func TestStartFailureIsShown(t *testing.T) {
	srv := newFakeServer()
	srv.set(func(s *proxy.Snapshot) { s.Running = false })
	srv.failOn = "start"
	d := &desk{}
	c := newController(srv, newFakeBackend(), d.options(nil), func() {})
	c.handle(t.Context(), ActToggleProxy)
	if len(d.notices) != 1 || d.notices[0].Title != "The proxy could not start" {
		t.Errorf("notices = %+v", d.notices)
	}
}

func TestAutostartUnavailable(t *testing.T) {
	b := newFakeBackend()
	c := newController(newFakeServer(), b, (&desk{}).options(nil), func() {})
	c.refresh()
	it := find(b.tree(), ActAutostart)
	if it == nil || !it.Disabled || it.Label != "Start at login (unavailable)" {
		t.Errorf("autostart item = %+v", it)
	}
	a := &fakeAutostart{err: errors.New("read-only home")}
	c = newController(newFakeServer(), b, (&desk{}).options(a), func() {})
	if p := c.prefs(); p.AutostartErr == nil {
		t.Error("an unreadable entry is not reported")
	}
}

func find(items []Item, action string) *Item {
	for i := range items {
		if items[i].Action == action {
			return &items[i]
		}
		if it := find(items[i].Children, action); it != nil {
			return it
		}
	}
	return nil
}

// TestLoop runs the controller's goroutines: events refresh the menu
// (coalesced), clicks are handled, a cooldown keeps the menu counting down
// and the ticker stops when it ends, Quit stops the proxy and calls quit.
func TestLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer()
		b := newFakeBackend()
		quitCalled := make(chan struct{})
		c := newController(srv, b, (&desk{}).options(&fakeAutostart{}), func() { close(quitCalled) })
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		events, unsubscribe := srv.Subscribe()
		defer unsubscribe()
		watchDone := make(chan struct{})
		go func() { c.watch(ctx, events); close(watchDone) }()
		loopDone := make(chan struct{})
		go func() { c.loop(ctx); close(loopDone) }()
		synctest.Wait()

		// A provider starts cooling down: the event refreshes the menu.
		srv.set(func(s *proxy.Snapshot) {
			s.Providers[1].Healthy = false
			s.Providers[1].CooldownRemaining = 7 * time.Second
		})
		srv.subs[0] <- proxy.Event{Kind: proxy.EventProviderState, Provider: "B", State: health.StateCooling}
		synctest.Wait()
		if it := find(b.tree(), ActProvider+"B"); it.Label != "B: cooling down, 0:07 left" {
			t.Fatalf("B = %q", it.Label)
		}
		// The countdown advances without events.
		srv.set(func(s *proxy.Snapshot) { s.Providers[1].CooldownRemaining = 4 * time.Second })
		time.Sleep(c.opts.RefreshEvery)
		synctest.Wait()
		if it := find(b.tree(), ActProvider+"B"); it.Label != "B: cooling down, 0:04 left" {
			t.Fatalf("B after a tick = %q", it.Label)
		}
		// Cooldown over: one more refresh, then the ticker stops.
		srv.set(func(s *proxy.Snapshot) {
			s.Providers[1].Healthy = true
			s.Providers[1].CooldownRemaining = 0
		})
		time.Sleep(c.opts.RefreshEvery)
		synctest.Wait()
		if it := find(b.tree(), ActProvider+"B"); it.Label != "B: healthy" {
			t.Fatalf("B after the cooldown = %q", it.Label)
		}
		updates := len(b.calls)
		srv.set(func(s *proxy.Snapshot) { s.Providers[0].Requests = 99 })
		time.Sleep(10 * c.opts.RefreshEvery)
		synctest.Wait()
		if len(b.calls) != updates {
			t.Errorf("the menu kept refreshing with no cooldown running")
		}

		// A click.
		c.actions <- ActStrategy + "random"
		synctest.Wait()
		if it := find(b.tree(), ActStrategy+"random"); !it.Checked {
			t.Error("random not checked after the click")
		}
		// Quit.
		c.actions <- ActQuit
		<-quitCalled
		<-loopDone
		if srv.Snapshot().Running {
			t.Error("proxy running after Quit")
		}
		cancel()
		<-watchDone
	})
}
