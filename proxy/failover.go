package proxy

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
	"github.com/ccbalancer/ccbalancer/proxy/health"
	"github.com/ccbalancer/ccbalancer/proxy/quota"
)

const (
	// maxRetryAfter caps the retry-after of an answer that says "try again
	// later", so that a client never waits longer than this on our word.
	maxRetryAfter = 60 * time.Second
	// transientHorizon: a rate limit that ends within it makes the failure
	// transient (429 with retry-after); a window of hours does not, and is
	// shown to the user at once. Cooling providers are always transient.
	transientHorizon = 5 * time.Minute
)

// outcome is what one route entry came to for a request.
type outcome struct {
	provider string
	err      *attemptError
}

// failover tries the route's providers in the order the selector gives until
// one serves the request, the client goes away, a provider's refusal is the
// client's answer, or bytes reached the client and only an abort is left.
func (s *Server) failover(req *request, rt *config.Route) {
	cands := s.selector.Order(rt, req.rt.strategy, req.session, healthView{s.health, req.set.QuotaNearLimit})
	var outcomes []outcome
	var firstRefusal *outcome
	for i, e := range cands {
		u := req.st.upstreams[e.Provider]
		if u == nil {
			continue
		}
		aerr, state, until := s.tryEntry(req, u, e, i+1)
		if aerr == nil {
			return
		}
		if aerr.kind == failRefused && firstRefusal == nil {
			firstRefusal = &outcome{provider: e.Provider, err: aerr}
		}
		outcomes = append(outcomes, outcome{provider: e.Provider, err: aerr})
		if i+1 < len(cands) {
			next := cands[i+1].Provider
			req.log.Warn("failing over", slog.String("from", e.Provider), slog.String("to", next), slog.String("reason", aerr.reason))
			s.bus.publish(Event{Kind: EventFailover, Time: time.Now(), Provider: e.Provider, Next: next,
				Reason: aerr.reason, State: state, Until: until})
		}
	}
	s.giveUp(req, rt, outcomes, firstRefusal)
}

// tryEntry tries one route entry. A provider with several keys is tried key
// after key while the failure is the key's own (rejected, no credit, rate
// limited): each key sits out on its own before the provider does. It
// returns nil once the request is finished (served, relayed, or the client
// gone); otherwise the last failure and the state it left the provider in.
func (s *Server) tryEntry(req *request, u *upstream, e config.RouteEntry, n int) (*attemptError, health.State, time.Time) {
	keys := len(u.cfg.Credentials())
	tried := make([]bool, keys)
	var last *attemptError
	var state health.State
	var until time.Time
	for {
		req.key = 0
		if keys > 1 {
			k := s.selector.Key(u.cfg.Name, keys, req.session, healthView{s.health, req.set.QuotaNearLimit},
				func(i int) bool { return tried[i] })
			if k < 0 {
				if last == nil {
					last = &attemptError{kind: failSkip, reason: "no usable key (every key is rate limited or needs attention)"}
				}
				return last, state, until
			}
			req.key, tried[k] = k, true
		}
		name := healthName(u, req.key)
		aerr := s.attempt(req, u, e)
		if aerr != nil {
			// The one place a failure's reason is made safe for logs,
			// /providers, events and the all-failed answer.
			aerr.reason = req.redact.string(aerr.reason)
		}
		s.health.Observe(name, req.quota)
		if aerr == nil {
			req.served = true
			// Latency is time to response headers: a stream's length says
			// nothing about the provider's speed.
			s.health.Succeeded(name, req.headersAfter)
			s.holdIfUsedUp(name, req.quota)
			s.noteServed(e.Provider)
			s.selector.ServedKey(req.session, e.Provider, req.key)
			// Per-request lines are DEBUG, like an access log that is off by
			// default: at INFO the log holds what changed.
			if req.log.Enabled(req.r.Context(), slog.LevelDebug) {
				req.log.Debug("request served", slog.String("provider", e.Provider), slog.String("model", req.fields.Model),
					slog.Bool("stream", req.fields.Stream), slog.Int("attempt", n), slog.Duration("took", time.Since(req.start)))
			}
			return nil, "", time.Time{}
		}
		switch aerr.kind {
		case failClientGone:
			req.log.Info("client went away", slog.String("provider", e.Provider))
			return nil, "", time.Time{}
		case failRefused:
			if aerr.relayNow {
				req.log.Info("request refused by the provider; its answer is relayed",
					slog.String("provider", e.Provider), slog.String("reason", aerr.reason))
				aerr.reply.write(req.w, e.Provider, req.redact)
				return nil, "", time.Time{}
			}
		}
		if !keyScoped(aerr) {
			// The provider itself failed: every key of it shares the state.
			name = u.cfg.Name
		}
		state, until = s.recordFailure(name, u.cfg.Name, aerr, req)
		if aerr.committed {
			// Bytes already reached the client: the only honest end is an
			// aborted connection, so the client retries (DESIGN.md 5.5).
			req.log.Warn("answer failed after its first byte; aborting the client connection",
				slog.String("provider", e.Provider), slog.String("reason", aerr.reason))
			panic(http.ErrAbortHandler)
		}
		last = aerr
		if keys < 2 || !keyScoped(aerr) {
			return last, state, until
		}
		req.log.Warn("key out; trying the provider's next key", slog.String("provider", e.Provider),
			slog.String("key", keyLabel(u, req.key)), slog.String("reason", aerr.reason))
	}
}

