package proxy

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
	"github.com/ccbalancer/ccbalancer/proxy/quota"
	"github.com/ccbalancer/ccbalancer/proxy/tokens"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		anthropic.WriteError(w, http.StatusInternalServerError, anthropic.ErrAPI, "encoding response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// handleRoot answers Claude Code's start-up probe (HEAD /) and shows status,
// in the original project's shape.
func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	healthy, enabled := s.Snapshot().Health()
	status := "running"
	switch {
	case enabled > 0 && healthy == 0:
		status = "all providers down"
	case healthy < enabled:
		status = "degraded"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"service":             "ccbalancer",
		"version":             s.version,
		"status":              status,
		"providers_available": healthy,
	})
}

type providerJSON struct {
	Name               string  `json:"name"`
	Type               string  `json:"type"`
	BaseURL            string  `json:"base_url"`
	Enabled            bool    `json:"enabled"`
	Healthy            bool    `json:"healthy"`
	State              string  `json:"state"`
	StateReason        string  `json:"state_reason,omitempty"`
	StateUntil         *string `json:"state_until"`
	FailureCount       int     `json:"failure_count"`
	LastFailureTime    *string `json:"last_failure_time"`
	CooldownRemainingS float64 `json:"cooldown_remaining_s"`
	LastError          string  `json:"last_error"`
	Requests           int64   `json:"requests"`
	Failures           int64   `json:"failures"`
	LatencyMsP50       float64 `json:"latency_ms_p50"`
	LatencyMsP99       float64 `json:"latency_ms_p99"`
	// StateText is the state in words ("rate limited until 17:05").
	StateText string     `json:"state_text"`
	Quota     *quotaJSON `json:"quota,omitempty"`
	Keys      []keyJSON  `json:"keys,omitempty"`
	// Today is present when the usage ledger is on.
	Today *todayJSON `json:"today,omitempty"`
}

// quotaJSON is what the provider's last answer said about its limits.
type quotaJSON struct {
	// Used is the share of its windows used (0 to 1), -1 when unknown.
	Used    float64        `json:"used"`
	Text    string         `json:"text,omitempty"`
	At      string         `json:"at"`
	Windows []quota.Window `json:"windows"`
}

// keyJSON is one key's state: its number and fingerprint, never the key.
type keyJSON struct {
	Key         int     `json:"key"`
	Fingerprint string  `json:"fingerprint"`
	State       string  `json:"state"`
	StateUntil  *string `json:"state_until"`
	StateReason string  `json:"state_reason,omitempty"`
}

func rfc3339(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	v := t.UTC().Format(time.RFC3339)
	return &v
}

type todayJSON struct {
	Requests int64   `json:"requests"`
	Tokens   int64   `json:"tokens"`
	CostUSD  float64 `json:"cost_usd"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (s *Server) handleProviders(w http.ResponseWriter, r *http.Request) {
	snap := s.Snapshot()
	now := time.Now()
	healthy, _ := snap.Health()
	ps := make([]providerJSON, 0, len(snap.Providers))
	for _, p := range snap.Providers {
		pj := providerJSON{
			Name: p.Name, Type: string(p.Type), BaseURL: p.BaseURL, Enabled: p.Enabled, Healthy: p.Healthy,
			FailureCount: p.FailureCount, CooldownRemainingS: float64(p.CooldownRemaining.Round(100*time.Millisecond)) / float64(time.Second),
			LastError: p.LastError, Requests: p.Requests, Failures: p.Failures,
			LatencyMsP50: ms(p.LatencyP50), LatencyMsP99: ms(p.LatencyP99),
		}
		if !p.Until.IsZero() {
			t := p.Until.UTC().Format(time.RFC3339)
			pj.StateUntil = &t
		}
		pj.State, pj.StateReason, pj.StateText = string(p.State), p.StateReason, p.StateText(now)
		if !p.QuotaAt.IsZero() {
			pj.Quota = &quotaJSON{Used: p.Used, Text: p.QuotaText(now), At: *rfc3339(p.QuotaAt), Windows: p.Quota.Windows}
		}
		for _, k := range p.Keys {
			pj.Keys = append(pj.Keys, keyJSON{Key: k.Key, Fingerprint: k.Fingerprint, State: string(k.State),
				StateUntil: rfc3339(k.Until), StateReason: k.Reason})
		}
		if snap.Usage {
			pj.Today = &todayJSON{Requests: p.Today.Requests, Tokens: p.Today.Total(), CostUSD: p.Today.CostUSD}
		}
		if !p.LastFailure.IsZero() {
			t := p.LastFailure.UTC().Format(time.RFC3339)
			pj.LastFailureTime = &t
		}
		ps = append(ps, pj)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"total_providers":    len(snap.Providers),
		"healthy_providers":  healthy,
		"selection_strategy": snap.Strategy,
		"total_model_routes": snap.Routes,
		"providers":          ps,
	})
}

func (s *Server) handleReload(w http.ResponseWriter, r *http.Request) {
	if err := s.Reload(); err != nil {
		anthropic.WriteError(w, http.StatusUnprocessableEntity, anthropic.ErrInvalidRequest,
			"configuration not reloaded; the previous one keeps serving:\n"+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "configuration reloaded successfully"})
}

// handleCountTokens counts locally: it never touches a provider, so IDE
// integrations that call it many times at start cannot cool anything down.
// The count stops when the client goes away.
func (s *Server) handleCountTokens(w http.ResponseWriter, r *http.Request) {
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	body, held, ok := readBody(w, r, s.state.Load().cfg.Settings.MaxBodyBytes, s.log)
	if !ok {
		return
	}
	defer held.release()
	// A malformed body is told with the byte where it breaks, as for
	// /v1/messages.
	if _, err := anthropic.Peek(body); anthropic.IsSyntaxError(err) {
		anthropic.WriteError(w, http.StatusBadRequest, anthropic.ErrInvalidRequest, "count_tokens: "+err.Error())
		return
	}
	n, err := tokens.CountContext(r.Context(), body)
	if r.Context().Err() != nil {
		return
	}
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, tokens.ErrInvalidRequest) {
			status = http.StatusBadRequest
		}
		anthropic.WriteError(w, status, "", "count_tokens: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"input_tokens": n})
}
