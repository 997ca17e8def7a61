package tray

import (
	"fmt"
	"net"
	"strings"

	"github.com/ccbalancer/ccbalancer/assets"
	"github.com/ccbalancer/ccbalancer/proxy"
)

// IconState picks the tray icon for a snapshot.
func IconState(s proxy.Snapshot) assets.State {
	if !s.Running {
		return assets.Stopped
	}
	healthy, enabled := s.Health()
	switch {
	case healthy == enabled:
		// Also the case with no enabled provider: nothing is failing.
		return assets.Healthy
	case healthy == 0:
		return assets.Down
	default:
		return assets.Degraded
	}
}

// Summary says the proxy's state in words, for the status line.
func Summary(s proxy.Snapshot) string {
	if !s.Running {
		return "Proxy stopped"
	}
	healthy, enabled := s.Health()
	switch {
	case enabled == 0:
		return "No providers enabled"
	case healthy == 0:
		return "All providers down"
	default:
		return fmt.Sprintf("%d/%d providers healthy", healthy, enabled)
	}
}

// Title is the tray item's title and tooltip: "ccbalancer — 2/3 providers healthy".
func Title(s proxy.Snapshot) string {
	return "ccbalancer — " + lowerFirst(Summary(s))
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
