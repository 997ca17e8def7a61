package tray

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/assets"
	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy"
)

func snapshot(running bool, providers ...proxy.ProviderStatus) proxy.Snapshot {
	return proxy.Snapshot{Listen: "127.0.0.1:8080", Running: running, Strategy: config.StrategyRoundRobin,
		ConfigPath: "/c/providers.yaml", LogFile: "/l/x.jsonl", Providers: providers}
}

var (
	up       = proxy.ProviderStatus{Name: "A", Enabled: true, Healthy: true}
	cooling  = proxy.ProviderStatus{Name: "B", Enabled: true, CooldownRemaining: 61 * time.Second}
	disabled = proxy.ProviderStatus{Name: "C"}
)

func TestIconStateAndTitle(t *testing.T) {
	tests := []struct {
		name  string
		snap  proxy.Snapshot
		icon  assets.State
		title string
	}{
		{"all healthy", snapshot(true, up, disabled), assets.Healthy, "ccbalancer — 1/1 providers healthy"},
		{"degraded", snapshot(true, up, cooling), assets.Degraded, "ccbalancer — 1/2 providers healthy"},
		{"all down", snapshot(true, cooling, disabled), assets.Down, "ccbalancer — all providers down"},
		{"stopped", snapshot(false, up, cooling), assets.Stopped, "ccbalancer — proxy stopped"},
		{"nothing enabled", snapshot(true, disabled), assets.Healthy, "ccbalancer — no providers enabled"},
	}
	for _, tt := range tests {
		if got := IconState(tt.snap); got != tt.icon {
			t.Errorf("%s: icon %s, want %s", tt.name, got, tt.icon)
		}
		if got := Title(tt.snap); got != tt.title {
			t.Errorf("%s: title %q, want %q", tt.name, got, tt.title)
		}
	}
}

func TestProviderMenu(t *testing.T) {
	failedOver := proxy.ProviderStatus{Name: "B", Type: config.TypeOpenAI, BaseURL: "https://b", Enabled: true,
		CooldownRemaining: 89500 * time.Millisecond, LastError: "HTTP 529: Overloaded\nmore", Requests: 7, Failures: 2}
	want := Item{Action: "provider:B", Label: "B: cooling down, 1:30 left", Children: []Item{
		{Action: "provider-info:type:B", Label: "Type: openai at https://b", Disabled: true},
		{Action: "provider-info:error:B", Label: "Last error: HTTP 529: Overloaded", Disabled: true},
		{Action: "provider-info:requests:B", Label: "Requests: 7 served, 2 failed", Disabled: true},
		{Action: "retry:B", Label: "Retry now"},
	}}
	if diff := cmp.Diff(want, providerMenu(failedOver)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := providerMenu(disabled); got.Label != "C: disabled" || !got.Children[3].Disabled {
		t.Errorf("disabled provider: %+v", got)
	}
	if got := providerMenu(proxy.ProviderStatus{Name: "D", Enabled: true}); got.Label != "D: cooling down" {
		t.Errorf("cooldown with no time left: %q", got.Label)
	}
}

func TestBuildMenuStoppedAndPrefs(t *testing.T) {
	m := BuildMenu(snapshot(false), Prefs{Notifications: false, Autostart: true})
	labels := map[string]Item{}
	var walk func([]Item)
	walk = func(items []Item) {
		for _, it := range items {
			labels[it.Action] = it
			walk(it.Children)
		}
	}
	walk(m)
	checks := []struct {
		action, label     string
		disabled, checked bool
	}{
		{ActStatus, "Proxy stopped", true, false},
		{ActAddress, "Not listening (127.0.0.1:8080)", true, false},
		{ActToggleProxy, "Start proxy", false, false},
		{ActProviders, "Providers", true, false},
		{ActStrategy + "round_robin", "Round robin", false, true},
		{ActStrategy + "priority", "Priority", false, false},
		{ActNotifications, "Notifications", false, false},
		{ActAutostart, "Start at login", false, true},
	}
	for _, c := range checks {
		it, ok := labels[c.action]
		if !ok {
			t.Errorf("no item %s", c.action)
			continue
		}
		if it.Label != c.label || it.Disabled != c.disabled || it.Checked != c.checked {
			t.Errorf("%s = %q disabled=%v checked=%v; want %q %v %v", c.action, it.Label, it.Disabled, it.Checked, c.label, c.disabled, c.checked)
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