// holdIfUsedUp keeps a provider (or key) that has just served out until its
// window resets, when the answer's headers say the window is used up.
func (s *Server) holdIfUsedUp(name string, info quota.Info) {
	until, ok := info.ExhaustedUntil()
	if !ok || !until.After(time.Now()) {
		return
	}
	var used []string
	for _, w := range info.Windows {
		if w.Exhausted() {
			used = append(used, w.Name)
		}
	}
	s.health.Hold(name, health.StateRateLimited, "rate limit window used up ("+strings.Join(used, ", ")+")", until)
}

// recordFailure moves the provider, or the key that name addresses, to the
// state the failure calls for (DESIGN.md section 10) and returns the state
// the provider is in afterwards and when that ends ("" and zero when the
// failure changed no state).
func (s *Server) recordFailure(name, provider string, aerr *attemptError, req *request) (health.State, time.Time) {
	if aerr.kind == failClientGone {
		return "", time.Time{}
	}
	f := health.Failure{Reason: aerr.reason, Status: aerr.status}
	if aerr.credit {
		f.Status = http.StatusPaymentRequired
	}
	if aerr.kind == failProvider {
		f.State = aerr.state
		switch aerr.state {
		case health.StateCooling:
			f.For = max(req.set.FailureCooldown, aerr.wait)
		case health.StateRateLimited:
			f.For = aerr.wait
			if f.For <= 0 {
				f.For = req.set.FailureCooldown
			}
		}
	}
	s.health.Failed(name, f)
	if f.State == "" {
		return "", time.Time{}
	}
	return s.health.State(provider)
}

