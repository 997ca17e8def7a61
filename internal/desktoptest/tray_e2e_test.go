package desktoptest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ccbalancer/ccbalancer/assets"
)

// startTray starts a private bus with a watcher and a notification server,
// two upstreams, and the binary with its config; it returns what a test
// drives.
func startTray(t *testing.T) (*instance, *panel, *Notifications, *upstream, *upstream) {
	t.Helper()
	bus := StartBus(t)
	watcher := StartWatcher(t, bus)
	notes := StartNotifications(t, bus)
	a, b := newUpstream(t, "A"), newUpstream(t, "B")
	config, addr := writeConfig(t, t.TempDir(), a, b)
	binary(t) // build before the clock starts
	in := startInstance(t, config, addr, []string{"DBUS_SESSION_BUS_ADDRESS=" + bus.Address})
	p := newPanel(t, bus, watcher)
	t.Logf("timing: item registered %s after start", time.Since(in.start).Round(time.Millisecond))
	in.waitListening(panelTimeout)
	return in, p, notes, a, b
}

// barrier proves that no notification is pending: a failed reload is
// announced through the same burst logic as everything else, in the order
// the events came, so when its notice is the next one, nothing that
// happened before it is still waiting to be told. It leaves the file as it
// was and returns every notification so far.
func barrier(t *testing.T, in *instance, p *panel, notes *Notifications, want int) []Notification {
	t.Helper()
	orig, err := os.ReadFile(in.config)
	if err != nil {
		t.Fatal(err)
	}
	writeFileAtomic(t, in.config, "providers: [\n")
	p.click("Reload configuration")
	got := notes.WaitCount(t, want, panelTimeout)
	writeFileAtomic(t, in.config, string(orig))
	last := got[len(got)-1]
	if len(got) != want || last.Summary != "Configuration reload failed" {
		t.Fatalf("notifications up to a failed reload: %+v; want %d, the last the reload's", got, want)
	}
	// The file's base name, not a cut absolute path.
	if !strings.HasPrefix(last.Body, "providers.yaml:") || strings.Contains(last.Body, string(filepath.Separator)+"providers.yaml") {
		t.Errorf("reload notification body = %q, want providers.yaml:LINE: message", last.Body)
	}
	return got
}

var lastErrorLine = regexp.MustCompile(`^Last error at \d\d:\d\d:\d\d: HTTP 529: Overloaded$`)

