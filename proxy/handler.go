package proxy

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
	"github.com/ccbalancer/ccbalancer/proxy/health"
)

// routes dispatches by path, then method, so that every wrong path or
// method still gets an Anthropic-shaped error.
func (s *Server) routes() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.allowed(w, r) {
			return
		}
		method := func(want string, h http.HandlerFunc) {
			if r.Method != want && !(want == http.MethodGet && r.Method == http.MethodHead) {
				w.Header().Set("Allow", want)
				anthropic.WriteError(w, http.StatusMethodNotAllowed, anthropic.ErrInvalidRequest,
					fmt.Sprintf("method %s is not allowed on %s (use %s)", r.Method, r.URL.Path, want))
				return
			}
			h(w, r)
		}
		switch r.URL.Path {
		case "/v1/messages":
			method(http.MethodPost, s.handleMessages)
		case "/v1/messages/count_tokens":
			method(http.MethodPost, s.handleCountTokens)
		case "/":
			method(http.MethodGet, s.handleRoot)
		case "/providers":
			method(http.MethodGet, s.handleProviders)
		case "/providers/reload":
			method(http.MethodPost, s.admin(s.handleReload))
		case "/metrics":
			method(http.MethodGet, s.handleMetrics)
		default:
			anthropic.WriteError(w, http.StatusNotFound, anthropic.ErrNotFound,
				fmt.Sprintf("no endpoint %s %s (this proxy serves POST /v1/messages)", r.Method, r.URL.Path))
		}
	})
}

// allowed enforces DESIGN.md section 9: a web page must not be able to spend
// the user's keys (Origin and Host checks against DNS rebinding), and a
// proxy listening beyond loopback requires the configured auth key.
func (s *Server) allowed(w http.ResponseWriter, r *http.Request) bool {
	set := s.state.Load().cfg.Settings
	if origin := r.Header.Get("Origin"); origin != "" && !contains(set.AllowedOrigins, origin) {
		anthropic.WriteError(w, http.StatusForbidden, anthropic.ErrPermission,
			fmt.Sprintf("requests from the browser origin %q are refused (add it to settings.allowed_origins to allow it)", origin))
		return false
	}
	if set.AuthKey == "" && !loopbackHost(r.Host) {
		anthropic.WriteError(w, http.StatusForbidden, anthropic.ErrPermission,
			fmt.Sprintf("Host %q is not a loopback name; refused", r.Host))
		return false
	}
	if set.AuthKey != "" && r.URL.Path != "/" && !clientKeyMatches(r, set.AuthKey.Reveal()) {
		anthropic.WriteError(w, http.StatusUnauthorized, anthropic.ErrAuthentication,
			"this proxy requires settings.auth_key, sent as x-api-key or Authorization: Bearer")
		return false
	}
	return true
}

// admin refuses callers that are neither local nor authenticated.
func (s *Server) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		ip := net.ParseIP(host)
		if s.state.Load().cfg.Settings.AuthKey == "" && (ip == nil || !ip.IsLoopback()) {
			anthropic.WriteError(w, http.StatusForbidden, anthropic.ErrPermission, "admin endpoints are for local callers only")
			return
		}
		h(w, r)
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func clientKeyMatches(r *http.Request, key string) bool {
	got := r.Header.Get("X-Api-Key")
	if got == "" {
		if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			got = v
		}
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(key)) == 1
}

// request is one client request on its way through the failover loop.
type request struct {
	w       http.ResponseWriter
	r       *http.Request
	body    []byte
	held    *reqBody // the pooled buffer body lives in, if any
	fields  anthropic.Fields
	log     *slog.Logger
	st      *state
	session string
	start   time.Time
	// headersAfter is how long the last attempt waited for response headers.
	headersAfter time.Duration
}

func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request) {
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	st := s.state.Load()
	id := s.newRequestID()
	log := s.log.With(slog.String("request_id", id))

	body, held, ok := readBody(w, r, st.cfg.Settings.MaxBodyBytes, log)
	if !ok {
		return
	}
	defer held.release()
	f, err := anthropic.Peek(body)
	if err != nil {
		log.Info("bad request", slog.Any("err", err))
		anthropic.WriteError(w, http.StatusBadRequest, anthropic.ErrInvalidRequest, "request body: "+err.Error())
		return
	}
	switch {
	case !f.HasModel || f.Model == "":
		anthropic.WriteError(w, http.StatusBadRequest, anthropic.ErrInvalidRequest, "model: field required")
		return
	case !f.HasMessages:
		anthropic.WriteError(w, http.StatusBadRequest, anthropic.ErrInvalidRequest, "messages: field required (an array)")
		return
	}
	rt, isDefault := st.table.Match(f.Model)
	if rt == nil {
		anthropic.WriteError(w, http.StatusNotFound, anthropic.ErrNotFound,
			fmt.Sprintf("no route for model %q: add a model_routes entry (or a catch-all \"*\") to %s", f.Model, configName(st.cfg)))
		return
	}
	if isDefault {
		if _, seen := s.warned.LoadOrStore(f.Model, true); !seen {
			log.Warn("model matches no route; using the default route", slog.String("model", f.Model), slog.String("route", rt.Pattern))
		}
	}
	req := &request{w: w, r: r, body: body, held: held, fields: f, log: log, st: st,
		session: r.Header.Get("X-Claude-Code-Session-Id"), start: time.Now()}
	cands := s.selector.Order(rt, st.strategy, req.session, s.health)
	if len(cands) == 0 {
		anthropic.WriteError(w, http.StatusServiceUnavailable, anthropic.ErrOverloaded,
			fmt.Sprintf("route %q for model %q has no enabled provider", rt.Pattern, f.Model))
		return
	}
	s.failover(req, cands)
}

