package proxy

import (
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy/health"
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
	// LastServed is the provider that served the latest request, at
	// LastServedAt; "" and zero before the first.
	LastServed   string
	LastServedAt time.Time
}

// ProviderStatus is one provider's state. LastError never holds a secret.
type ProviderStatus struct {
	Name    string
	Type    config.ProviderType
	BaseURL string
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
