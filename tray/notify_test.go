package tray

import (
	"testing"
	"time"

	"github.com/ccbalancer/ccbalancer/proxy"
	"github.com/ccbalancer/ccbalancer/proxy/health"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ccbalancer/ccbalancer/assets"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func failed(p, reason string, cooldown time.Duration) proxy.Event {
	e := proxy.Event{Kind: proxy.EventProviderState, Time: t0, Provider: p, Reason: reason, State: health.StateCooling}
	if cooldown > 0 {
		e.Until = t0.Add(cooldown)
	}
	return e
}

func failover(p, next, reason string) proxy.Event {
	return proxy.Event{Kind: proxy.EventFailover, Provider: p, Next: next, Reason: reason}
}

func recovered(p string) proxy.Event {
	return proxy.Event{Kind: proxy.EventProviderState, Provider: p, State: health.StateHealthy}
}

// step is one event at an offset from t0, or a flush (zero Event).
type step struct {
	at    time.Duration
	event proxy.Event
	flush bool
}

func TestBatcher(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
		want  []Notice
	}{
		{
			name: "failover is one notice",
			steps: []step{
				{event: failed("A", "HTTP 529: Overloaded", 90*time.Second)},
				{event: failover("A", "B", "HTTP 529: Overloaded")},
				{flush: true},
			},
			want: []Notice{{
				Title: "Provider A failed: HTTP 529: Overloaded — switched to B",
				Body:  "A is cooling down for 90s; requests go to B.",
			}},
		},
		{
			name: "failover event before the cooldown event",
			steps: []step{
				{event: failover("A", "B", "connection refused")},
				{event: failed("A", "connection refused", 5*time.Minute)},
				{flush: true},
			},
			want: []Notice{{
				Title: "Provider A failed: connection refused — switched to B",
				Body:  "A is cooling down for 5m; requests go to B.",
			}},
		},
		{
			name: "one notice per provider per cooldown",
			steps: []step{
				{event: failed("A", "HTTP 529", 90*time.Second)},
				{flush: true},
				{at: 10 * time.Second, event: failover("A", "B", "HTTP 529")},
				{at: 10 * time.Second, event: failed("A", "HTTP 529", 90*time.Second)},
				{at: 11 * time.Second, flush: true},
				// 10 s + 90 s: the renewed cooldown has ended.
				{at: 101 * time.Second, event: failed("A", "HTTP 500", 90*time.Second)},
				{at: 102 * time.Second, flush: true},
			},
			want: []Notice{
				{Title: "Provider A failed: HTTP 529", Body: "A is cooling down for 90s."},
				{Title: "Provider A failed: HTTP 500", Body: "A is cooling down for 90s."},
			},
		},
		{
			name: "recovery of an announced failure, then a new failure is told",
			steps: []step{
				{event: failed("A", "HTTP 529", 90*time.Second)},
				{flush: true},
				{at: 5 * time.Second, event: recovered("A")},
				{at: 6 * time.Second, flush: true},
				{at: 7 * time.Second, event: failed("A", "HTTP 503", 90*time.Second)},
				{at: 8 * time.Second, flush: true},
			},
			want: []Notice{
				{Title: "Provider A failed: HTTP 529", Body: "A is cooling down for 90s."},
				{Title: "Provider A recovered", Body: "A is back in rotation."},
				{Title: "Provider A failed: HTTP 503", Body: "A is cooling down for 90s."},
			},
		},
		{
			name:  "recovery of something never announced is silent",
			steps: []step{{event: recovered("A")}, {flush: true}},
		},
		{
			name: "failure and recovery in one burst cancel out",
			steps: []step{
				{event: failed("A", "HTTP 529", 90*time.Second)},
				{event: recovered("A")},
				{flush: true},
			},
		},
		{
			name: "outage is one grouped notice",
			steps: []step{
				{event: failed("A", "HTTP 529", 90*time.Second)},
				{event: failover("A", "B", "HTTP 529")},
				{event: failed("B", "connection refused", 90*time.Second)},
				{event: proxy.Event{Kind: proxy.EventAllDown, Reason: "connection refused"}},
				{flush: true},
				// Still down: no second all-down notice.
				{at: 2 * time.Second, event: proxy.Event{Kind: proxy.EventAllDown, Reason: "x"}},
				{at: 3 * time.Second, flush: true},
			},
			want: []Notice{{
				Title: "All providers down",
				Body:  "Provider A failed: HTTP 529\nProvider B failed: connection refused\nRequests fail until a provider recovers.",
			}},
		},
		{
			name: "several failures without an outage",
			steps: []step{
				{event: failed("A", "HTTP 529", 90*time.Second)},
				{event: failover("A", "C", "HTTP 529")},
				{event: failed("B", "HTTP 500", 90*time.Second)},
				{flush: true},
			},
			want: []Notice{{
				Title: "2 providers failed",
				Body:  "Provider A failed: HTTP 529 — switched to C\nProvider B failed: HTTP 500",
			}},
		},
		{
			name: "several recoveries",
			steps: []step{
				{event: failed("A", "x", time.Minute)},
				{event: failed("B", "y", time.Minute)},
				{flush: true},
				{at: time.Minute, event: recovered("A")},
				{at: time.Minute, event: recovered("B")},
				{at: time.Minute, flush: true},
			},
			want: []Notice{
				{Title: "2 providers failed", Body: "Provider A failed: x\nProvider B failed: y"},
				{Title: "2 providers recovered", Body: "A, B are back in rotation."},
			},
		},
		{
			name: "reload failure with its first error",
			steps: []step{
				{event: proxy.Event{Kind: proxy.EventConfigReloadFailed, Reason: "providers.yaml:12: unknown key \"prioirty\""}},
				{flush: true},
			},
			want: []Notice{{
				Title: "Configuration reload failed",
				Body:  "providers.yaml:12: unknown key \"prioirty\"\nThe previous configuration keeps serving.",
			}},
		},
		{
			name: "mixed burst: the failure leads, the reload error follows",
			steps: []step{
				{event: failed("A", "HTTP 529", 90*time.Second)},
				{event: proxy.Event{Kind: proxy.EventConfigReloadFailed, Reason: "bad"}},
				{flush: true},
			},
			want: []Notice{{
				Title: "Provider A failed: HTTP 529",
				Body:  "A is cooling down for 90s.\nConfiguration reload failed. bad The previous configuration keeps serving.",
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
			b := newBatcher()
			var got []Notice
			for _, s := range tt.steps {
				if s.flush {
					if n, ok := b.Flush(); ok {
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
	b.Flush()
	if b.Add(failed("A", "x", time.Minute), t0.Add(time.Second)) {
		t.Error("a repeated failure within the cooldown opened a burst")
	}
}

func TestShortError(t *testing.T) {
	long := "HTTP 529: " + string(make([]byte, 0)) + "overloaded overloaded overloaded overloaded overloaded overloaded overloaded overloaded"
	tests := []struct{ in, want string }{
		{"HTTP 529", "HTTP 529"},
		{"first line\nsecond", "first line"},
		{long, long[:79] + "…"},
	}
	for _, tt := range tests {
		if got := shortError(tt.in); got != tt.want {
			t.Errorf("shortError(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestNoticeIcons: the icon says how bad it is, the same way the tray does.
func TestNoticeIcons(t *testing.T) {
	tests := []struct {
		name   string
		events []proxy.Event
		want   assets.State
	}{
		{"failure", []proxy.Event{failed("A", "x", time.Minute)}, assets.Degraded},
		{"outage", []proxy.Event{failed("A", "x", time.Minute), {Kind: proxy.EventAllDown}}, assets.Down},
		{"reload", []proxy.Event{{Kind: proxy.EventConfigReloadFailed, Reason: "bad"}}, assets.Degraded},
	}
	for _, tt := range tests {
		b := newBatcher()
		for _, e := range tt.events {
			b.Add(e, t0)
		}
		if n, _ := b.Flush(); n.Icon != tt.want {
			t.Errorf("%s: icon %q, want %q", tt.name, n.Icon, tt.want)
		}
	}
	b := newBatcher()
	b.Add(failed("A", "x", time.Minute), t0)
	b.Flush()
	b.Add(recovered("A"), t0)
	if n, _ := b.Flush(); n.Icon != assets.Healthy {
		t.Errorf("recovery: icon %q, want healthy", n.Icon)
	}
}
