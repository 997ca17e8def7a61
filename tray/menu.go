package tray

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy"
	"github.com/ccbalancer/ccbalancer/supervisor"
)

// Item is one entry of the tray menu as built from a snapshot. The systray
// items are made from it; tests compare it directly.
type Item struct {
	// Action names what a click does ("" for an informational line); it is
	// also the item's identity across rebuilds.
	Action    string
	Label     string
	Disabled  bool
	Checkable bool
	// Radio marks a checkable item as one of a group of which exactly one is
	// checked; clicking the checked one changes nothing. fyne.io/systray
	// draws it as a check box (it has no radio items).
	Radio     bool
	Checked   bool
	Separator bool
	Children  []Item
}

// Actions carried by menu items. Per-provider, per-strategy and per-kind
// actions append ":" and the provider's name, the strategy or the kind.
const (
	ActStatus        = "status"
	ActProblem       = "problem:" // + line number
	ActAttention     = "attention:"
	ActAddress       = "address"
	ActLastServed    = "last-served"
	ActToggleProxy   = "toggle-proxy"
	ActStopping      = "stopping"
	ActCreateConfig  = "create-config"
	ActProviders     = "providers"
	ActProvider      = "provider:"      // submenu of one provider
	ActProviderInfo  = "provider-info:" // + field + ":" + name
	ActRetry         = "retry:"
	ActStrategies    = "strategies"
	ActStrategy      = "strategy:"
	ActReload        = "reload"
	ActOpenConfig    = "open-config"
	ActOpenLogs      = "open-logs"
	ActCopyBaseURL   = "copy-base-url"
	ActNotifications = "notifications"
	ActNotify        = "notify:"
	ActAutostart     = "autostart"
	ActQuit          = "quit"
)

// Prefs is the tray's own state shown in the menu.
type Prefs struct {
	// Notify says, per kind, whether its notifications are shown.
	Notify map[NoticeKind]bool
	// Autostart is whether start at login is on; AutostartErr is set when
	// it cannot be read or is unsupported (the item is then disabled).
	Autostart    bool
	AutostartErr error
	// Quitting: Quit was chosen and the tray waits for the proxy's stop.
	Quitting bool
}

// strategyLabels are the menu labels of the strategies.
var strategyLabels = map[config.Strategy]string{
	config.StrategyPriority:   "Priority",
	config.StrategyRoundRobin: "Round robin",
	config.StrategyRandom:     "Random",
}

// maxProblemLines bounds the error lines the menu shows; the log and
// `ccbalancer check` have them all.
const maxProblemLines = 3

