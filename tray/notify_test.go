package tray

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ccbalancer/ccbalancer/assets"
	"github.com/ccbalancer/ccbalancer/proxy"
	"github.com/ccbalancer/ccbalancer/proxy/health"
	"github.com/ccbalancer/ccbalancer/supervisor"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// out returns a state event: p entered st at t0 for d (0: no timer).
func outEvent(p string, st health.State, reason string, d time.Duration) proxy.Event {
	e := proxy.Event{Kind: proxy.EventProviderState, Time: t0, Provider: p, Reason: reason, State: st, Prev: health.StateHealthy}
	if d > 0 {
		e.Until = t0.Add(d)
	}
	return e
}

func failed(p, reason string, cooldown time.Duration) proxy.Event {
	return outEvent(p, health.StateCooling, reason, cooldown)
}

// failover is the failover event of a failure that put p in st for d.
func failover(p, next, reason string, st health.State, d time.Duration) proxy.Event {
	e := outEvent(p, st, reason, d)
	e.Kind, e.Next = proxy.EventFailover, next
	return e
}

func recovered(p, how string) proxy.Event {
	return proxy.Event{Kind: proxy.EventProviderState, Provider: p, State: health.StateHealthy, Reason: how}
}

// step is one event at an offset from t0, or a flush.
type step struct {
	at    time.Duration
	event proxy.Event
	flush bool
}

