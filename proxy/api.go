package proxy

import (
	"fmt"
	"strings"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy/health"
	"github.com/ccbalancer/ccbalancer/proxy/quota"
	"github.com/ccbalancer/ccbalancer/proxy/usage"
)

// Snapshot is a consistent copy of the proxy's state for display.
type Snapshot struct {
	Version    string
	Listen     string // the configured HOST:PORT
	Running    bool   // the listener is open
	Strategy   config.Strategy
	ConfigPath string
	LogFile    string
	Providers  []ProviderStatus // in config order
	Routes     int
	// InFlight counts the client requests being served (answers running);
	// Connections the open client connections; BodyBytes the request body
	// bytes held (resources.go).
	InFlight    int
	Connections int
	BodyBytes   int64
	// AbortAt is set while a stop waits for the InFlight answers still
	// running: when it aborts them (settings.shutdown_grace after the
	// stop began). Zero otherwise.
	AbortAt time.Time
	// LastServed is the provider that served the latest request, at
	// LastServedAt; "" and zero before the first.
	LastServed   string
	LastServedAt time.Time
	// Usage: the usage ledger is on, and ProviderStatus.Today counts.
	Usage bool
}

// ProviderStatus is one provider's state. LastError never holds a secret.
type ProviderStatus struct {
	Name    string
	Type    config.ProviderType
	BaseURL string // without user info (config.RedactURL)
	Enabled bool
	// State is the provider's state (DESIGN.md section 10); StateDisabled
	// when Enabled is false.
	State health.State
	// StateReason says why the provider is in State ("" when healthy).
	StateReason string
	// Until is when State ends by itself; zero when it has no timer.
	Until             time.Time
	Healthy           bool // State is healthy
	FailureCount      int  // consecutive failures
	LastFailure       time.Time
	LastSuccess       time.Time
	CooldownRemaining time.Duration // until Until, for states with a timer
	LastError         string
	Requests          int64 // requests served successfully
	Failures          int64 // attempts that failed
	LatencyP50        time.Duration
	LatencyP99        time.Duration
	// Quota is what the provider's last answer said about its limits, read
	// at QuotaAt (zero when none said anything); Used is the share of its
	// windows used by then, -1 when unknown.
	Quota   quota.Info
	QuotaAt time.Time
	Used    float64
	// Keys is each key's state when the provider has several (nil otherwise).
	Keys []KeyStatus
	// Today is the provider's usage this local day (usage ledger):
	// requests answered, tokens, and the cost of the priced ones.
	Today usage.Totals
}

// KeyStatus is one key's state. The key itself never appears: only its
// number (from 1) and Fingerprint.
type KeyStatus struct {
	Key         int
	Fingerprint string
	State       health.State
	Until       time.Time
	Reason      string
}

// StateText says the provider's state in a few words for people, as the
// tray, the status line, /providers and the all-failed answer show it:
// "healthy", "cooling down, 1:05 left", "rate limited until 17:05" (a
// countdown under an hour, the time of day beyond), "needs attention",
// "budget reached until 2 Dec 09:00", "disabled".
func (p ProviderStatus) StateText(now time.Time) string {
	if !p.Enabled {
		return "disabled"
	}
	return stateText(p.State, p.CooldownRemaining, p.Until, now)
}

// longState is how long a state must last to be shown by its end ("rate
// limited until 17:05") rather than by a countdown ("1:30 left").
const longState = 10 * time.Minute

// stateText words a state that ends after left, at until.
func stateText(state health.State, left time.Duration, until, now time.Time) string {
	timed := func(what string) string {
		switch {
		case left <= 0:
			return what
		case left >= longState:
			return what + " until " + UntilText(until, now)
		}
		secs := int((left + time.Second - 1) / time.Second)
		return fmt.Sprintf("%s, %d:%02d left", what, secs/60, secs%60)
	}
	switch state {
	case health.StateCooling:
		return timed("cooling down")
	case health.StateRateLimited:
		return timed("rate limited")
	case health.StateBudgetReached:
		return timed("budget reached")
	}
	return strings.ReplaceAll(string(state), "_", " ")
}

// UntilText formats the end of a long state: "16:30", or "2 Jan 16:30" when
// it is not today.
func UntilText(t, now time.Time) string {
	t, now = t.Local(), now.Local()
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04")
	}
	return t.Format("2 Jan 15:04")
}

// QuotaText says how much of its rate-limit windows the provider has used,
// as its last answer said: "5h window 87% used, 7d 40%"; "" when unknown.
func (p ProviderStatus) QuotaText(now time.Time) string {
	var parts []string
	for _, w := range p.Quota.Windows {
		u := w.Used()
		if u < 0 || (!w.Reset.IsZero() && !w.Reset.After(now)) {
			continue
		}
		name := w.Name
		if len(parts) == 0 {
			name += " window"
		}
		part := fmt.Sprintf("%s %d%%", name, int(u*100+0.5))
		if len(parts) == 0 {
			part += " used"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, ", ")
}

// Health counts the enabled providers and how many of them are healthy.
func (s Snapshot) Health() (healthy, enabled int) {
	for _, p := range s.Providers {
		if !p.Enabled {
			continue
		}
		enabled++
		if p.Healthy {
			healthy++
		}
	}
	return healthy, enabled
}
