package tray

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/assets"
	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy"
	"github.com/ccbalancer/ccbalancer/proxy/health"
	"github.com/ccbalancer/ccbalancer/proxy/quota"
	"github.com/ccbalancer/ccbalancer/proxy/usage"
	"github.com/ccbalancer/ccbalancer/supervisor"
)

// now is the time menus are built at in these tests.
var now = time.Date(2026, 3, 4, 14, 3, 7, 0, time.Local)

func snapshot(running bool, providers ...proxy.ProviderStatus) supervisor.Snapshot {
	return supervisor.Snapshot{Snapshot: proxy.Snapshot{Listen: "127.0.0.1:8080", Running: running, Strategy: config.StrategyRoundRobin,
		ConfigPath: "/c/providers.yaml", LogFile: "/l/x.jsonl", Providers: providers, Routes: 1}}
}

func provider(name string, st health.State, left time.Duration, reason string) proxy.ProviderStatus {
	p := proxy.ProviderStatus{Name: name, Enabled: st != health.StateDisabled, State: st, Healthy: st == health.StateHealthy,
		StateReason: reason, CooldownRemaining: left}
	if left > 0 {
		p.Until = now.Add(left)
	}
	return p
}

var (
	up        = provider("A", health.StateHealthy, 0, "")
	cooling   = provider("B", health.StateCooling, 61*time.Second, "HTTP 529: Overloaded")
	disabled  = provider("C", health.StateDisabled, 0, "")
	attention = provider("D", health.StateNeedsAttention, 0, "HTTP 401: invalid x-api-key")
	limited   = provider("E", health.StateRateLimited, 2*time.Hour, "HTTP 429")
)

func TestIconSummaryTooltip(t *testing.T) {
	withSetup := func(s supervisor.Snapshot, setup supervisor.Setup, problem string) supervisor.Snapshot {
		s.Setup, s.Problem = setup, problem
		return s
	}
	noRoutes := snapshot(true, up)
	noRoutes.Routes = 0
	served := snapshot(true, up, cooling)
	served.LastServed = "A"
	tests := []struct {
		name    string
		snap    supervisor.Snapshot
		icon    assets.State
		tooltip string
	}{
		{"all healthy", snapshot(true, up, disabled), assets.Healthy, "ccbalancer: 1/1 providers healthy"},
		{"degraded, last served", served, assets.Degraded, "ccbalancer: 1/2 providers healthy\nLast request served by A"},
		{"rate limited", snapshot(true, up, limited), assets.Degraded, "ccbalancer: 1/2 providers healthy"},
		{"none in rotation", snapshot(true, cooling, disabled), assets.Down, "ccbalancer: no provider in rotation"},
		{"needs attention", snapshot(true, up, attention), assets.Attention,
			"ccbalancer: 1/2 providers healthy\nD needs attention: HTTP 401: invalid x-api-key"},
		{"every provider disabled", snapshot(true, disabled), assets.Down, "ccbalancer: every provider is disabled"},
		{"no route", noRoutes, assets.Down, "ccbalancer: no model routes configured"},
		{"stopped", snapshot(false, up, cooling), assets.Stopped, "ccbalancer: proxy stopped"},
		{"not set up", withSetup(snapshot(false), supervisor.NotSetUp, "no config file found"), assets.Stopped,
			"ccbalancer: not set up: no configuration file"},
		{"config error", withSetup(snapshot(false), supervisor.ConfigError, "/c/providers.yaml:2: x"), assets.Attention,
			"ccbalancer: the configuration has errors"},
		{"port taken", withSetup(snapshot(false, up), supervisor.ListenError, "address already in use"), assets.Attention,
			"ccbalancer: cannot listen on 127.0.0.1:8080"},
	}
	for _, tt := range tests {
		if got := IconState(tt.snap); got != tt.icon {
			t.Errorf("%s: icon %s, want %s", tt.name, got, tt.icon)
		}
		if got := Tooltip(tt.snap); got != tt.tooltip {
			t.Errorf("%s: tooltip %q, want %q", tt.name, got, tt.tooltip)
		}
	}
}

