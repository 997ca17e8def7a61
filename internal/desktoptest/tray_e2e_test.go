package desktoptest

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/assets"
)

// TestTrayEndToEnd runs the real binary against a private session bus with a
// watcher and a notification server owned here, and drives its menu the way
// a panel does.
func TestTrayEndToEnd(t *testing.T) {
	bus := StartBus(t)
	watcher := StartWatcher(t, bus)
	notes := StartNotifications(t, bus)
	a, b := newUpstream(t, "A"), newUpstream(t, "B")
	dir := t.TempDir()
	config, addr := writeConfig(t, dir, a, b)
	binary(t) // build before the clock starts

	in := startInstance(t, config, addr, []string{"DBUS_SESSION_BUS_ADDRESS=" + bus.Address})
	itemAddr := watcher.WaitItem(t, 20*time.Second)
	t.Logf("timing: item registered %s after start", time.Since(in.start).Round(time.Millisecond))
	in.waitListening(10 * time.Second)
	item := NewTrayItem(bus.Connect(t), itemAddr)

	const timeout = 10 * time.Second
	layout := func() (MenuItem, error) { return item.Layout() }
	// waitMenu polls the layout until cond holds on the item at path.
	waitMenu := func(what string, cond func(MenuItem) bool) (MenuItem, time.Duration) {
		t.Helper()
		return poll(t, timeout, what, layout, cond)
	}
	has := func(path ...string) func(MenuItem) bool {
		return func(m MenuItem) bool { _, ok := m.Find(path...); return ok }
	}
	click := func(path ...string) time.Time {
		t.Helper()
		m, err := item.Layout()
		if err != nil {
			t.Fatal(err)
		}
		it, ok := m.Find(path...)
		if !ok {
			t.Fatalf("no menu item %q in\n%s", path, m.Outline())
		}
		at := time.Now()
		if err := item.Click(it.ID); err != nil {
			t.Fatal(err)
		}
		return at
	}
	title := func(want string) {
		t.Helper()
		got, _ := poll(t, timeout, "title "+want, item.Title, func(s string) bool { return s == want })
		if tip, err := item.ToolTip(); err != nil || tip != want {
			t.Errorf("tooltip = %q, %v; want %q", tip, err, want)
		}
		_ = got
	}
	icon := func(want assets.State) {
		t.Helper()
		poll(t, timeout, "icon "+string(want), func() (assets.State, error) { return iconState(t, item), nil },
			func(s assets.State) bool { return s == want })
	}

	// The full menu tree arrives after the first, shallow answer.
	m, took := waitMenu("full menu", has("Providers", "B:", "Retry now"))
	t.Logf("timing: full menu %s after registration", took.Round(time.Millisecond))
	url := "http://" + addr
	want := `2/2 providers healthy (disabled)
Listening on ` + url + ` (disabled)
Stop proxy
---
Providers >
  A: healthy >
    Type: anthropic at ` + a.URL + ` (disabled)
    Last error: none (disabled)
    Requests: 0 served (disabled)
    Retry now (disabled)
  B: healthy >
    Type: anthropic at ` + b.URL + ` (disabled)
    Last error: none (disabled)
    Requests: 0 served (disabled)
    Retry now (disabled)
Strategy >
  Priority [x]
  Round robin [ ]
  Random [ ]
---
Reload configuration
Open configuration file
Open log folder
Copy ANTHROPIC_BASE_URL
---
Notifications [x]
Start at login [ ]
---
Quit
`
	if diff := cmp.Diff(want, m.Outline()); diff != "" {
		t.Fatalf("menu (-want +got):\n%s", diff)
	}
	title("ccbalancer — 2/2 providers healthy")
	icon(assets.Healthy)
	if st, err := item.Prop("Status"); err != nil || st.Value() != "Active" {
		t.Errorf("Status = %v, %v; want Active", st, err)
	}

	// Stop closes the port; Start opens it again.
	at := click("Stop proxy")
	_, took = waitMenu("Start proxy", has("Start proxy"))
	t.Logf("timing: click Stop to new menu %s", time.Since(at).Round(time.Millisecond))
	if in.listening() {
		t.Error("port still open after Stop proxy")
	}
	m, _ = item.Layout()
	if got, _ := m.Find("Not listening"); got.Label != "Not listening ("+addr+")" {
		t.Errorf("address line after stop = %q", got.Label)
	}
	title("ccbalancer — proxy stopped")
	icon(assets.Stopped)
	click("Start proxy")
	waitMenu("Stop proxy", has("Stop proxy"))
	if !in.listening() {
		t.Fatal("port closed after Start proxy")
	}
	icon(assets.Healthy)
	if code, by := in.message(); code != 200 || by != "A" {
		t.Fatalf("request after restart: %d from %q, want 200 from A", code, by)
	}

	// A provider fails: the request fails over, the icon and A's item change,
	// and exactly one notification says so.
	a.failing.Store(true)
	failedAt := time.Now()
	if code, by := in.message(); code != 200 || by != "B" {
		t.Fatalf("request with A failing: %d from %q, want 200 from B", code, by)
	}
	m, took = waitMenu("A cooling down", has("Providers", "A: cooling down"))
	t.Logf("timing: failure to menu update %s", took.Round(time.Millisecond))
	aItem, _ := m.Find("Providers", "A:")
	if !strings.HasPrefix(aItem.Label, "A: cooling down, 1:") || !strings.HasSuffix(aItem.Label, " left") {
		t.Errorf("A's item = %q, want a countdown from 1:30", aItem.Label)
	}
	if e, _ := m.Find("Providers", "A:", "Last error:"); !strings.HasPrefix(e.Label, "Last error: HTTP 529") {
		t.Errorf("A's last error line = %q", e.Label)
	}
	if r, _ := m.Find("Providers", "A:", "Retry now"); !r.Enabled {
		t.Error("Retry now is disabled while A cools down")
	}
	if s, _ := m.Find("1/2 providers healthy"); s.Label == "" {
		t.Errorf("status line missing in\n%s", m.Outline())
	}
	title("ccbalancer — 1/2 providers healthy")
	icon(assets.Degraded)
	got := notes.WaitCount(t, 1, timeout)
	t.Logf("timing: failure to notification %s (burst window %s included)", got[0].At.Sub(failedAt).Round(time.Millisecond), "1s")
	// A second request while A cools down goes straight to B: no new notice.
	if code, by := in.message(); code != 200 || by != "B" {
		t.Fatalf("request while A cools down: %d from %q", code, by)
	}
	time.Sleep(1500 * time.Millisecond) // longer than a burst window
	got = notes.All()
	if len(got) != 1 {
		t.Fatalf("%d notifications after one failure, want 1: %+v", len(got), got)
	}
	n := got[0]
	if !strings.HasPrefix(n.Summary, "Provider A failed: HTTP 529") || !strings.HasSuffix(n.Summary, " — switched to B") {
		t.Errorf("notification summary = %q", n.Summary)
	}
	if n.Body != "A is cooling down for 90s; requests go to B." {
		t.Errorf("notification body = %q", n.Body)
	}
	if n.App != "ccbalancer" || !n.HasImage {
		t.Errorf("notification app %q, image %v; want ccbalancer with an embedded icon", n.App, n.HasImage)
	}

	// Retry now clears the cooldown; the recovery is told once.
	a.failing.Store(false)
	click("Providers", "A:", "Retry now")
	waitMenu("A healthy", has("Providers", "A: healthy"))
	icon(assets.Healthy)
	got = notes.WaitCount(t, 2, timeout)
	if got[1].Summary != "Provider A recovered" {
		t.Errorf("recovery notification = %q", got[1].Summary)
	}
	for _, p := range in.providers()["providers"].([]any) {
		p := p.(map[string]any)
		if p["name"] == "A" && (p["healthy"] != true || p["cooldown_remaining_s"].(float64) != 0) {
			t.Errorf("GET /providers after Retry now: %v", p)
		}
	}
	// A success publishes no event; the counters are refreshed when the menu opens.
	if code, by := in.message(); code != 200 || by != "A" {
		t.Fatalf("request after Retry now: %d from %q, want 200 from A", code, by)
	}
	time.Sleep(200 * time.Millisecond)
	m, _ = item.Layout()
	if _, ok := m.Find("Providers", "A:", "Requests: 1 served, 1 failed"); !ok {
		t.Fatalf("A's counter changed before the menu opened:\n%s", m.Outline())
	}
	if err := item.Opened(); err != nil {
		t.Fatal(err)
	}
	waitMenu("A's counter", has("Providers", "A:", "Requests: 2 served, 1 failed"))

	// The strategy changes live.
	click("Strategy", "Round robin")
	m, _ = waitMenu("round robin checked", func(m MenuItem) bool {
		it, ok := m.Find("Strategy", "Round robin")
		return ok && it.Checked
	})
	if p, _ := m.Find("Strategy", "Priority"); p.Checked {
		t.Error("Priority still checked after choosing Round robin")
	}
	if s := in.providers()["selection_strategy"]; s != "round_robin" {
		t.Errorf("GET /providers selection_strategy = %v, want round_robin", s)
	}

	// Notifications off and on again: the check box follows.
	click("Notifications")
	waitMenu("notifications off", func(m MenuItem) bool { it, _ := m.Find("Notifications"); return !it.Checked })
	click("Notifications")
	waitMenu("notifications on", func(m MenuItem) bool { it, _ := m.Find("Notifications"); return it.Checked })

	// Start at login writes and removes the XDG autostart entry.
	entry := filepath.Join(in.home, ".config", "autostart", "ccbalancer.desktop")
	click("Start at login")
	waitMenu("start at login on", func(m MenuItem) bool { it, _ := m.Find("Start at login"); return it.Checked })
	text, err := os.ReadFile(entry)
	if err != nil {
		t.Fatalf("autostart entry: %v", err)
	}
	if !strings.Contains(string(text), "Exec="+binary(t)+" --config "+config+"\n") {
		t.Errorf("autostart entry does not run this binary with its config:\n%s", text)
	}
	click("Start at login")
	waitMenu("start at login off", func(m MenuItem) bool { it, _ := m.Find("Start at login"); return !it.Checked })
	if _, err := os.Stat(entry); !os.IsNotExist(err) {
		t.Errorf("autostart entry still there: %v", err)
	}

	// No clipboard here: the address is shown in a notification.
	click("Copy ANTHROPIC_BASE_URL")
	got = notes.WaitCount(t, 3, timeout)
	if got[2].Summary != "ANTHROPIC_BASE_URL" || got[2].Body != "ANTHROPIC_BASE_URL="+url {
		t.Errorf("copy notification = %q / %q", got[2].Summary, got[2].Body)
	}

	// A reload that adds a provider rebuilds the menu; its items still work.
	orig, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	withC := strings.Replace(string(orig), "model_routes:", `  - {name: C, type: anthropic, base_url: "`+b.URL+`", auth_type: api_key, auth_value: "k3"}
model_routes:`, 1)
	if err := os.WriteFile(config, []byte(withC), 0o600); err != nil {
		t.Fatal(err)
	}
	click("Reload configuration")
	m, _ = waitMenu("provider C", has("Providers", "C: healthy", "Retry now"))
	if got := m.Outline(); !strings.Contains(got, "Providers >\n  A: healthy >\n") || !strings.Contains(got, "  C: healthy >\n    Type: anthropic at "+b.URL+" (disabled)\n") {
		t.Errorf("menu after adding C:\n%s", got)
	}
	if s, _ := m.Find("3/3 providers healthy"); s.Label == "" {
		t.Errorf("status line after adding C:\n%s", m.Outline())
	}
	click("Strategy", "Random")
	waitMenu("random checked after the rebuild", func(m MenuItem) bool {
		it, ok := m.Find("Strategy", "Random")
		return ok && it.Checked
	})
	if s := in.providers()["selection_strategy"]; s != "random" {
		t.Errorf("GET /providers selection_strategy = %v after clicking a rebuilt item, want random", s)
	}

	// A broken config file: reload fails, the old config serves, one notice.
	if err := os.WriteFile(config, []byte("providers: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	click("Reload configuration")
	got = notes.WaitCount(t, 4, timeout)
	if got[3].Summary != "Configuration reload failed" || !strings.Contains(got[3].Body, "providers.yaml") {
		t.Errorf("reload notification = %q / %q", got[3].Summary, got[3].Body)
	}
	if code, _ := in.message(); code != 200 {
		t.Errorf("request after a failed reload: %d", code)
	}

	// Quit stops the proxy and exits 0.
	click("Quit")
	if code := in.waitExit(15 * time.Second); code != 0 {
		t.Errorf("exit code after Quit = %d, want 0", code)
	}
	if in.listening() {
		t.Error("port still open after Quit")
	}
	if n := len(notes.All()); n != 4 {
		t.Errorf("%d notifications in all, want 4: %+v", n, notes.All())
	}
}

// TestHeadlessWithoutBus: with no session bus the same binary logs why and
// serves without a tray, and SIGTERM stops it cleanly.
func TestHeadlessWithoutBus(t *testing.T) {
	a, b := newUpstream(t, "A"), newUpstream(t, "B")
	config, addr := writeConfig(t, t.TempDir(), a, b)
	in := startInstance(t, config, addr, nil) // no DBUS_SESSION_BUS_ADDRESS
	in.waitListening(20 * time.Second)
	if code, by := in.message(); code != 200 || by != "A" {
		t.Fatalf("request: %d from %q, want 200 from A", code, by)
	}
	poll(t, 5*time.Second, "headless log line", func() (string, error) { return in.out.String(), nil },
		func(s string) bool { return strings.Contains(s, "DBUS_SESSION_BUS_ADDRESS is not set") })
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := in.waitExit(15 * time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
	if out := in.out.String(); strings.Contains(out, "panic") || strings.Contains(out, "tray ready") {
		t.Errorf("headless output mentions a panic or a tray:\n%s", out)
	}
}

// TestTrayExitsOnSIGTERM: with a tray up, SIGTERM stops the proxy and the
// process exits 0.
func TestTrayExitsOnSIGTERM(t *testing.T) {
	bus := StartBus(t)
	watcher := StartWatcher(t, bus)
	StartNotifications(t, bus)
	a, b := newUpstream(t, "A"), newUpstream(t, "B")
	config, addr := writeConfig(t, t.TempDir(), a, b)
	in := startInstance(t, config, addr, []string{"DBUS_SESSION_BUS_ADDRESS=" + bus.Address})
	watcher.WaitItem(t, 20*time.Second)
	in.waitListening(10 * time.Second)
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := in.waitExit(15 * time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
	if in.listening() {
		t.Error("port still open after SIGTERM")
	}
}
