package proxy

import (
	"time"

	"github.com/ccbalancer/ccbalancer/config"
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
}

// ProviderStatus is one provider's state. LastError never holds a secret.
type ProviderStatus struct {
	Name              string
	Type              config.ProviderType
	BaseURL           string
	Enabled           bool
	Healthy           bool // enabled and not cooling down
	FailureCount      int  // consecutive failures
	LastFailure       time.Time
	CooldownRemaining time.Duration
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
