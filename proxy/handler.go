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
	"github.com/ccbalancer/ccbalancer/proxy/quota"
)

// routes dispatches by path, then method, so that every wrong path or
// method still gets an Anthropic-shaped error.
func (s *Server) routes() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.allowed(w, r) {
			return
		}
		st := s.state.Load()
		rt, path, ok := s.routingFor(w, r, st)
		if !ok {
			return
		}
		r = underPath(r, path)
		method := func(want string, h http.HandlerFunc) {
			if r.Method != want && !(want == http.MethodGet && r.Method == http.MethodHead) {
				w.Header().Set("Allow", want)
				anthropic.WriteError(w, http.StatusMethodNotAllowed, anthropic.ErrInvalidRequest,
					fmt.Sprintf("method %s is not allowed on %s (use %s)", r.Method, r.URL.Path, want))
				return
			}
			h(w, r)
		}
		switch path {
		case "/v1/messages":
			method(http.MethodPost, s.bounded(func(w http.ResponseWriter, r *http.Request) { s.handleMessages(w, r, st, rt) }))
		case "/v1/messages/count_tokens":
			method(http.MethodPost, s.bounded(s.handleCountTokens))
		case "/":
			method(http.MethodGet, s.handleRoot)
		case "/providers":
			method(http.MethodGet, s.handleProviders)
		case "/providers/reload":
			method(http.MethodPost, s.admin(s.handleReload))
		case "/metrics":
			method(http.MethodGet, s.handleMetrics)
		case "/session":
			method(http.MethodGet, s.handleSession)
		case "/usage":
			method(http.MethodGet, s.handleUsage)
		default:
			anthropic.WriteError(w, http.StatusNotFound, anthropic.ErrNotFound,
				fmt.Sprintf("no endpoint %s %s (this proxy serves POST /v1/messages)", r.Method, r.URL.Path))
		}
	})
}

// allowed enforces DESIGN.md section 9: a web page must not be able to spend
// the user's keys (Origin and Host checks against DNS rebinding), and a
// proxy listening beyond loopback requires the configured auth key. Pages
// of settings.allowed_origins get CORS (cors.go); a preflight, which never
// carries credentials, is answered here.
func (s *Server) allowed(w http.ResponseWriter, r *http.Request) bool {
	set := s.state.Load().cfg.Settings
	origin := r.Header.Get("Origin")
	if origin != "" && !contains(set.AllowedOrigins, origin) {
		anthropic.WriteError(w, http.StatusForbidden, anthropic.ErrPermission,
			fmt.Sprintf("requests from the browser origin %q are refused (add it to settings.allowed_origins to allow it)", origin))
		return false
	}
	if set.AuthKey == "" && !config.IsLoopback(r.Host) {
		anthropic.WriteError(w, http.StatusForbidden, anthropic.ErrPermission,
			fmt.Sprintf("Host %q is not a loopback name; refused", r.Host))
		return false
	}
	if isPreflight(r) {
		preflight(w, r)
		return false
	}
	if origin != "" {
		allowOrigin(w.Header(), origin)
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
	w      http.ResponseWriter
	r      *http.Request
	body   []byte
	held   *reqBody // the pooled buffer body lives in, if any
	fields anthropic.Fields
	log    *slog.Logger
	st     *state
	// rt is the request's routing: the profile it named, or the top level;
	// set is the settings that apply to it (rt.set).
	rt  *routing
	set config.Settings
	// redact removes secrets from all that leaves for the client and from
	// failure reasons: the state's, and with passthrough providers the
	// client's own credential.
	redact  *redactor
	session string
	// defaultRoute: no route matches the model; rt is settings.default_route
	// (or the first route), which an all-failed answer says.
	defaultRoute bool
	// key is the key (from 0) of the provider the current attempt uses;
	// quota is what the last answer's headers said about limits.
	key   int
	quota quota.Info
	start time.Time
	// headersAfter is how long the last attempt waited for response headers.
	headersAfter time.Duration
	// toolNames maps the function names the last attempt sent to an
	// OpenAI-compatible provider back to the client's; converted is the
	// pooled buffer its converted body lives in (openaiDialect).
	toolNames map[string]string
	converted *reqBody
	// usage is the token usage the last attempt's answer reported.
	usage anthropic.Usage
	// served: a provider's complete answer reached the client.
	served bool
}

func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request, st *state, rtg *routing) {
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
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
	rt, isDefault := rtg.table.Match(f.Model)
	if rt == nil {
		// A 400, not a 404: Claude Code replaces a 404's message with its own
		// "issue with the selected model" text, and this one says the fix.
		anthropic.WriteError(w, http.StatusBadRequest, anthropic.ErrInvalidRequest,
			fmt.Sprintf("no route for model %q: add a model_routes entry (or a catch-all \"*\") to %s", f.Model, configName(st.cfg)))
		return
	}
	if isDefault {
		if _, seen := s.warned.LoadOrStore(f.Model, true); !seen {
			log.Warn("model matches no route; using the default route", slog.String("model", f.Model), slog.String("route", rt.Pattern))
		}
	}
	if rtg.profile != "" {
		log = log.With(slog.String("profile", rtg.profile))
	}
	req := &request{w: w, r: r, body: body, held: held, fields: f, log: log, st: st, rt: rtg, set: rtg.set, redact: st.redact,
		session: r.Header.Get("X-Claude-Code-Session-Id"), start: time.Now(), defaultRoute: isDefault}
	if st.passthrough {
		req.redact = st.redact.with(r.Header.Get("X-Api-Key"), strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	}
	if s.sharing(req.set) {
		s.share(req, rt)
		return
	}
	s.answer(req, rt)
}

// firstByteLimit is how long an attempt may wait for the response headers,
// and the cause reported when it runs out: request_timeout for a stream; for
// a non-streamed answer, whose headers come only when it is complete,
// nonstream_timeout, or the client's own x-stainless-timeout (seconds, as
// the Anthropic SDKs send it) when that is smaller.
func (req *request) firstByteLimit() (time.Duration, error) {
	set := req.set
	if req.fields.Stream {
		return set.RequestTimeout, errFirstByteTimeout
	}
	d := set.NonstreamTimeout
	if v := req.r.Header.Get("X-Stainless-Timeout"); v != "" {
		if secs, err := strconv.ParseFloat(v, 64); err == nil && secs > 0 && secs < 1e6 {
			d = min(d, time.Duration(secs*float64(time.Second)))
		}
	}
	return d, errNonstreamTimeout
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
