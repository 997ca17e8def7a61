package proxy

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy/health"
	"github.com/ccbalancer/ccbalancer/proxy/usage"
)

// meter watches an answer as the pipeline writes it: its status, the
// provider named in x-provider-used, and when its first byte went out.
type meter struct {
	http.ResponseWriter
	rc       *http.ResponseController // of the writer underneath, made at the first flush
	status   int
	provider string
	first    time.Time
}

func (m *meter) WriteHeader(status int) {
	if m.status == 0 {
		m.status = status
		m.provider = m.Header().Get("X-Provider-Used")
	}
	m.ResponseWriter.WriteHeader(status)
}

func (m *meter) Write(b []byte) (int, error) {
	if m.status == 0 {
		m.WriteHeader(http.StatusOK)
	}
	if m.first.IsZero() {
		m.first = time.Now()
	}
	return m.ResponseWriter.Write(b)
}

// FlushError flushes the writer underneath (http.ResponseController).
func (m *meter) FlushError() error {
	if m.rc == nil {
		m.rc = http.NewResponseController(m.ResponseWriter)
	}
	return m.rc.Flush()
}

// Flush implements http.Flusher.
func (m *meter) Flush() { _ = m.FlushError() }

// Unwrap returns the writer underneath, for http.ResponseController.
func (m *meter) Unwrap() http.ResponseWriter { return m.ResponseWriter }

// answer runs the failover loop for a request (with its client's writer,
// or as the shared request of a deduplication Flight) and records it in
// the usage ledger, aborted answers included.
func (s *Server) answer(req *request, rt *config.Route) {
	// The converted body's buffer goes when the pipeline is done with the
	// request: here, or in a shared request's Flight.
	defer func() { req.converted.release() }()
	if s.ledger == nil {
		s.failover(req, rt)
		return
	}
	s.budgetWindows(req.st)
	m := &meter{ResponseWriter: req.w}
	req.w = m
	completed := false
	defer func() { s.record(req, rt, m, completed) }()
	s.failover(req, rt)
	completed = true
}

// record adds the request to the ledger and checks the budgets it touches.
func (s *Server) record(req *request, rt *config.Route, m *meter, completed bool) {
	tok := usage.Tokens{Input: int64(req.usage.InputTokens), Output: int64(req.usage.OutputTokens),
		CacheRead: int64(req.usage.CacheReadInputTokens), CacheWrite: int64(req.usage.CacheCreationInputTokens)}
	var errText string
	switch {
	case req.served:
	case !completed:
		errText = "answer aborted after its first byte"
	case m.status == 0 && tok == (usage.Tokens{}):
		return // the client left before anything happened
	case m.status == 0, m.status == http.StatusOK:
		errText = "client went away"
	default:
		errText = fmt.Sprintf("HTTP %d", m.status)
	}
	rec := usage.Record{Time: s.now(), Route: rt.Pattern, Provider: m.provider, ModelAsked: req.fields.Model,
		Stream: req.fields.Stream, Status: m.status, Error: errText, Tokens: tok, Took: time.Since(req.start)}
	if !m.first.IsZero() {
		rec.TTFB = m.first.Sub(req.start)
	}
	if rec.Provider != "" {
		rec.ModelSent = req.fields.Model
		var prices *config.Prices
		if p, ok := req.st.cfg.Provider(rec.Provider); ok {
			prices = p.Prices
		}
		for _, e := range rt.Entries {
			if e.Provider != rec.Provider {
				continue
			}
			if e.Model != "" && e.Model != config.Passthrough {
				rec.ModelSent = e.Model
			}
			if e.Prices != nil {
				prices = e.Prices
			}
			break
		}
		if prices != nil {
			rec.Cost, rec.Priced = usage.Cost(tok, *prices), true
		}
	}
	s.ledger.Add(rec)
	if rec.Priced && req.st.budgeted {
		s.checkBudgets(req.st)
	}
}

// overBudget says whether spend reached a budget: the reason, and when the
// budget's window ends (the month's when both are reached).
func overBudget(b config.Budget, day, month usage.Totals, dayEnd, monthEnd time.Time) (string, time.Time) {
	switch {
	case b.MonthlyUSD > 0 && month.CostUSD >= b.MonthlyUSD:
		return fmt.Sprintf("monthly budget of $%.2f reached ($%.2f spent)", b.MonthlyUSD, month.CostUSD), monthEnd
	case b.DailyUSD > 0 && day.CostUSD >= b.DailyUSD:
		return fmt.Sprintf("daily budget of $%.2f reached ($%.2f spent today)", b.DailyUSD, day.CostUSD), dayEnd
	}
	return "", time.Time{}
}

// checkBudgets holds every provider whose spend reached its budget, and
// every provider when all together reached the overall budget, in
// budget_reached until the window ends (DESIGN.md section 10); a provider
// held for a budget that no longer applies (raised by a reload) returns.
func (s *Server) checkBudgets(st *state) {
	dayEnd, monthEnd := s.ledger.Windows()
	d, m, _ := s.ledger.Overall()
	allReason, allUntil := overBudget(st.cfg.Settings.Budget, d, m, dayEnd, monthEnd)
	for _, p := range st.cfg.Providers {
		if !p.Enabled {
			continue
		}
		day, month, _ := s.ledger.Totals(p.Name)
		reason, until := overBudget(p.Budget, day, month, dayEnd, monthEnd)
		if allReason != "" && (reason == "" || allUntil.After(until)) {
			reason, until = "overall "+allReason, allUntil
		}
		state, _ := s.health.State(p.Name)
		switch {
		case reason != "" && state != health.StateBudgetReached:
			s.health.Hold(p.Name, health.StateBudgetReached, reason, until)
		case reason == "" && state == health.StateBudgetReached:
			s.health.Reset(p.Name, "budget raised")
		}
	}
}

// budgetWindows returns providers whose budget window has ended by the
// ledger's clock. The health tracker's own timer does the same in real
// time; this catches a clock that jumped (a machine that slept past
// midnight) and an injected clock in tests.
func (s *Server) budgetWindows(st *state) {
	if !st.budgeted {
		return
	}
	now := s.now()
	for _, p := range st.cfg.Providers {
		if state, until := s.health.State(p.Name); state == health.StateBudgetReached && !until.IsZero() && !now.Before(until) {
			s.health.Reset(p.Name, "budget window reset")
			s.log.Info("budget window reset", slog.String("provider", p.Name))
		}
	}
}