// TestTrayEndToEnd runs the real binary against a private session bus with a
// watcher and a notification server owned here, and drives its menu the way
// a panel does.
func TestTrayEndToEnd(t *testing.T) {
	in, p, notes, a, b := startTray(t)
	p.identity()
	url := "http://" + in.addr
	provider := func(name, url string) string {
		return `  ` + name + `: healthy >
    Type: anthropic at ` + url + ` (disabled)
    Last error: none (disabled)
    Requests: 0 served (disabled)
    Limits: not reported (disabled)
    Retry now (disabled)
`
	}
	p.waitOutline("first", `2/2 providers healthy (disabled)
Listening on `+url+` (disabled)
Last request: none yet (disabled)
Stop proxy
---
Providers >
`+provider("A", a.URL)+provider("B", b.URL)+`Strategy >
  Priority [x]
  Round robin [ ]
  Random [ ]
---
Reload configuration
Open configuration file
Open log folder
Copy ANTHROPIC_BASE_URL
---
`+notificationsTail)
	p.tooltip("ccbalancer: 2/2 providers healthy")
	p.icon(assets.Healthy)
	if st, err := p.item.Prop("Status"); err != nil || st.Value() != "Active" {
		t.Errorf("Status = %v, %v; want Active", st, err)
	}

	// Stop closes the port; Start opens it again.
	at := p.click("Stop proxy")
	m := p.waitMenu("Start proxy", p.has("Start proxy"))
	t.Logf("timing: click Stop to new menu %s", time.Since(at).Round(time.Millisecond))
	if in.listening() {
		t.Error("port still open after Stop proxy")
	}
	if got, _ := m.Find("Not listening"); got.Label != "Not listening ("+in.addr+")" {
		t.Errorf("address line after stop = %q", got.Label)
	}
	p.tooltip("ccbalancer: proxy stopped")
	p.icon(assets.Stopped)
	p.identity()
	p.click("Start proxy")
	p.waitMenu("Stop proxy", p.has("Stop proxy"))
	if !in.listening() {
		t.Fatal("port closed after Start proxy")
	}
	p.icon(assets.Healthy)
	if code, by := in.message(); code != 200 || by != "A" {
		t.Fatalf("request after restart: %d from %q, want 200 from A", code, by)
	}
	p.tooltip("ccbalancer: 2/2 providers healthy\nLast request served by A")

	// A fails: the request fails over, the icon, A's item and the tooltip
	// change, and one notification says so with the cooldown the proxy set.
	a.fail.Store(529)
	failedAt := time.Now()
	if code, by := in.message(); code != 200 || by != "B" {
		t.Fatalf("request with A failing: %d from %q, want 200 from B", code, by)
	}
	m = p.waitMenu("A cooling down", p.has("Providers", "A: cooling down"))
	aItem, _ := m.Find("Providers", "A:")
	if !strings.HasPrefix(aItem.Label, "A: cooling down, 1:") || !strings.HasSuffix(aItem.Label, " left") {
		t.Errorf("A's item = %q, want a countdown from 1:30", aItem.Label)
	}
	if e, _ := m.Find("Providers", "A:", "Last error"); !lastErrorLine.MatchString(e.Label) {
		t.Errorf("A's last error line = %q, want it with the time", e.Label)
	}
	if r, _ := m.Find("Providers", "A:", "Retry now"); !r.Enabled {
		t.Error("Retry now is disabled while A cools down")
	}
	p.tooltip("ccbalancer: 1/2 providers healthy\nLast request served by B")
	p.icon(assets.Degraded)
	got := notes.WaitCount(t, 1, panelTimeout)
	t.Logf("timing: failure to notification %s (burst window %s included)", got[0].At.Sub(failedAt).Round(time.Millisecond), "1s")
	n := got[0]
	if n.Summary != "Provider A failed: HTTP 529: Overloaded — switched to B" || n.Body != "A is cooling down for 90s; requests go to B." {
		t.Errorf("notification = %q / %q", n.Summary, n.Body)
	}
	if n.App != "ccbalancer" || !n.HasImage {
		t.Errorf("notification app %q, image %v; want ccbalancer with an embedded icon", n.App, n.HasImage)
	}
	// A second request while A cools down goes straight to B.
	if code, by := in.message(); code != 200 || by != "B" {
		t.Fatalf("request while A cools down: %d from %q", code, by)
	}

	// Retry now returns A; recoveries are quiet by default.
	a.fail.Store(0)
	p.click("Providers", "A:", "Retry now")
	p.waitMenu("A healthy", p.has("Providers", "A: healthy"))
	p.icon(assets.Healthy)
	for _, pr := range in.providers()["providers"].([]any) {
		pr := pr.(map[string]any)
		if pr["name"] == "A" && (pr["state"] != "healthy" || pr["cooldown_remaining_s"].(float64) != 0) {
			t.Errorf("GET /providers after Retry now: %v", pr)
		}
	}
	if code, by := in.message(); code != 200 || by != "A" {
		t.Fatalf("request after Retry now: %d from %q, want 200 from A", code, by)
	}
	// Nothing since the one failure notice: not the second request, not the recovery.
	barrier(t, in, p, notes, 2)
	if code, _ := in.message(); code != 200 {
		t.Errorf("request after a failed reload: %d", code)
	}
	// Counters are refreshed when the menu opens.
	if err := p.item.Opened(); err != nil {
		t.Fatal(err)
	}
	p.waitMenu("A's counter", p.has("Providers", "A:", "Requests: 3 served, 1 failed"))

	// Strategy items are radio items, and the choice is saved.
	state := filepath.Join(in.home, ".local", "state", "ccbalancer", "tray.json")
	p.click("Strategy", "Round robin")
	checked := func(path ...string) func(MenuItem) bool {
		return func(m MenuItem) bool { it, ok := m.Find(path...); return ok && it.Checked }
	}
	m = p.waitMenu("round robin checked", checked("Strategy", "Round robin"))
	if pr, _ := m.Find("Strategy", "Priority"); pr.Checked {
		t.Error("Priority still checked after choosing Round robin")
	}
	if s := in.providers()["selection_strategy"]; s != "round_robin" {
		t.Errorf("GET /providers selection_strategy = %v, want round_robin", s)
	}
	p.click("Strategy", "Round robin") // the one in force: nothing changes
	p.waitMenu("round robin still checked", checked("Strategy", "Round robin"))

	// A notification switch, saved beside the strategy.
	p.click("Notifications", "Recoveries")
	p.waitMenu("recoveries on", checked("Notifications", "Recoveries"))
	var saved struct {
		Strategy string          `json:"strategy"`
		Notify   map[string]bool `json:"notify"`
	}
	b0, err := os.ReadFile(state)
	if err != nil || json.Unmarshal(b0, &saved) != nil || saved.Strategy != "round_robin" || !saved.Notify["recovery"] {
		t.Errorf("state file %s: %s, %v", state, b0, err)
	}

	// Start at login writes and removes the XDG autostart entry.
	entry := filepath.Join(in.home, ".config", "autostart", "ccbalancer.desktop")
	p.click("Start at login")
	p.waitMenu("start at login on", checked("Start at login"))
	text, err := os.ReadFile(entry)
	if err != nil {
		t.Fatalf("autostart entry: %v", err)
	}
	if !strings.Contains(string(text), "Exec="+binary(t)+" --config "+in.config+"\n") {
		t.Errorf("autostart entry does not run this binary with its config:\n%s", text)
	}
	p.click("Start at login")
	p.waitMenu("start at login off", func(m MenuItem) bool { it, ok := m.Find("Start at login"); return ok && !it.Checked })
	if _, err := os.Stat(entry); !os.IsNotExist(err) {
		t.Errorf("autostart entry still there: %v", err)
	}

	// No clipboard here: the notification says so and shows the address.
	p.click("Copy ANTHROPIC_BASE_URL")
	got = notes.WaitCount(t, 3, panelTimeout)
	if got[2].Summary != "ANTHROPIC_BASE_URL not copied" || !strings.HasSuffix(got[2].Body, "\nANTHROPIC_BASE_URL="+url) {
		t.Errorf("copy notification = %q / %q", got[2].Summary, got[2].Body)
	}

	// A reload that adds a provider rebuilds the menu; its items still work,
	// and the strategy chosen by hand survives it.
	orig, err := os.ReadFile(in.config)
	if err != nil {
		t.Fatal(err)
	}
	writeFileAtomic(t, in.config, strings.Replace(string(orig), "model_routes:", `  - {name: C, type: anthropic, base_url: "`+b.URL+`", auth_type: api_key, auth_value: "k3"}
model_routes:`, 1))
	p.click("Reload configuration")
	m = p.waitMenu("provider C", p.has("Providers", "C: healthy", "Retry now"))
	if s, _ := m.Find("3/3 providers healthy"); s.Label == "" {
		t.Errorf("status line after adding C:\n%s", m.Outline())
	}
	p.waitMenu("round robin kept", checked("Strategy", "Round robin"))
	if s := in.providers()["selection_strategy"]; s != "round_robin" {
		t.Errorf("GET /providers selection_strategy after a reload = %v, want round_robin", s)
	}
	p.click("Strategy", "Random")
	p.waitMenu("random checked after the rebuild", checked("Strategy", "Random"))
	if s := in.providers()["selection_strategy"]; s != "random" {
		t.Errorf("GET /providers selection_strategy = %v after clicking a rebuilt item, want random", s)
	}

	// Quit stops the proxy and exits 0.
	p.click("Quit")
	if code := in.waitExit(panelTimeout); code != 0 {
		t.Errorf("exit code after Quit = %d, want 0", code)
	}
	if in.listening() {
		t.Error("port still open after Quit")
	}
	if n := len(notes.All()); n != 3 {
		t.Errorf("%d notifications in all, want 3: %+v", n, notes.All())
	}
}