// giveUp answers a request that no provider served (DESIGN.md 5.6): the
// message names each provider of the route and why, and the status makes
// Claude Code do the right thing, as measured with its CLI (2.1.332;
// docs/claude-code-errors.md):
//   - transient causes (overload, timeouts, everything cooling down, short
//     rate limits): 503 api_error, or 429 rate_limit_error when only rate
//     limits stand in the way, with retry-after set to when the first
//     provider is back, 1 to 60 s. The CLI waits that long and retries, and
//     shows the message if it gives up. (An overloaded_error body or a 529
//     would make it print "Repeated 529 Overloaded errors" and hide the
//     message; a retry-after above 60 makes it give up at once.)
//   - causes that need the user: keys rejected (403 permission_error),
//     accounts out of credit or budgets spent (402 billing_error), rate
//     limit windows of hours (429 rate_limit_error), all with
//     x-should-retry: false, which the CLI obeys: one request, the message
//     shown at once; a route with no usable provider, a model no provider
//     has, a request no provider can take: 400 invalid_request_error, whose
//     message the CLI shows (a 404 would be replaced by its own text).
func (s *Server) giveUp(req *request, rt *config.Route, outcomes []outcome, firstRefusal *outcome) {
	now := time.Now()
	tried := make(map[string]bool, len(outcomes))
	var lines []string
	allRefused, allNotFound := len(outcomes) > 0, len(outcomes) > 0
	for _, o := range outcomes {
		tried[o.provider] = true
		allRefused = allRefused && (o.err.kind == failRefused || o.err.kind == failSkip)
		allNotFound = allNotFound && o.err.kind == failNotFound
	}
	var soonest time.Time
	var cooling, keys, credit, limits bool
	untried := 0
	for _, e := range rt.Entries {
		if _, ok := req.st.upstreams[e.Provider]; !ok {
			continue
		}
		st := s.health.Status(e.Provider)
		switch {
		case st.State == health.StateCooling || st.State == health.StateRateLimited && st.Until.Sub(now) <= transientHorizon:
			cooling = cooling || st.State == health.StateCooling
			if soonest.IsZero() || st.Until.Before(soonest) {
				soonest = st.Until
			}
		case st.State == health.StateRateLimited:
			limits = true
		case st.State == health.StateBudgetReached,
			st.State == health.StateNeedsAttention && st.LastStatus == http.StatusPaymentRequired:
			credit = true
		case st.State == health.StateNeedsAttention:
			keys = true
		}
		if !tried[e.Provider] {
			untried++
			note := stateNote(st, now)
			switch {
			case st.State == health.StateBudgetReached && st.Reason != "":
				// "daily budget of $5.00 reached ($5.02 spent today), back Dec 2 00:00"
				note = shorten(st.Reason, 80) + ", back " + st.Until.Local().Format("Jan 2 15:04")
			case st.Reason != "":
				note += ", after " + shorten(st.Reason, 80)
			}
			lines = append(lines, fmt.Sprintf("%s: not tried (%s)", e.Provider, note))
		}
	}
	for _, o := range outcomes {
		line := o.provider + ": " + o.err.reason
		if o.err.kind == failProvider {
			line += " (" + stateNote(s.health.Status(o.provider), now) + ")"
		}
		lines = append(lines, line)
	}
	detail := strings.Join(lines, "; ")
	if len(lines) == 0 {
		detail = "the route has no enabled provider"
	}
	if req.defaultRoute {
		detail = fmt.Sprintf("(no route matches it; the default route %q was used) %s", rt.Pattern, detail)
	}
	log := req.log.With(slog.String("model", req.fields.Model), slog.String("providers", detail))
	h := req.w.Header()

	switch {
	case allRefused && firstRefusal != nil && (untried == 0 || soonest.IsZero()):
		// Every provider tried refused the request itself, and either none
		// is left or none is coming back soon (a provider cooling down from
		// an earlier failure, tried all the same, included): waiting helps
		// nothing, and a context overflow must reach the client as such.
		log.Info("every provider refused the request; the first refusal is relayed")
		firstRefusal.err.reply.write(req.w, firstRefusal.provider, req.redact)
	case !soonest.IsZero():
		secs := int(math.Ceil(soonest.Sub(now).Seconds()))
		secs = min(max(secs, 1), int(maxRetryAfter/time.Second))
		status, typ := http.StatusServiceUnavailable, anthropic.ErrAPI
		if !cooling {
			status, typ = http.StatusTooManyRequests, anthropic.ErrRateLimit
		}
		log.Error("no provider could serve the request; the client is told to retry", slog.Int("retry_after_s", secs))
		h.Set("Retry-After", strconv.Itoa(secs))
		anthropic.WriteError(req.w, status, typ, fmt.Sprintf("no provider could serve model %s right now, retry in %ds: %s", req.fields.Model, secs, detail))
	case allRefused:
		log.Warn("no provider can take this request")
		anthropic.WriteError(req.w, http.StatusBadRequest, anthropic.ErrInvalidRequest, "no provider can take this request: "+detail)
	case allNotFound:
		log.Warn("no provider has the model")
		anthropic.WriteError(req.w, http.StatusBadRequest, anthropic.ErrInvalidRequest, fmt.Sprintf("no provider has model %s: %s", req.fields.Model, detail))
	case keys || credit || limits:
		status := http.StatusForbidden
		switch {
		case credit:
			status = http.StatusPaymentRequired
		case limits && !keys:
			status = http.StatusTooManyRequests
		}
		log.Error("no provider can serve the request until something is fixed")
		h.Set("X-Should-Retry", "false")
		anthropic.WriteError(req.w, status, anthropic.ErrorTypeForStatus(status),
			fmt.Sprintf("no provider can serve model %s: %s", req.fields.Model, detail))
	default:
		log.Error("no provider can serve the request")
		anthropic.WriteError(req.w, http.StatusBadRequest, anthropic.ErrInvalidRequest,
			fmt.Sprintf("no provider can serve model %s: %s", req.fields.Model, detail))
	}
}

// stateNote says in a few words what a provider's state means for the user.
func stateNote(st health.Status, now time.Time) string {
	var left time.Duration
	if !st.Until.IsZero() {
		left = st.Until.Sub(now)
	}
	text := stateText(st.State, left, st.Until, now)
	if st.State == health.StateNeedsAttention {
		text += ": fix its key or credit, then retry it"
	}
	return text
}
