package proxy

import (
	"net/http"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
)

// SessionStatus answers GET /session?id=ID: which provider serves a Claude
// Code session (x-claude-code-session-id) and in what state, for the status
// line. Provider is "" for a session the proxy has not served (or has
// forgotten); the counts then say how the providers are.
type SessionStatus struct {
	Session  string `json:"session"`
	Provider string `json:"provider"`
	// Key is the key's number (from 1) and Fingerprint its fingerprint,
	// for a provider with several keys; 0 and "" otherwise.
	Key         int     `json:"key,omitempty"`
	Fingerprint string  `json:"fingerprint,omitempty"`
	State       string  `json:"state,omitempty"`
	StateText   string  `json:"state_text,omitempty"`
	StateUntil  *string `json:"state_until,omitempty"`
	QuotaText   string  `json:"quota_text,omitempty"`
	Healthy     int     `json:"healthy_providers"`
	Enabled     int     `json:"enabled_providers"`
	// CostTodayUSD is what the day's priced requests cost so far, from
	// the usage ledger (absent when it is off, or when no price is
	// configured: a cost of 0 would then be a guess).
	CostTodayUSD *float64 `json:"cost_today_usd,omitempty"`
}

// hasPrices reports whether cfg prices any provider or route entry.
func hasPrices(cfg *config.Config) bool {
	for _, p := range cfg.Providers {
		if p.Prices != nil {
			return true
		}
	}
	for _, rt := range cfg.Routes {
		for _, e := range rt.Entries {
			if e.Prices != nil {
				return true
			}
		}
	}
	return false
}

func (s *Server) handleSession(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	snap := s.Snapshot()
	now := time.Now()
	out := SessionStatus{Session: id}
	out.Healthy, out.Enabled = snap.Health()
	if s.ledger != nil && hasPrices(s.state.Load().cfg) {
		day, _, _ := s.ledger.Overall()
		usd := day.CostUSD
		out.CostTodayUSD = &usd
	}
	if provider, key, ok := s.selector.Session(id); ok && id != "" {
		for _, p := range snap.Providers {
			if p.Name != provider {
				continue
			}
			out.Provider, out.State, out.StateText = p.Name, string(p.State), p.StateText(now)
			out.StateUntil, out.QuotaText = rfc3339(p.Until), p.QuotaText(now)
			if key < len(p.Keys) {
				out.Key, out.Fingerprint = p.Keys[key].Key, p.Keys[key].Fingerprint
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}
