package proxy

import (
	"context"
	"net/http"
	"time"

	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
	"github.com/ccbalancer/ccbalancer/proxy/usage"
)

// UsageReport is what GET /usage and `ccbalancer usage` show: the ledger's
// records since a time, grouped.
type UsageReport struct {
	Since time.Time   `json:"since"`
	By    usage.By    `json:"by"`
	Rows  []usage.Row `json:"rows"`
	Total usage.Row   `json:"total"`
}

// Report groups the ledger's records of the last `since` (usage.ParseSince
// syntax, "24h" when empty) by `by` ("provider" when empty).
func Report(ctx context.Context, l *usage.Ledger, now time.Time, since string, by string) (UsageReport, error) {
	if since == "" {
		since = "24h"
	}
	if by == "" {
		by = string(usage.ByProvider)
	}
	d, err := usage.ParseSince(since)
	if err != nil {
		return UsageReport{}, err
	}
	rep := UsageReport{Since: now.Add(-d).UTC(), By: usage.By(by)}
	rep.Rows, err = l.Summary(ctx, rep.Since, rep.By)
	if err != nil {
		return UsageReport{}, err
	}
	rep.Total.Key = "total"
	for _, row := range rep.Rows {
		rep.Total.Requests += row.Requests
		rep.Total.Errors += row.Errors
		rep.Total.Input += row.Input
		rep.Total.Output += row.Output
		rep.Total.CacheRead += row.CacheRead
		rep.Total.CacheWrite += row.CacheWrite
		rep.Total.CostUSD += row.CostUSD
	}
	return rep, nil
}

// handleUsage is GET /usage?since=24h&by=provider|model|day.
func (s *Server) handleUsage(w http.ResponseWriter, r *http.Request) {
	if s.ledger == nil {
		anthropic.WriteError(w, http.StatusNotFound, anthropic.ErrNotFound, "the usage ledger is off (settings.usage_db: off)")
		return
	}
	q := r.URL.Query()
	rep, err := Report(r.Context(), s.ledger, s.now(), q.Get("since"), q.Get("by"))
	if err != nil {
		anthropic.WriteError(w, http.StatusBadRequest, anthropic.ErrInvalidRequest, "usage: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