func TestProviderMenu(t *testing.T) {
	failedOver := provider("B", health.StateCooling, 89500*time.Millisecond, "HTTP 529: Overloaded")
	failedOver.Type, failedOver.BaseURL = config.TypeOpenAI, "https://b"
	failedOver.LastError, failedOver.LastFailure = "HTTP 529: Overloaded\nmore", now.Add(-time.Minute)
	failedOver.Requests, failedOver.Failures = 7, 2
	want := Item{Action: "provider:B", Label: "B: cooling down, 1:30 left", Children: []Item{
		{Action: "provider-info:type:B", Label: "Type: openai at https://b", Disabled: true},
		{Action: "provider-info:error:B", Label: "Last error at 14:02:07: HTTP 529: Overloaded", Disabled: true},
		{Action: "provider-info:requests:B", Label: "Requests: 7 served, 2 failed", Disabled: true},
		{Action: "provider-info:quota:B", Label: "Limits: not reported", Disabled: true},
		{Action: "retry:B", Label: "Retry now"},
	}}
	if diff := cmp.Diff(want, providerMenu(failedOver, "/c/providers.yaml", now)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// With the usage ledger's figures for today.
	failedOver.Today = usage.Totals{Requests: 5, Tokens: usage.Tokens{Input: 12000, Output: 300, CacheRead: 4}, CostUSD: 0.4249}
	if got := providerMenu(failedOver, "", now).Children[2].Label; got != "Requests: 7 served, 2 failed; today 5, 12.3k tokens, $0.42" {
		t.Errorf("requests line with today's usage: %q", got)
	}
	labels := []struct {
		p    proxy.ProviderStatus
		want string
	}{
		{disabled, "C: disabled"},
		{attention, "D: needs attention"},
		{limited, "E: rate limited until 16:03"},
		{provider("F", health.StateCooling, 0, "x"), "F: cooling down"},
		{provider("G", health.StateBudgetReached, 30*time.Second, "budget"), "G: budget reached, 0:30 left"},
	}
	// A subscription out of its 5-hour window: the limits line says how
	// much of each window is used.
	reset := now.Add(3 * time.Hour)
	sub := provider("S", health.StateRateLimited, 3*time.Hour, "HTTP 429")
	sub.Quota = quota.Info{Windows: []quota.Window{
		{Name: "5h", Limit: -1, Remaining: -1, Utilization: 1, Status: "rejected", Reset: reset},
		{Name: "7d", Limit: -1, Remaining: -1, Utilization: 0.4, Reset: reset.Add(72 * time.Hour)},
	}}
	if got := providerMenu(sub, "", now).Children[3].Label; got != "Limits: 5h window 100% used, 7d 40%" {
		t.Errorf("limits line %q", got)
	}
	for _, l := range labels {
		got := providerMenu(l.p, "", now)
		if got.Label != l.want {
			t.Errorf("label %q, want %q", got.Label, l.want)
		}
		if retry := got.Children[4]; retry.Disabled != (!l.p.Enabled) {
			t.Errorf("%s: Retry now disabled=%v", l.want, retry.Disabled)
		}
	}
}

// outline renders a menu model as the end-to-end tests render a panel's view.
func outline(items []Item) string {
	var b strings.Builder
	var walk func([]Item, int)
	walk = func(items []Item, depth int) {
		for _, it := range items {
			b.WriteString(strings.Repeat("  ", depth))
			if it.Separator {
				b.WriteString("---\n")
				continue
			}
			b.WriteString(it.Label)
			if it.Checkable {
				if it.Checked {
					b.WriteString(" [x]")
				} else {
					b.WriteString(" [ ]")
				}
			}
			if it.Disabled {
				b.WriteString(" (disabled)")
			}
			if len(it.Children) > 0 {
				b.WriteString(" >")
			}
			b.WriteString("\n")
			walk(it.Children, depth+1)
		}
	}
	walk(items, 0)
	return b.String()
}

func TestBuildMenuSetup(t *testing.T) {
	prefs := Prefs{Notify: DefaultNotify()}
	notSetUp := snapshot(false)
	notSetUp.Setup, notSetUp.Problem = supervisor.NotSetUp, "no config file found"
	broken := snapshot(false)
	broken.Setup = supervisor.ConfigError
	broken.Problem = "/c/providers.yaml:2: providers[0].auth_value: environment variable K is not set\n/c/providers.yaml:3: b\n/c/providers.yaml:4: c\n/c/providers.yaml:5: d"
	tail := `Notifications >
  Provider needs attention [x]
  Failovers [x]
  All providers down [x]
  Recoveries [ ]
  Configuration and start-up problems [x]
Start at login [ ] (disabled)
---
Quit
`
	tests := []struct {
		snap supervisor.Snapshot
		want string
	}{
		{notSetUp, `Not set up: no configuration file (disabled)
Expected at /c/providers.yaml (disabled)
Create configuration…
Open configuration folder
Reload configuration
---
Open log folder
---
` + tail},
		{broken, `The configuration has errors (disabled)
providers.yaml:2: providers[0].auth_value: environment variable K is not set (disabled)
providers.yaml:3: b (disabled)
…and 2 more (ccbalancer check lists them) (disabled)
Open configuration file
Reload configuration
---
Open log folder
---
` + tail},
	}
	for _, tt := range tests {
		p := prefs
		p.AutostartErr = errNoClipboard // any error: the item is shown unavailable
		got := strings.ReplaceAll(outline(BuildMenu(tt.snap, p, now)), "Start at login (unavailable)", "Start at login")
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s menu (-want +got):\n%s", tt.snap.Setup, diff)
		}
	}
}