// TestNeedsAttention: a rejected key is not a cooldown: the icon, the top of
// the menu, the tooltip and one notification say which provider and why;
// no timer brings it back, "Retry now" does, and quietly.
func TestNeedsAttention(t *testing.T) {
	in, p, notes, a, _ := startTray(t)
	a.fail.Store(401)
	if code, by := in.message(); code != 200 || by != "B" {
		t.Fatalf("request with A's key rejected: %d from %q, want 200 from B", code, by)
	}
	m := p.waitMenu("A needs attention", p.has("Providers", "A: needs attention"))
	if top := m.Children[1]; top.Label != "A needs attention: HTTP 401: invalid x-api-key" || top.Enabled {
		t.Errorf("second line of the menu = %+v, want A's attention line", top)
	}
	if r, _ := m.Find("Providers", "A:", "Retry now"); !r.Enabled {
		t.Error("Retry now is disabled while A needs attention")
	}
	p.icon(assets.Attention)
	p.tooltip("ccbalancer: 1/2 providers healthy\nA needs attention: HTTP 401: invalid x-api-key\nLast request served by B")
	got := notes.WaitCount(t, 1, panelTimeout)
	if n := got[0]; n.Summary != "Provider A needs attention" ||
		n.Body != "HTTP 401: invalid x-api-key\nIts key was rejected or its account has no credit: fix it in the configuration, then choose Retry now.\nRequests go to B meanwhile." {
		t.Errorf("notification = %q / %q", n.Summary, n.Body)
	}
	for _, pr := range in.providers()["providers"].([]any) {
		pr := pr.(map[string]any)
		if pr["name"] == "A" && (pr["state"] != "needs_attention" || pr["state_until"] != nil || pr["cooldown_remaining_s"].(float64) != 0) {
			t.Errorf("GET /providers: A = %v, want needs_attention without a timer", pr)
		}
	}
	a.fail.Store(0)
	p.click("Providers", "A:", "Retry now")
	p.waitMenu("A healthy", p.has("Providers", "A: healthy"))
	p.icon(assets.Healthy)
	if code, by := in.message(); code != 200 || by != "A" {
		t.Fatalf("request after Retry now: %d from %q", code, by)
	}
	barrier(t, in, p, notes, 2) // the recovery was not announced
}