func TestBatcher(t *testing.T) {
	const cfg = "/home/me/.config/ccbalancer/providers.yaml"
	all := map[NoticeKind]bool{NoticeFailover: true, NoticeAttention: true, NoticeAllDown: true, NoticeRecovery: true, NoticeSetup: true}
	tests := []struct {
		name  string
		on    map[NoticeKind]bool // nil: all on
		steps []step
		want  []Notice
	}{
		{
			name: "failover is one notice",
			steps: []step{
				{event: failed("A", "HTTP 529: Overloaded", 90*time.Second)},
				{event: failover("A", "B", "HTTP 529: Overloaded", health.StateCooling, 90*time.Second)},
				{flush: true},
			},
			want: []Notice{{
				Title: "Provider A failed: HTTP 529: Overloaded — switched to B",
				Body:  "A is cooling down for 90s; requests go to B.",
			}},
		},
		{
			name: "a state without an end is shown without one",
			steps: []step{
				{event: failed("A", "connection refused", 0)},
				{flush: true},
			},
			want: []Notice{{Title: "Provider A failed: connection refused", Body: "A is cooling down."}},
		},
		{
			name: "a failover that changed no state is not news",
			steps: []step{
				{event: failover("A", "B", "HTTP 404", "", 0)},
				{flush: true},
			},
		},
		{
			name: "needs attention: one notice saying who and why, no countdown",
			steps: []step{
				{event: outEvent("A", health.StateNeedsAttention, "HTTP 401: invalid x-api-key", 0)},
				{event: failover("A", "B", "HTTP 401: invalid x-api-key", health.StateNeedsAttention, 0)},
				{flush: true},
				// Still rejected an hour later: no second notice.
				{at: time.Hour, event: outEvent("A", health.StateNeedsAttention, "HTTP 401: invalid x-api-key", 0)},
				{at: time.Hour, flush: true},
			},
			want: []Notice{{
				Title: "Provider A needs attention",
				Body:  "HTTP 401: invalid x-api-key\nIts key was rejected or its account has no credit: fix it in the configuration, then choose Retry now.\nRequests go to B meanwhile.",
			}},
		},
		{
			name: "cooling, then the key is rejected: the escalation is news",
			steps: []step{
				{event: failed("A", "HTTP 529", 90*time.Second)},
				{flush: true},
				{at: 10 * time.Second, event: outEvent("A", health.StateNeedsAttention, "HTTP 402: no credit", 0)},
				{at: 11 * time.Second, flush: true},
			},
			want: []Notice{
				{Title: "Provider A failed: HTTP 529", Body: "A is cooling down for 90s."},
				{Title: "Provider A needs attention", Body: "HTTP 402: no credit\nIts key was rejected or its account has no credit: fix it in the configuration, then choose Retry now."},
			},
		},
		{
			name: "rate limited for hours",
			steps: []step{
				{event: failover("A", "B", "HTTP 429", health.StateRateLimited, 2*time.Hour)},
				{flush: true},
			},
			want: []Notice{{
				Title: "Provider A rate limited: HTTP 429 — switched to B",
				Body:  "A is rate limited until " + t0.Add(2*time.Hour).Local().Format("15:04") + "; requests go to B.",
			}},
		},
		{
			name: "one notice per provider per cooldown",
			steps: []step{
				{event: failed("A", "HTTP 529", 90*time.Second)},
				{flush: true},
				{at: 10 * time.Second, event: failed("A", "HTTP 529", 100*time.Second)},
				{at: 11 * time.Second, flush: true},
				// The renewed cooldown ended with no recovery seen: news again.
				{at: 101 * time.Second, event: failed("A", "HTTP 500", 90*time.Second)},
				{at: 102 * time.Second, flush: true},
			},
			want: []Notice{
				{Title: "Provider A failed: HTTP 529", Body: "A is cooling down for 90s."},
				{Title: "Provider A failed: HTTP 500", Body: "A is cooling down for 90s."},
			},
		},
		{
			name: "recoveries are quiet by default",
			on:   DefaultNotify(),
			steps: []step{
				{event: failed("A", "HTTP 529", 90*time.Second)},
				{flush: true},
				{at: 5 * time.Second, event: recovered("A", "served a request")},
				{at: 6 * time.Second, flush: true},
			},
			want: []Notice{{Title: "Provider A failed: HTTP 529", Body: "A is cooling down for 90s."}},
		},
		{
			name: "recoveries, when on, say how and are grouped",
			steps: []step{
				{event: outEvent("A", health.StateNeedsAttention, "HTTP 401", 0)},
				{flush: true},
				{at: 5 * time.Second, event: recovered("A", "retried by hand")},
				{at: 6 * time.Second, flush: true},
				{at: 7 * time.Second, event: failed("A", "x", time.Minute)},
				{at: 7 * time.Second, event: failed("B", "y", time.Minute)},
				{at: 8 * time.Second, flush: true},
				{at: time.Minute, event: recovered("A", "cooldown over")},
				{at: time.Minute, event: recovered("B", "cooldown over")},
				{at: time.Minute, flush: true},
			},
			want: []Notice{
				{Title: "Provider A needs attention", Body: "HTTP 401\nIts key was rejected or its account has no credit: fix it in the configuration, then choose Retry now."},
				{Title: "Back in rotation: A", Body: "A: retried by hand."},
				{Title: "2 providers out of rotation", Body: "Provider A failed: x\nProvider B failed: y"},
				{Title: "Back in rotation: A, B"},
			},
		},
		{
			name:  "recovery of something never announced is silent",
			steps: []step{{event: recovered("A", "served a request")}, {flush: true}},
		},
		{
			name: "failure and recovery in one burst cancel out",
			steps: []step{
				{event: failed("A", "HTTP 529", 90*time.Second)},
				{event: recovered("A", "served a request")},
				{flush: true},
			},
		},
		{
			name: "outage is one grouped notice",
			steps: []step{
				{event: failed("A", "HTTP 529", 90*time.Second)},
				{event: failover("A", "B", "HTTP 529", health.StateCooling, 90*time.Second)},
				{event: outEvent("B", health.StateNeedsAttention, "HTTP 403", 0)},
				{event: proxy.Event{Kind: proxy.EventAllDown, Reason: "HTTP 403"}},
				{flush: true},
				{at: 2 * time.Second, event: proxy.Event{Kind: proxy.EventAllDown, Reason: "x"}},
				{at: 3 * time.Second, flush: true},
			},
			want: []Notice{{
				Title: "All providers down",
				Body:  "Provider A failed: HTTP 529\nProvider B needs attention: HTTP 403\nRequests fail until a provider is back.",
			}},
		},
		{
			name: "a kind switched off is left out, the rest is shown",
			on:   map[NoticeKind]bool{NoticeAttention: true},
			steps: []step{
				{event: failed("A", "HTTP 529", 90*time.Second)},
				{event: outEvent("B", health.StateNeedsAttention, "HTTP 401", 0)},
				{flush: true},
			},
			want: []Notice{{Title: "Provider B needs attention", Body: "HTTP 401\nIts key was rejected or its account has no credit: fix it in the configuration, then choose Retry now."}},
		},
		{
			name: "reload failure with the file's base name",
			steps: []step{
				{event: proxy.Event{Kind: proxy.EventConfigReloadFailed, Reason: cfg + `:12: unknown key "prioirty"`}},
				{flush: true},
			},
			want: []Notice{{
				Title: "Configuration reload failed",
				Body:  "providers.yaml:12: unknown key \"prioirty\"\nThe previous configuration keeps serving.",
			}},
		},
		{
			name: "setup problems once each; serving is told after a problem only",
			steps: []step{
				{event: proxy.Event{Kind: supervisor.EventReady, Reason: "127.0.0.1:8080"}},
				{flush: true},
				{event: proxy.Event{Kind: supervisor.EventNotSetUp, Reason: "no config file found"}},
				{flush: true},
				{event: proxy.Event{Kind: supervisor.EventNotSetUp, Reason: "no config file found"}},
				{flush: true},
				{event: proxy.Event{Kind: supervisor.EventConfigError, Reason: cfg + ":2: environment variable K is not set"}},
				{flush: true},
				{event: proxy.Event{Kind: supervisor.EventReady, Reason: "127.0.0.1:8080"}},
				{flush: true},
				{event: proxy.Event{Kind: supervisor.EventListenError, Reason: "listening on 127.0.0.1:8080: address already in use"}},
				{flush: true},
			},
			want: []Notice{
				{Title: "ccbalancer is not set up", Body: "No configuration file (" + cfg + ").\nChoose Create configuration… in the tray menu, or run ccbalancer init."},
				{Title: "The configuration has errors", Body: "providers.yaml:2: environment variable K is not set\nThe proxy starts once the file loads."},
				{Title: "ccbalancer is serving", Body: "ANTHROPIC_BASE_URL=http://127.0.0.1:8080"},
				{Title: "The proxy could not start", Body: "listening on 127.0.0.1:8080: address already in use\nChange settings.port or stop the program using the port, then choose Start proxy."},
			},
		},
		{
			name: "mixed burst: the most urgent leads, the others follow",
			steps: []step{
				{event: failed("A", "HTTP 529", 90*time.Second)},
				{event: proxy.Event{Kind: proxy.EventConfigReloadFailed, Reason: "bad"}},
				{flush: true},
			},
			want: []Notice{{
				Title: "Configuration reload failed",
				Body:  "bad\nThe previous configuration keeps serving.\nProvider A failed: HTTP 529. A is cooling down for 90s.",
			}},
		},
		{
			name: "events that say nothing",
			steps: []step{
				{event: proxy.Event{Kind: proxy.EventChanged}},
				{event: proxy.Event{Kind: proxy.EventStarted}},
				{event: proxy.Event{Kind: proxy.EventConfigReloaded}},
				{flush: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			on := tt.on
			if on == nil {
				on = all
			}
			b := newBatcher()
			var got []Notice
			for _, s := range tt.steps {
				if s.flush {
					if n, ok := b.Flush(on, cfg); ok {
						got = append(got, n)
					}
					continue
				}
				b.Add(s.event, t0.Add(s.at))
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(Notice{}, "Icon")); diff != "" {
				t.Errorf("notices (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBatcherAddReportsPending(t *testing.T) {
	b := newBatcher()
	if b.Add(proxy.Event{Kind: proxy.EventChanged}, t0) {
		t.Error("a change event opened a burst")
	}
	if !b.Add(failed("A", "x", time.Minute), t0) {
		t.Error("a failure did not open a burst")
	}
	b.Flush(DefaultNotify(), "")
	if b.Add(failed("A", "x", time.Minute), t0.Add(time.Second)) {
		t.Error("a repeated failure within the cooldown opened a burst")
	}
}

func TestShortError(t *testing.T) {
	long := "HTTP 529: overloaded overloaded overloaded overloaded overloaded overloaded overloaded overloaded overloaded"
	tests := []struct{ in, want string }{
		{"HTTP 529", "HTTP 529"},
		{"first line\nsecond", "first line"},
		{long, long[:89] + "…"},
	}
	for _, tt := range tests {
		if got := shortError(tt.in); got != tt.want {
			t.Errorf("shortError(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestNoticeIcons: the icon says how bad it is, the same way the tray does.
func TestNoticeIcons(t *testing.T) {
	all := map[NoticeKind]bool{NoticeFailover: true, NoticeAttention: true, NoticeAllDown: true, NoticeRecovery: true, NoticeSetup: true}
	tests := []struct {
		name   string
		events []proxy.Event
		want   assets.State
	}{
		{"failure", []proxy.Event{failed("A", "x", time.Minute)}, assets.Degraded},
		{"attention", []proxy.Event{outEvent("A", health.StateNeedsAttention, "x", 0)}, assets.Attention},
		{"outage", []proxy.Event{failed("A", "x", time.Minute), {Kind: proxy.EventAllDown}}, assets.Down},
		{"reload", []proxy.Event{{Kind: proxy.EventConfigReloadFailed, Reason: "bad"}}, assets.Attention},
		{"config", []proxy.Event{{Kind: supervisor.EventConfigError, Reason: "bad"}}, assets.Attention},
	}
	for _, tt := range tests {
		b := newBatcher()
		for _, e := range tt.events {
			b.Add(e, t0)
		}
		if n, _ := b.Flush(all, ""); n.Icon != tt.want {
			t.Errorf("%s: icon %q, want %q", tt.name, n.Icon, tt.want)
		}
	}
	b := newBatcher()
	b.Add(failed("A", "x", time.Minute), t0)
	b.Flush(all, "")
	b.Add(recovered("A", "served a request"), t0)
	if n, _ := b.Flush(all, ""); n.Icon != assets.Healthy {
		t.Errorf("recovery: icon %q, want healthy", n.Icon)
	}
}