// BuildMenu returns the whole menu for a snapshot; now is the time the
// countdowns and times of day are relative to.
func BuildMenu(s supervisor.Snapshot, p Prefs, now time.Time) []Item {
	m := []Item{{Action: ActStatus, Label: Summary(s), Disabled: true}}
	m = append(m, problemLines(s)...)
	if s.Setup == supervisor.NotSetUp || s.Setup == supervisor.ConfigError {
		return append(m, setupMenu(s, p)...)
	}
	for _, ps := range needAttention(s.Snapshot) {
		m = append(m, Item{Action: ActAttention + ps.Name, Label: attentionLine(ps), Disabled: true})
	}
	if s.Running {
		m = append(m, Item{Action: ActAddress, Label: "Listening on " + BaseURL(s.Listen), Disabled: true})
		last := "Last request: none yet"
		if s.LastServed != "" {
			last = "Last request: " + s.LastServed + " at " + clockTime(s.LastServedAt, now)
		}
		m = append(m, Item{Action: ActLastServed, Label: last, Disabled: true})
		m = append(m, Item{Action: ActToggleProxy, Label: "Stop proxy"})
	} else {
		m = append(m, Item{Action: ActAddress, Label: "Not listening (" + s.Listen + ")", Disabled: true})
		if stopping(s.Snapshot) {
			// The proxy cannot start again before its stop has ended.
			m = append(m, Item{Action: ActStopping, Label: "Aborted in " + clock(s.AbortAt.Sub(now)) + " unless they finish", Disabled: true})
			m = append(m, Item{Action: ActToggleProxy, Label: "Start proxy", Disabled: true})
		} else {
			m = append(m, Item{Action: ActToggleProxy, Label: "Start proxy"})
		}
	}
	m = append(m, Item{Separator: true})

	providers := Item{Action: ActProviders, Label: "Providers"}
	for _, ps := range s.Providers {
		providers.Children = append(providers.Children, providerMenu(ps, s.ConfigPath, now))
	}
	if len(providers.Children) == 0 {
		providers.Disabled = true
	}
	m = append(m, providers)

	strategies := Item{Action: ActStrategies, Label: "Strategy"}
	for _, st := range config.Strategies {
		strategies.Children = append(strategies.Children, Item{
			Action:    ActStrategy + string(st),
			Label:     strategyLabels[st],
			Checkable: true,
			Radio:     true,
			Checked:   s.Strategy == st,
		})
	}
	m = append(m, strategies)
	m = append(m, Item{Separator: true})

	m = append(m,
		Item{Action: ActReload, Label: "Reload configuration", Disabled: s.ConfigPath == ""},
		Item{Action: ActOpenConfig, Label: "Open configuration file", Disabled: s.ConfigPath == ""},
		Item{Action: ActOpenLogs, Label: "Open log folder", Disabled: s.LogFile == ""},
		Item{Action: ActCopyBaseURL, Label: "Copy ANTHROPIC_BASE_URL"},
		Item{Separator: true},
	)
	return append(m, tail(p)...)
}

// problemLines shows what is wrong with the setup: the file expected, or the
// first errors with the file's base name.
func problemLines(s supervisor.Snapshot) []Item {
	var lines []string
	switch s.Setup {
	case supervisor.NotSetUp:
		lines = []string{"Expected at " + tildePath(s.ConfigPath)}
	case supervisor.ConfigError, supervisor.ListenError:
		lines = strings.Split(shortPaths(s.Problem, s.ConfigPath), "\n")
		if len(lines) > maxProblemLines {
			more := len(lines) - maxProblemLines + 1
			lines = append(lines[:maxProblemLines-1], fmt.Sprintf("…and %d more (ccbalancer check lists them)", more))
		}
	}
	var m []Item
	for i, l := range lines {
		m = append(m, Item{Action: fmt.Sprintf("%s%d", ActProblem, i), Label: cut(l, problemWidth), Disabled: true})
	}
	return m
}

// setupMenu is the menu while no configuration loads: the ways to get one.
func setupMenu(s supervisor.Snapshot, p Prefs) []Item {
	var m []Item
	if s.Setup == supervisor.NotSetUp {
		m = append(m,
			Item{Action: ActCreateConfig, Label: "Create configuration…"},
			Item{Action: ActOpenConfig, Label: "Open configuration folder"},
		)
	} else {
		m = append(m, Item{Action: ActOpenConfig, Label: "Open configuration file"})
	}
	m = append(m,
		Item{Action: ActReload, Label: "Reload configuration"},
		Item{Separator: true},
		Item{Action: ActOpenLogs, Label: "Open log folder", Disabled: s.LogFile == ""},
		Item{Separator: true},
	)
	return append(m, tail(p)...)
}

// tail is the end of every menu: notification switches, start at login, Quit.
func tail(p Prefs) []Item {
	notify := Item{Action: ActNotifications, Label: "Notifications"}
	for _, k := range NoticeKinds {
		notify.Children = append(notify.Children, Item{
			Action: ActNotify + string(k), Label: noticeKindLabels[k], Checkable: true, Checked: p.Notify[k],
		})
	}
	autostart := Item{Action: ActAutostart, Label: "Start at login", Checkable: true, Checked: p.Autostart}
	if p.AutostartErr != nil {
		autostart.Disabled = true
		autostart.Label = "Start at login (unavailable)"
	}
	quit := Item{Action: ActQuit, Label: "Quit"}
	if p.Quitting {
		quit = Item{Action: ActQuit, Label: "Quitting when the answers end…", Disabled: true}
	}
	return []Item{notify, autostart, {Separator: true}, quit}
}