// TestFirstRun: started at login with no configuration, the tray says so,
// offers to create one, shows the new file's errors (its keys are not set),
// and starts the proxy by itself once the file is fixed. status and stop
// reach it throughout.
func TestFirstRun(t *testing.T) {
	bus := StartBus(t)
	watcher := StartWatcher(t, bus)
	notes := StartNotifications(t, bus)
	binary(t)
	in := startInstance(t, "", "", []string{"DBUS_SESSION_BUS_ADDRESS=" + bus.Address})
	failingOpener(t, in.home)
	p := newPanel(t, bus, watcher)
	config := filepath.Join(in.home, ".config", "ccbalancer", "providers.yaml")
	p.waitOutline("not set up", `Not set up: no configuration file (disabled)
Expected at ~/.config/ccbalancer/providers.yaml (disabled)
Create configuration…
Open configuration folder
Reload configuration
---
Open log folder
---
`+notificationsTail)
	p.icon(assets.Stopped)
	p.tooltip("ccbalancer: not set up: no configuration file")
	p.identity()
	got := notes.WaitCount(t, 1, panelTimeout)
	if got[0].Summary != "ccbalancer is not set up" || !strings.Contains(got[0].Body, config) {
		t.Errorf("first notification = %q / %q", got[0].Summary, got[0].Body)
	}
	if code, out := in.command("status"); code != 0 || !strings.Contains(out, "proxy:    not set up") {
		t.Errorf("status while not set up = %d:\n%s", code, out)
	}

	// Create configuration writes the annotated example and opens it; the
	// opener here fails, and the tray says so.
	p.click("Create configuration…")
	got = notes.WaitCount(t, 3, panelTimeout)
	example, err := os.ReadFile(filepath.Join("..", "..", "providers.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(config); err != nil || string(b) != string(example) {
		t.Fatalf("created configuration: %v (same as the example: %v)", err, string(b) == string(example))
	}
	if st, _ := os.Stat(config); st.Mode().Perm() != 0o600 {
		t.Errorf("created configuration has mode %v, want 0600", st.Mode().Perm())
	}
	summaries := map[string]string{}
	for _, n := range got[1:] {
		summaries[n.Summary] = n.Body
	}
	if body := summaries["Could not open providers.yaml"]; !strings.Contains(body, "xdg-open: no method available") {
		t.Errorf("no notice that opening failed: %+v", got)
	}
	// The example's keys come from the keyring, which this session lacks,
	// and from an environment variable it lacks too.
	const keyringProblem = `provider "Anthropic": keyring entry "anthropic" cannot be read`
	body, ok := summaries["The configuration has errors"]
	if !ok || !strings.HasPrefix(body, "providers.yaml:") || !strings.Contains(body, keyringProblem) || !strings.Contains(body, "OPENROUTER_API_KEY is not set") {
		t.Errorf("no notice of the configuration's errors: %+v", got)
	}
	m := p.waitMenu("configuration errors", p.has("The configuration has errors"))
	if line := m.Children[1].Label; !strings.HasPrefix(line, "providers.yaml:") || !strings.Contains(line, keyringProblem) {
		t.Errorf("error line in the menu = %q", line)
	}
	p.icon(assets.Attention)
	if code, out := in.command("status"); code != 0 || !strings.Contains(out, "the configuration has errors") || !strings.Contains(out, keyringProblem) {
		t.Errorf("status with a broken configuration = %d:\n%s", code, out)
	}

	// The user fixes the file: the proxy starts without a click.
	a, b := newUpstream(t, "A"), newUpstream(t, "B")
	port := freePort(t)
	in.addr = "127.0.0.1:" + itoa(port)
	writeFileAtomic(t, config, configText(a, b, port, in.home))
	in.waitListening(panelTimeout)
	p.waitMenu("serving", p.has("2/2 providers healthy"))
	p.icon(assets.Healthy)
	got = notes.WaitCount(t, 4, panelTimeout)
	if n := got[3]; n.Summary != "ccbalancer is serving" || n.Body != "ANTHROPIC_BASE_URL=http://"+in.addr {
		t.Errorf("serving notification = %q / %q", n.Summary, n.Body)
	}
	if code, by := in.message(); code != 200 || by != "A" {
		t.Fatalf("request: %d from %q", code, by)
	}
	code, out := in.command("status")
	if code != 0 || !strings.Contains(out, "ANTHROPIC_BASE_URL=http://"+in.addr) || !strings.Contains(out, "last request served by A") ||
		!regexp.MustCompile(`(?m)^    A +healthy$`).MatchString(out) {
		t.Errorf("status while serving = %d:\n%s", code, out)
	}
	code, out = in.command("stop")
	if code != 0 || !strings.HasPrefix(out, "stopped ccbalancer (pid ") {
		t.Errorf("stop = %d: %s", code, out)
	}
	if code := in.waitExit(panelTimeout); code != 0 {
		t.Errorf("exit code after ccbalancer stop = %d", code)
	}
	if in.listening() {
		t.Error("port open after ccbalancer stop")
	}
	if code, out := in.command("status"); code != 1 || out != "ccbalancer is not running\n" {
		t.Errorf("status after stop = %d: %q", code, out)
	}
}

// TestPortTaken: a port in use is shown (state, menu line, one notice), not
// a silent exit; Start proxy tries again.
func TestPortTaken(t *testing.T) {
	bus := StartBus(t)
	watcher := StartWatcher(t, bus)
	notes := StartNotifications(t, bus)
	a, b := newUpstream(t, "A"), newUpstream(t, "B")
	config, addr := writeConfig(t, t.TempDir(), a, b)
	squatter := listenOn(t, addr)
	binary(t)
	in := startInstance(t, config, addr, []string{"DBUS_SESSION_BUS_ADDRESS=" + bus.Address})
	p := newPanel(t, bus, watcher)
	m := p.waitMenu("cannot listen", p.has("Cannot listen on "+addr))
	if line := m.Children[1].Label; !strings.Contains(line, "address already in use") {
		t.Errorf("problem line = %q", line)
	}
	p.icon(assets.Attention)
	got := notes.WaitCount(t, 1, panelTimeout)
	if got[0].Summary != "The proxy could not start" || !strings.Contains(got[0].Body, "address already in use") {
		t.Errorf("notification = %q / %q", got[0].Summary, got[0].Body)
	}
	squatter.Close()
	p.click("Start proxy")
	in.waitListening(panelTimeout)
	p.waitMenu("serving", p.has("2/2 providers healthy"))
	p.icon(assets.Healthy)
}

// TestNoTrayHost: a session bus with no StatusNotifierWatcher (GNOME without
// the AppIndicator extension): the log says so, one notification says so,
// the proxy serves, and status and stop reach it.
func TestNoTrayHost(t *testing.T) {
	bus := StartBus(t)
	notes := StartNotifications(t, bus)
	a, b := newUpstream(t, "A"), newUpstream(t, "B")
	config, addr := writeConfig(t, t.TempDir(), a, b)
	in := startInstance(t, config, addr, []string{"DBUS_SESSION_BUS_ADDRESS=" + bus.Address})
	in.waitListening(panelTimeout)
	in.waitLog("no tray host on this desktop")
	got := notes.WaitCount(t, 1, panelTimeout)
	if got[0].Summary != "ccbalancer runs without a tray icon" || !strings.Contains(got[0].Body, "ccbalancer stop") {
		t.Errorf("notification = %q / %q", got[0].Summary, got[0].Body)
	}
	if strings.Contains(in.out.String(), "tray icon registered") {
		t.Error("the log claims a tray icon")
	}
	if code, out := in.command("status"); code != 0 || !strings.Contains(out, "tray:     no tray host") {
		t.Errorf("status = %d:\n%s", code, out)
	}
	if code, out := in.command("stop"); code != 0 {
		t.Errorf("stop = %d: %s", code, out)
	}
	if code := in.waitExit(panelTimeout); code != 0 {
		t.Errorf("exit code after stop = %d", code)
	}
}

// TestHeadlessWithoutBus: with no session bus the same binary logs why and
// serves without a tray, and SIGTERM stops it cleanly.
func TestHeadlessWithoutBus(t *testing.T) {
	a, b := newUpstream(t, "A"), newUpstream(t, "B")
	config, addr := writeConfig(t, t.TempDir(), a, b)
	in := startInstance(t, config, addr, nil) // no DBUS_SESSION_BUS_ADDRESS
	in.waitListening(panelTimeout)
	if code, by := in.message(); code != 200 || by != "A" {
		t.Fatalf("request: %d from %q, want 200 from A", code, by)
	}
	in.waitLog("DBUS_SESSION_BUS_ADDRESS is not set")
	if code, out := in.command("status"); code != 0 || !strings.Contains(out, "tray:     headless") {
		t.Errorf("status = %d:\n%s", code, out)
	}
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := in.waitExit(panelTimeout); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
	if out := in.out.String(); strings.Contains(out, "panic") || strings.Contains(out, "tray icon registered") {
		t.Errorf("headless output mentions a panic or a tray:\n%s", out)
	}
}

// TestHeadlessWithoutConfig: with no desktop to show it on, a missing
// configuration is said on stderr and the program exits 1.
func TestHeadlessWithoutConfig(t *testing.T) {
	in := startInstance(t, "", "", nil)
	if code := in.waitExit(panelTimeout); code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	if out := in.out.String(); !strings.Contains(out, "ccbalancer init") {
		t.Errorf("output does not say what to do:\n%s", out)
	}
}

// TestTrayExitsOnSIGTERM: with a tray up, SIGTERM stops the proxy and the
// process exits 0.
func TestTrayExitsOnSIGTERM(t *testing.T) {
	in, _, _, _, _ := startTray(t)
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := in.waitExit(panelTimeout); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
	if in.listening() {
		t.Error("port still open after SIGTERM")
	}
}