// failover tries the candidates in order until one serves the request, the
// client goes away, or a response has been committed to the client.
func (s *Server) failover(req *request, cands []config.RouteEntry) {
	var fails []string
	allNotFound := true
	var last *attemptError
	for i, e := range cands {
		u := req.st.upstreams[e.Provider]
		if u == nil {
			continue
		}
		committed, aerr := s.attempt(req, u, e)
		if aerr == nil {
			// Latency is time to response headers: a stream's length says
			// nothing about the provider's speed.
			s.health.Succeeded(e.Provider, req.headersAfter)
			s.selector.Served(req.session, e.Provider)
			// Per-request lines are DEBUG, like an access log that is off by
			// default: at INFO the log holds what changed (failovers,
			// cooldowns, recoveries), and the tray and /providers count requests.
			req.log.Debug("request served", slog.String("provider", e.Provider), slog.String("model", req.fields.Model),
				slog.Bool("stream", req.fields.Stream), slog.Int("attempt", i+1), slog.Duration("took", time.Since(req.start)))
			return
		}
		if aerr.kind == failClient {
			// The client went away or the provider answered a client error
			// (already relayed): neither is the provider's fault.
			req.log.Info("request ended", slog.String("provider", e.Provider), slog.String("reason", aerr.reason))
			return
		}
		var hf health.Failure
		if aerr.kind != failSkip {
			hf = s.recordFailure(e.Provider, aerr, req)
		}
		if committed {
			// Bytes already reached the client: the only honest end is an
			// aborted connection, so the client retries (DESIGN.md 5.5).
			req.log.Warn("stream failed after the first byte; aborting the client connection",
				slog.String("provider", e.Provider), slog.String("reason", aerr.reason))
			panic(http.ErrAbortHandler)
		}
		fails = append(fails, fmt.Sprintf("%s: %s", e.Provider, aerr.reason))
		allNotFound = allNotFound && aerr.kind == failNotFound
		last = aerr
		if i+1 < len(cands) {
			next := cands[i+1].Provider
			req.log.Warn("failing over", slog.String("from", e.Provider), slog.String("to", next), slog.String("reason", aerr.reason))
			ev := Event{Kind: EventFailover, Time: time.Now(), Provider: e.Provider, Next: next, Reason: aerr.reason, State: hf.State}
			if hf.For > 0 {
				ev.Until = ev.Time.Add(hf.For)
			}
			s.bus.publish(ev)
		}
	}
	if last != nil && allNotFound {
		anthropic.WriteError(req.w, http.StatusNotFound, anthropic.ErrNotFound,
			"no provider has this model: "+strings.Join(fails, "; "))
		return
	}
	req.log.Error("all providers failed", slog.String("model", req.fields.Model), slog.Any("tried", fails))
	anthropic.WriteError(req.w, http.StatusServiceUnavailable, anthropic.ErrOverloaded,
		"all providers failed: "+strings.Join(fails, "; "))
}

// recordFailure moves the provider to the state the failure calls for
// (DESIGN.md section 10) and returns that failure.
func (s *Server) recordFailure(provider string, aerr *attemptError, req *request) health.Failure {
	f := health.Failure{Reason: aerr.reason}
	if aerr.cooldown {
		f.State = health.StateCooling
		f.For = max(req.st.cfg.Settings.FailureCooldown, aerr.retryAfter)
		switch aerr.status {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusPaymentRequired:
			f.State, f.For = health.StateNeedsAttention, 0
		case http.StatusTooManyRequests:
			f.State = health.StateRateLimited
		}
	}
	s.health.Failed(provider, f)
	return f
}

func configName(c *config.Config) string {
	if c.Path == "" {
		return "the configuration"
	}
	return c.Path
}

func (s *Server) newRequestID() string {
	return "ccb_" + strconv.FormatUint(uint64(time.Now().Unix()), 36) + "_" + strconv.FormatUint(s.reqSeq.Add(1), 36)
}
