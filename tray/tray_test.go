package tray

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/assets"
	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy"
	"github.com/ccbalancer/ccbalancer/proxy/health"
	"github.com/ccbalancer/ccbalancer/supervisor"
)

func TestRefreshShowsTheModel(t *testing.T) {
	srv := newFakeServer()
	b := newFakeBackend()
	c := newController(srv, b, (&desk{}).options(&fakeAutostart{}), func() {})
	c.refresh()
	if diff := cmp.Diff(BuildMenu(srv.Snapshot(), c.prefs(), time.Now()), b.tree()); diff != "" {
		t.Errorf("shown menu (-want +got):\n%s", diff)
	}
	if b.icon != assets.Healthy || b.tooltip != "ccbalancer: 2/2 providers healthy" {
		t.Errorf("icon %s, tooltip %q", b.icon, b.tooltip)
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

	srv.set(func(s *supervisor.Snapshot) {
		p := &s.Providers[0]
		p.State, p.Healthy, p.CooldownRemaining, p.LastError = health.StateCooling, false, 75*time.Second, "HTTP 529: Overloaded"
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
	if diff := cmp.Diff(BuildMenu(srv.Snapshot(), c.prefs(), time.Now()), b.tree()); diff != "" {
		t.Errorf("shown menu (-want +got):\n%s", diff)
	}

	srv.set(func(s *supervisor.Snapshot) {
		s.Providers = append(s.Providers, proxy.ProviderStatus{Name: "C", Enabled: true, State: health.StateHealthy, Healthy: true})
	})
	c.refresh()
	if b.resets != 1 {
		t.Errorf("a new provider did not rebuild the menu (%d resets)", b.resets)
	}
	if diff := cmp.Diff(BuildMenu(srv.Snapshot(), c.prefs(), time.Now()), b.tree()); diff != "" {
		t.Errorf("rebuilt menu (-want +got):\n%s", diff)
	}
}

func TestActions(t *testing.T) {
	tests := []struct {
		action     string
		copyErr    error
		failOn     string
		setup      supervisor.Setup
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
		// A radio item: choosing the strategy in force changes nothing.
		{action: ActStrategy + "priority"},
		{action: ActStrategy + "bogus", failOn: "strategy bogus", wantCalls: "strategy bogus"},
		{action: ActReload, wantCalls: "reload"},
		// A reload that fails the same way again still answers the click.
		{action: ActReload, failOn: "reload", setup: supervisor.ConfigError, wantCalls: "reload",
			wantNotes: []Notice{{Title: "The configuration did not load", Body: "reload failed"}}},
		{action: ActCreateConfig, setup: supervisor.NotSetUp, wantCalls: "create",
			wantOpened: []string{"/home/me/.config/ccbalancer/providers.yaml"}},
		{action: ActCreateConfig, setup: supervisor.NotSetUp, failOn: "create", wantCalls: "create",
			wantNotes: []Notice{{Title: "Could not create the configuration", Body: "create failed"}}},
		{action: ActOpenConfig, wantOpened: []string{"/home/me/.config/ccbalancer/providers.yaml"}},
		{action: ActOpenLogs, wantOpened: []string{"/home/me/.local/state/ccbalancer"}},
		{action: ActCopyBaseURL, wantCopied: []string{"http://127.0.0.1:8080"},
			wantNotes: []Notice{{Title: "ANTHROPIC_BASE_URL copied", Body: "http://127.0.0.1:8080"}}},
		{action: ActCopyBaseURL, copyErr: errNoClipboard, wantCopied: []string{"http://127.0.0.1:8080"},
			wantNotes: []Notice{{Title: "ANTHROPIC_BASE_URL not copied",
				Body: "no clipboard tool here (wl-copy, xclip or xsel).\nSet it by hand:\nANTHROPIC_BASE_URL=http://127.0.0.1:8080"}}},
		{action: ActNotify + string(NoticeFailover), check: func(t *testing.T, _ *fakeServer, c *controller) {
			if c.notifier.On()[NoticeFailover] {
				t.Error("failover notifications still on")
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
			srv.set(func(s *supervisor.Snapshot) { s.Setup = tt.setup })
			d := &desk{copyErr: tt.copyErr}
			a := tt.autostart
			if a == nil {
				a = &fakeAutostart{}
			}
			c := newController(srv, newFakeBackend(), d.options(a), func() {})
			c.handle(t.Context(), tt.action)
			c.bg.Wait()
			quit := c.quitting
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
			if diff := cmp.Diff(tt.wantNotes, d.got()); diff != "" {
				t.Errorf("notices (-want +got):\n%s", diff)
			}
			if tt.check != nil {
				tt.check(t, srv, c)
			}
		})
	}
}

// TestOpenFailureIsShown: an opener that fails is reported.
func TestOpenFailureIsShown(t *testing.T) {
	srv := newFakeServer()
	srv.set(func(s *supervisor.Snapshot) { s.ConfigPath = "/missing/providers.yaml" })
	d := &desk{}
	c := newController(srv, newFakeBackend(), d.options(nil), func() {})
	c.handle(t.Context(), ActOpenConfig)
	c.bg.Wait()
	want := []Notice{{Title: "Could not open providers.yaml", Body: "/missing/providers.yaml\nno such file"}}
	if diff := cmp.Diff(want, d.got()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestOpenPathReportsTheOpenersFailure runs the real opener lookup with a
// PATH holding a stand-in that fails the way xdg-open does for a file with
// no handler.
func TestOpenPathReportsTheOpenersFailure(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"xdg-open", "open"} {
		script := "#!/bin/sh\necho 'xdg-open: no method available for opening '\"$1\" >&2\nexit 3\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir)
	err := openPath("/x/providers.yaml")
	if err == nil || err.Error() != "xdg-open /x/providers.yaml: exit status 3: xdg-open: no method available for opening /x/providers.yaml" {
		t.Errorf("openPath = %v", err)
	}
	t.Setenv("PATH", t.TempDir())
	if err := openPath("/x"); err == nil {
		t.Error("openPath without an opener succeeded")
	}
}

// TestChoicesSurviveARestart: the strategy and notification switches chosen
// in the menu are saved in the state file and applied by the next tray.
func TestChoicesSurviveARestart(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state", "tray.json")
	opts := (&desk{}).options(nil)
	opts.StateFile = state
	srv := newFakeServer()
	c := newController(srv, newFakeBackend(), opts, func() {})
	c.handle(t.Context(), ActStrategy+string(config.StrategyRandom))
	c.handle(t.Context(), ActNotify+string(NoticeRecovery))
	c.handle(t.Context(), ActNotify+string(NoticeFailover))
	if st, err := os.Stat(state); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, %v", st, err)
	}

	next := newFakeServer()
	c2 := newController(next, newFakeBackend(), opts, func() {})
	if got := next.callLog(); got != "strategy random" {
		t.Errorf("the next tray's calls: %q, want the saved strategy applied", got)
	}
	on := c2.notifier.On()
	if !on[NoticeRecovery] || on[NoticeFailover] || !on[NoticeAttention] {
		t.Errorf("switches after a restart: %v", on)
	}
	// A broken state file is not fatal: the defaults apply.
	if err := os.WriteFile(state, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	c3 := newController(newFakeServer(), newFakeBackend(), opts, func() {})
	if diff := cmp.Diff(DefaultNotify(), c3.notifier.On()); diff != "" {
		t.Errorf("switches from a broken file (-want +got):\n%s", diff)
	}
}

func TestStartFailureIsShown(t *testing.T) {
	srv := newFakeServer()
	srv.set(func(s *supervisor.Snapshot) { s.Running, s.Setup, s.Problem = false, supervisor.ListenError, "in use" })
	srv.failOn = "start"
	d := &desk{}
	c := newController(srv, newFakeBackend(), d.options(nil), func() {})
	c.handle(t.Context(), ActToggleProxy)
	if n := d.got(); len(n) != 1 || n[0].Title != "The proxy could not start" {
		t.Errorf("notices = %+v", n)
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
// (coalesced), clicks are handled, a countdown keeps the menu counting down
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
		srv.set(func(s *supervisor.Snapshot) {
			s.Providers[1].State, s.Providers[1].Healthy = health.StateCooling, false
			s.Providers[1].CooldownRemaining = 7 * time.Second
		})
		srv.subs[0] <- proxy.Event{Kind: proxy.EventProviderState, Provider: "B", State: health.StateCooling}
		synctest.Wait()
		if it := find(b.tree(), ActProvider+"B"); it.Label != "B: cooling down, 0:07 left" {
			t.Fatalf("B = %q", it.Label)
		}
		// The countdown advances without events.
		srv.set(func(s *supervisor.Snapshot) { s.Providers[1].CooldownRemaining = 4 * time.Second })
		time.Sleep(c.opts.RefreshEvery)
		synctest.Wait()
		if it := find(b.tree(), ActProvider+"B"); it.Label != "B: cooling down, 0:04 left" {
			t.Fatalf("B after a tick = %q", it.Label)
		}
		// Cooldown over: one more refresh, then the ticker stops.
		srv.set(func(s *supervisor.Snapshot) {
			s.Providers[1].State, s.Providers[1].Healthy = health.StateHealthy, true
			s.Providers[1].CooldownRemaining = 0
		})
		time.Sleep(c.opts.RefreshEvery)
		synctest.Wait()
		if it := find(b.tree(), ActProvider+"B"); it.Label != "B: healthy" {
			t.Fatalf("B after the cooldown = %q", it.Label)
		}
		updates := len(b.calls)
		srv.set(func(s *supervisor.Snapshot) { s.Providers[0].Requests = 99 })
		time.Sleep(10 * c.opts.RefreshEvery)
		synctest.Wait()
		if len(b.calls) != updates {
			t.Errorf("the menu kept refreshing with no countdown running")
		}
		// A provider that needs attention has no countdown: no ticker either.
		srv.set(func(s *supervisor.Snapshot) {
			s.Providers[1].State, s.Providers[1].Healthy = health.StateNeedsAttention, false
		})
		c.changed()
		synctest.Wait()
		if it := find(b.tree(), ActProvider+"B"); it.Label != "B: needs attention" || b.icon != assets.Attention {
			t.Fatalf("B = %q, icon %s", it.Label, b.icon)
		}
		updates = len(b.calls)
		time.Sleep(10 * c.opts.RefreshEvery)
		synctest.Wait()
		if len(b.calls) != updates {
			t.Errorf("the menu kept refreshing for a state with no timer")
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

// TestQuitWaitsForAnswers: Quit with answers still running keeps the tray
// alive while the proxy's stop waits for them, and the menu and tooltip say
// how many are running and when they are aborted; the tray quits when the
// stop ends.
func TestQuitWaitsForAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer()
		srv.stopGate = make(chan struct{})
		b := newFakeBackend()
		quitCalled := make(chan struct{})
		c := newController(srv, b, (&desk{}).options(&fakeAutostart{}), func() { close(quitCalled) })
		c.opts.StopGrace = 0 // the proxy's shutdown_grace
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		events, unsubscribe := srv.Subscribe()
		defer unsubscribe()
		watchDone := make(chan struct{})
		go func() { c.watch(ctx, events); close(watchDone) }()
		loopDone := make(chan struct{})
		go func() { c.loop(ctx); close(loopDone) }()
		synctest.Wait()

		// The proxy's stop closes the port and says, by an event, that it
		// waits for two answers.
		abortAt := time.Now().Add(30 * time.Second)
		srv.set(func(s *supervisor.Snapshot) { s.InFlight, s.AbortAt = 2, abortAt })
		c.actions <- ActQuit
		synctest.Wait()
		srv.subs[0] <- proxy.Event{Kind: proxy.EventStopping, InFlight: 2, Until: abortAt}
		synctest.Wait()
		select {
		case <-quitCalled:
			t.Fatal("the tray quit while the stop waits for answers")
		default:
		}
		menu := b.tree()
		for action, want := range map[string]string{
			ActStatus:      "Stopping: 2 answers still running",
			ActStopping:    "Aborted in 0:30 unless they finish",
			ActToggleProxy: "Start proxy",
			ActQuit:        "Quitting when the answers end…",
		} {
			it := find(menu, action)
			if it == nil {
				t.Errorf("no %s item in the menu:\n%s", action, outline(menu))
				continue
			}
			if it.Label != want || !it.Disabled {
				t.Errorf("%s: %q (disabled %v), want %q, disabled", action, it.Label, it.Disabled, want)
			}
		}
		if want := "ccbalancer: stopping: 2 answers still running"; b.tooltip != want {
			t.Errorf("tooltip %q, want %q", b.tooltip, want)
		}
		// The countdown goes on while the stop waits; clicks on disabled
		// items change nothing.
		c.actions <- ActToggleProxy
		c.actions <- ActQuit
		synctest.Wait()
		time.Sleep(c.opts.RefreshEvery)
		synctest.Wait()
		if it := find(b.tree(), ActStopping); it.Label != "Aborted in 0:27 unless they finish" {
			t.Errorf("after %v: %q", c.opts.RefreshEvery, it.Label)
		}
		if got := srv.callLog(); got != "stop" {
			t.Errorf("server calls %q, want one stop", got)
		}

		srv.set(func(s *supervisor.Snapshot) { s.InFlight, s.AbortAt = 0, time.Time{} })
		close(srv.stopGate)
		<-quitCalled
		<-loopDone
		cancel()
		<-watchDone
	})
}
