package tray

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/ccbalancer/ccbalancer/assets"
	"github.com/ccbalancer/ccbalancer/proxy"
	"github.com/ccbalancer/ccbalancer/proxy/health"
	"github.com/ccbalancer/ccbalancer/supervisor"
)

// AppName is the tray item's title, and so its Id on Linux (fyne.io/systray
// takes the Id from the title it has when it connects): it never changes,
// so panels that remember items by Id remember this one.
const AppName = "ccbalancer"

// IconState picks the tray icon for a snapshot (DESIGN.md section 10: green
// only when every enabled provider is healthy; a provider that needs
// attention shows in the icon):
//   - no configuration yet, or stopped: stopped;
//   - a configuration that does not load or a port that is taken: attention;
//   - no enabled provider or no route: down (nothing can serve);
//   - a provider that needs attention: attention;
//   - no provider in rotation: down;
//   - some out of rotation: degraded; else healthy.
func IconState(s supervisor.Snapshot) assets.State {
	switch s.Setup {
	case supervisor.NotSetUp:
		return assets.Stopped
	case supervisor.ConfigError, supervisor.ListenError:
		return assets.Attention
	}
	if !s.Running {
		return assets.Stopped
	}
	healthy, enabled := s.Health()
	switch {
	case enabled == 0 || s.Routes == 0:
		return assets.Down
	case len(needAttention(s.Snapshot)) > 0:
		return assets.Attention
	case healthy == 0:
		return assets.Down
	case healthy < enabled:
		return assets.Degraded
	}
	return assets.Healthy
}

// needAttention lists the enabled providers in needs_attention, in config order.
func needAttention(s proxy.Snapshot) []proxy.ProviderStatus {
	var out []proxy.ProviderStatus
	for _, p := range s.Providers {
		if p.Enabled && p.State == health.StateNeedsAttention {
			out = append(out, p)
		}
	}
	return out
}

// Summary says the proxy's state in words, for the status line.
func Summary(s supervisor.Snapshot) string {
	switch s.Setup {
	case supervisor.NotSetUp:
		return "Not set up: no configuration file"
	case supervisor.ConfigError:
		return "The configuration has errors"
	case supervisor.ListenError:
		return "Cannot listen on " + s.Listen
	}
	if !s.Running {
		if stopping(s.Snapshot) {
			return fmt.Sprintf("Stopping: %s still running", plural(s.InFlight, "answer"))
		}
		return "Proxy stopped"
	}
	healthy, enabled := s.Health()
	switch {
	case len(s.Providers) > 0 && enabled == 0:
		return "Every provider is disabled"
	case enabled == 0:
		return "No providers configured"
	case s.Routes == 0:
		return "No model routes configured"
	case healthy == 0:
		return "No provider in rotation"
	default:
		return fmt.Sprintf("%d/%d providers healthy", healthy, enabled)
	}
}

// stopping reports whether a stop waits for answers still running.
func stopping(s proxy.Snapshot) bool {
	return !s.Running && !s.AbortAt.IsZero() && s.InFlight > 0
}

// plural writes n and a noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Tooltip is the tray item's tooltip: the state, who needs attention, and
// which provider served the last request.
//
//	ccbalancer: 1/2 providers healthy
//	A needs attention: HTTP 401: invalid x-api-key
//	Last request served by B
func Tooltip(s supervisor.Snapshot) string {
	lines := []string{AppName + ": " + lowerFirst(Summary(s))}
	if s.Setup == supervisor.SetupOK && s.Running {
		for _, p := range needAttention(s.Snapshot) {
			lines = append(lines, attentionLine(p))
		}
		if s.LastServed != "" {
			lines = append(lines, "Last request served by "+s.LastServed)
		}
	}
	return strings.Join(lines, "\n")
}

// attentionLine says which provider needs attention and why.
func attentionLine(p proxy.ProviderStatus) string {
	s := p.Name + " needs attention"
	if p.StateReason != "" {
		s += ": " + shortError(p.StateReason)
	}
	return s
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// BaseURL is the value for ANTHROPIC_BASE_URL that reaches a proxy listening
// on addr. A wildcard listen address is reached through loopback.
func BaseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// shortPaths replaces the configuration file's directory in text with
// nothing, so that "/home/me/.config/ccbalancer/providers.yaml:12: x" reads
// "providers.yaml:12: x" where space is short (menus, notifications).
func shortPaths(text, configPath string) string {
	if configPath == "" {
		return text
	}
	return strings.ReplaceAll(text, filepath.Dir(configPath)+string(filepath.Separator), "")
}

// clockTime formats a moment for the menu: the time of day when it is
// today, else the date and time.
func clockTime(t, now time.Time) string {
	t, now = t.Local(), now.Local()
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04:05")
	}
	return t.Format("2 Jan 15:04")
}
