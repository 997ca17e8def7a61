package tray

import (
	"fmt"
	"strings"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy"
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
	Checked   bool
	Separator bool
	Children  []Item
}

// Actions carried by menu items. Per-provider and per-strategy actions
// append ":" and the provider's name or the strategy.
const (
	ActStatus        = "status"
	ActAddress       = "address"
	ActToggleProxy   = "toggle-proxy"
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
	ActAutostart     = "autostart"
	ActQuit          = "quit"
)

// Prefs is the tray's own state shown in the menu.
type Prefs struct {
	Notifications bool
	// Autostart is whether start at login is on; AutostartErr is set when
	// it cannot be read or is unsupported (the item is then disabled).
	Autostart    bool
	AutostartErr error
}

// strategyLabels are the menu labels of the strategies.
var strategyLabels = map[config.Strategy]string{
	config.StrategyPriority:   "Priority",
	config.StrategyRoundRobin: "Round robin",
	config.StrategyRandom:     "Random",
}

// BuildMenu returns the whole menu for a snapshot.
func BuildMenu(s proxy.Snapshot, p Prefs) []Item {
	var m []Item
	m = append(m, Item{Action: ActStatus, Label: Summary(s), Disabled: true})
	if s.Running {
		m = append(m, Item{Action: ActAddress, Label: "Listening on " + BaseURL(s.Listen), Disabled: true})
		m = append(m, Item{Action: ActToggleProxy, Label: "Stop proxy"})
	} else {
		m = append(m, Item{Action: ActAddress, Label: "Not listening (" + s.Listen + ")", Disabled: true})
		m = append(m, Item{Action: ActToggleProxy, Label: "Start proxy"})
	}
	m = append(m, Item{Separator: true})

	providers := Item{Action: ActProviders, Label: "Providers"}
	for _, ps := range s.Providers {
		providers.Children = append(providers.Children, providerMenu(ps))
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
		Item{Action: ActNotifications, Label: "Notifications", Checkable: true, Checked: p.Notifications},
	)
	autostart := Item{Action: ActAutostart, Label: "Start at login", Checkable: true, Checked: p.Autostart}
	if p.AutostartErr != nil {
		autostart.Disabled = true
		autostart.Label = "Start at login (unavailable)"
	}
	m = append(m, autostart, Item{Separator: true}, Item{Action: ActQuit, Label: "Quit"})
	return m
}

// providerMenu is one provider's submenu. Its lines are always present (with
// "none" values) so that the menu keeps its shape while values change.
func providerMenu(ps proxy.ProviderStatus) Item {
	info := func(field, label string) Item {
		return Item{Action: ActProviderInfo + field + ":" + ps.Name, Label: label, Disabled: true}
	}
	lastErr := "none"
	if ps.LastError != "" {
		lastErr = shortError(ps.LastError)
	}
	requests := fmt.Sprintf("Requests: %d served", ps.Requests)
	if ps.Failures > 0 {
		requests += fmt.Sprintf(", %d failed", ps.Failures)
	}
	return Item{
		Action: ActProvider + ps.Name,
		Label:  ps.Name + ": " + providerHealth(ps),
		Children: []Item{
			info("type", "Type: "+string(ps.Type)+" at "+ps.BaseURL),
			info("error", "Last error: "+lastErr),
			info("requests", requests),
			{Action: ActRetry + ps.Name, Label: "Retry now", Disabled: !ps.Enabled || ps.Healthy},
		},
	}
}

// providerHealth says a provider's health in a few words.
func providerHealth(ps proxy.ProviderStatus) string {
	switch {
	case !ps.Enabled:
		return "disabled"
	case ps.Healthy:
		return "healthy"
	case ps.CooldownRemaining > 0:
		return "cooling down, " + clock(ps.CooldownRemaining) + " left"
	default:
		return "cooling down"
	}
}

// clock formats a remaining time as m:ss, rounded up so it never shows 0:00
// while time remains.
func clock(d time.Duration) string {
	secs := int((d + time.Second - 1) / time.Second)
	return fmt.Sprintf("%d:%02d", secs/60, secs%60)
}

// shortError keeps the first line of an error, at most 80 characters.
func shortError(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	const limit = 80
	if r := []rune(s); len(r) > limit {
		s = string(r[:limit-1]) + "…"
	}
	return s
}

// coolingDown reports whether any provider's cooldown is counting down, so
// that the menu needs refreshing while it runs.
func coolingDown(s proxy.Snapshot) bool {
	for _, p := range s.Providers {
		if p.Enabled && p.CooldownRemaining > 0 {
			return true
		}
	}
	return false
}