// providerMenu is one provider's submenu. Its lines are always present (with
// "none" values) so that the menu keeps its shape while values change.
func providerMenu(ps proxy.ProviderStatus, configPath string, now time.Time) Item {
	info := func(field, label string) Item {
		return Item{Action: ActProviderInfo + field + ":" + ps.Name, Label: label, Disabled: true}
	}
	lastErr := "Last error: none"
	if ps.LastError != "" {
		lastErr = "Last error: " + shortError(shortPaths(ps.LastError, configPath))
		if !ps.LastFailure.IsZero() {
			lastErr = "Last error at " + clockTime(ps.LastFailure, now) + ": " + shortError(shortPaths(ps.LastError, configPath))
		}
	}
	requests := fmt.Sprintf("Requests: %d served", ps.Requests)
	if ps.Failures > 0 {
		requests += fmt.Sprintf(", %d failed", ps.Failures)
	}
	if t := ps.Today; t.Requests > 0 {
		// From the usage ledger: this local day, across restarts.
		requests += fmt.Sprintf("; today %d, %s tokens", t.Requests, compactCount(t.Total()))
		if t.CostUSD > 0 {
			requests += fmt.Sprintf(", $%.2f", t.CostUSD)
		}
	}
	return Item{
		Action: ActProvider + ps.Name,
		Label:  ps.Name + ": " + ps.StateText(now),
		Children: []Item{
			info("type", "Type: "+string(ps.Type)+" at "+ps.BaseURL),
			info("error", lastErr),
			info("requests", requests),
			info("quota", "Limits: "+quotaLine(ps, now)),
			{Action: ActRetry + ps.Name, Label: "Retry now", Disabled: !ps.Enabled || ps.Healthy},
		},
	}
}

// quotaLine says how much of its rate-limit windows the provider used, as
// its last answer said, or "not reported".
func quotaLine(ps proxy.ProviderStatus, now time.Time) string {
	if q := ps.QuotaText(now); q != "" {
		return q
	}
	return "not reported"
}

// clock formats a remaining time as m:ss, rounded up so it never shows 0:00
// while time remains.
func clock(d time.Duration) string {
	secs := int((d + time.Second - 1) / time.Second)
	return fmt.Sprintf("%d:%02d", secs/60, secs%60)
}

// shortError keeps the first line of an error, at most 90 characters.
func shortError(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return cut(s, 90)
}

// problemWidth bounds a configuration error's line in the menu: wider than
// other lines, since "file:line: field: message" is the whole point there.
const problemWidth = 130

// cut keeps at most limit characters of s, marking a cut with "…".
func cut(s string, limit int) string {
	if r := []rune(s); len(r) > limit {
		s = string(r[:limit-1]) + "…"
	}
	return s
}

// countingDown reports whether any provider's state has a timer running, or
// a stop waits for answers, so that the menu needs refreshing while it runs.
func countingDown(s proxy.Snapshot) bool {
	if stopping(s) {
		return true
	}
	for _, p := range s.Providers {
		if p.Enabled && p.CooldownRemaining > 0 {
			return true
		}
	}
	return false
}

// tildePath writes a path under the home directory as ~/…, as people read it.
func tildePath(p string) string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" || runtime.GOOS == "windows" {
		return p
	}
	if rel, err := filepath.Rel(home, p); err == nil && !strings.HasPrefix(rel, "..") {
		return "~" + string(filepath.Separator) + rel
	}
	return p
}

// configFolder is what "Open configuration folder" opens.
func configFolder(path string) string { return filepath.Dir(path) }

// compactCount writes a count in a few characters: 950, 12.3k, 4.1M.
func compactCount(n int64) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1000:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