func TestBuildMenuServing(t *testing.T) {
	s := snapshot(true, up, attention)
	s.LastServed, s.LastServedAt = "A", now.Add(-4*time.Second)
	got := outline(BuildMenu(s, Prefs{Notify: DefaultNotify(), Autostart: true}, now))
	want := `1/2 providers healthy (disabled)
D needs attention: HTTP 401: invalid x-api-key (disabled)
Listening on http://127.0.0.1:8080 (disabled)
Last request: A at 14:03:03 (disabled)
Stop proxy
---
Providers >
  A: healthy >
    Type:  at  (disabled)
    Last error: none (disabled)
    Requests: 0 served (disabled)
    Limits: not reported (disabled)
    Retry now (disabled)
  D: needs attention >
    Type:  at  (disabled)
    Last error: none (disabled)
    Requests: 0 served (disabled)
    Limits: not reported (disabled)
    Retry now
Strategy >
  Priority [ ]
  Round robin [x]
  Random [ ]
---
Reload configuration
Open configuration file
Open log folder
Copy ANTHROPIC_BASE_URL
---
Notifications >
  Provider needs attention [x]
  Failovers [x]
  All providers down [x]
  Recoveries [ ]
  Configuration and start-up problems [x]
Start at login [x]
---
Quit
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("menu (-want +got):\n%s", diff)
	}
}

func TestBuildMenuStopped(t *testing.T) {
	got := outline(BuildMenu(snapshot(false), Prefs{}, now))
	for _, line := range []string{"Proxy stopped (disabled)\n", "Not listening (127.0.0.1:8080) (disabled)\nStart proxy\n", "Providers (disabled)\n"} {
		if !strings.Contains(got, line) {
			t.Errorf("stopped menu lacks %q:\n%s", line, got)
		}
	}
}

func TestClock(t *testing.T) {
	tests := map[time.Duration]string{
		90 * time.Second:         "1:30",
		89100 * time.Millisecond: "1:30",
		time.Millisecond:         "0:01",
		10 * time.Minute:         "10:00",
	}
	for d, want := range tests {
		if got := clock(d); got != want {
			t.Errorf("clock(%s) = %s, want %s", d, got, want)
		}
	}
}

func TestBaseURL(t *testing.T) {
	tests := map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		"0.0.0.0:9000":   "http://127.0.0.1:9000",
		"[::]:9000":      "http://127.0.0.1:9000",
		":9000":          "http://127.0.0.1:9000",
		"[::1]:8080":     "http://[::1]:8080",
		"localhost:8080": "http://localhost:8080",
	}
	for in, want := range tests {
		if got := BaseURL(in); got != want {
			t.Errorf("BaseURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClipboardCommands(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		goos string
		env  map[string]string
		want [][]string
	}{
		{"darwin", nil, [][]string{{"pbcopy"}}},
		{"windows", nil, [][]string{{"clip"}}},
		{"linux", nil, nil},
		{"linux", map[string]string{"WAYLAND_DISPLAY": "wayland-0"}, [][]string{{"wl-copy"}}},
		{"linux", map[string]string{"DISPLAY": ":0"}, [][]string{{"xclip", "-selection", "clipboard"}, {"xsel", "--clipboard", "--input"}}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, clipboardCommands(tt.goos, env(tt.env))); diff != "" {
			t.Errorf("%s %v (-want +got):\n%s", tt.goos, tt.env, diff)
		}
	}
}
