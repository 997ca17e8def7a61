// Package proxy is ccbalancer's HTTP server: it speaks the Anthropic Messages
// API to Claude Code, routes each request to a provider, fails over, relays
// streams as they arrive, and serves the admin endpoints.
//
// A request's path runs down through the files, one way:
//  1. handler.go reads the body, checks it and finds the route;
//  2. failover.go tries the route's providers in order and answers when all fail;
//  3. attempt.go makes one attempt: send, watchdog.go's timer, classify (failure.go), write;
//  4. dialect_anthropic.go and dialect_openai.go build the upstream request and
//     read its answer, only where the two wire formats differ;
//  5. upstream.go holds each provider's connection pool.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy/cache"
	"github.com/ccbalancer/ccbalancer/proxy/dedup"
	"github.com/ccbalancer/ccbalancer/proxy/health"
	"github.com/ccbalancer/ccbalancer/proxy/route"
	"github.com/ccbalancer/ccbalancer/proxy/usage"
)

// Options are the parts of a Server that do not come from the config file.
type Options struct {
	Logger  *slog.Logger
	Version string
	// LogFile is shown in snapshots ("Open log folder").
	LogFile string
	// Listen overrides settings host:port when not empty. It follows the
	// same rule as the file's address (config.Settings.CheckListen).
	Listen string
	// UsagePath is the usage ledger's database (usage.Open: a file, or
	// ":memory:"); "" records nothing.
	UsagePath string
	// Now is the clock of the usage ledger and budgets (time.Now when nil).
	Now func() time.Time
}

// state is everything derived from one configuration. It is immutable and
// swapped whole on reload, so a request sees one consistent configuration
// from start to end.
type state struct {
	cfg       *config.Config
	upstreams map[string]*upstream
	// top is the top-level routing; profiles the named ones.
	top      *routing
	profiles map[string]*routing
	// gen counts the configurations loaded: requests share answers only
	// within one.
	gen uint64
	// budgeted: some provider, or the settings, has a budget.
	budgeted bool
	// redact knows the configuration's secrets (redact.go); passthrough
	// says a provider forwards the client's own credential, which is then
	// a secret too.
	redact      *redactor
	passthrough bool
}

// Server is the proxy. Create it with New; Start and Stop open and close the
// listener (any number of times); Close releases everything.
type Server struct {
	log      *slog.Logger
	version  string
	logFile  string
	listen   string
	state    atomic.Pointer[state]
	health   *health.Tracker
	selector *route.Selector
	bus      Bus
	handler  http.Handler
	limits   *limits      // connections and body memory (resources.go)
	metrics  http.Handler // GET /metrics
	probes   prober
	flights  *dedup.Group
	cache    *cache.Cache[dedup.Key, dedup.Answer]
	ledger   *usage.Ledger // nil: usage is not recorded
	now      func() time.Time

	reloadMu sync.Mutex // serialises Reload and SetStrategy

	mu      sync.Mutex // guards the listener lifecycle below
	srv     *http.Server
	serveWG sync.WaitGroup
	// draining are servers of earlier listen addresses that still finish
	// their requests in flight (Reload's rebind).
	drainMu  sync.Mutex
	draining []*http.Server
	// bound is the listener's address while running ("" when stopped); read
	// without the lock so snapshots never wait for a graceful stop.
	bound atomic.Pointer[string]

	reqSeq   atomic.Uint64
	inFlight atomic.Int64
	// abortAt is when a stop that waits for answers still running aborts
	// them (Unix nanoseconds); 0 while no stop waits.
	abortAt atomic.Int64
	allDown atomic.Bool
	// lastServed is the provider that served the latest request, for the
	// tray's tooltip (nil until one is served), and lastServedAt when (Unix
	// nanoseconds): a request changes the pointer only when the provider
	// changes.
	lastServed   atomic.Pointer[string]
	lastServedAt atomic.Int64
	warned       sync.Map // models already warned about using the default route
}

// New builds a Server for cfg. It opens nothing until Start.
func New(cfg *config.Config, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		log:      opts.Logger,
		version:  opts.Version,
		logFile:  opts.LogFile,
		listen:   opts.Listen,
		selector: route.NewSelector(),
		flights:  dedup.NewGroup(dedup.Options{}),
		cache:    cache.New[dedup.Key, dedup.Answer](cache.Limits{}, nil),
		now:      opts.Now,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.version == "" {
		s.version = "dev"
	}
	s.health = health.New(s.onHealth)
	st, err := buildState(cfg, s.version)
	if err != nil {
		return nil, err
	}
	s.state.Store(st)
	s.limits = newLimits(cfg.Settings)
	s.metrics = newMetricsHandler(s)
	s.setKeys(cfg)
	s.applyShareSettings(cfg.Settings)
	if opts.UsagePath != "" {
		// A ledger that cannot be opened must not keep the proxy from
		// serving: the error says what is lost.
		l, err := usage.Open(opts.UsagePath, usage.Options{Retention: cfg.Settings.UsageRetention, Now: s.now, Logger: s.log})
		if err != nil {
			s.log.Error("usage ledger cannot be opened: usage is not recorded and budgets do not apply", slog.Any("err", err))
		} else {
			s.ledger = l
			if st.budgeted {
				s.checkBudgets(st)
			}
		}
	}
	s.handler = s.routes()
	return s, nil
}

func buildState(cfg *config.Config, version string) (*state, error) {
	st := &state{
		cfg:       cfg,
		upstreams: make(map[string]*upstream, len(cfg.Providers)),
		top:       newRouting("", cfg.Routes, cfg.Settings),
		profiles:  make(map[string]*routing, len(cfg.Profiles)),
		redact:    newRedactor(secretsOf(cfg)...),
	}
	for _, p := range cfg.Profiles {
		st.profiles[p.Name] = newRouting(p.Name, p.Routes, p.Settings)
	}
	st.budgeted = cfg.Settings.Budget.Set()
	for _, p := range cfg.Providers {
		st.budgeted = st.budgeted || p.Budget.Set()
		if !p.Enabled {
			continue
		}
		st.passthrough = st.passthrough || p.AuthValue.IsPassthrough()
		u, err := newUpstream(p, cfg.Settings, version)
		if err != nil {
			return nil, err
		}
		st.upstreams[p.Name] = u
	}
	return st, nil
}

// Handler returns the proxy's HTTP handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// fixedListen is the address that a reload does not change: the bound one
// while running, else the override; "" when the file's address applies.
func (s *Server) fixedListen() string {
	if b := s.bound.Load(); b != nil {
		return *b
	}
	return s.listen
}

func (s *Server) configuredListen() string {
	if s.listen != "" {
		return s.listen
	}
	return s.state.Load().cfg.Settings.Listen()
}

// Start opens the listener and serves in the background. An address beyond
// loopback without settings.auth_key is refused with a *config.ListenError,
// whether it comes from the file or from Options.Listen.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return nil
	}
	ln, err := s.openListener()
	if err != nil {
		return err
	}
	s.serveLocked(ln)
	s.startProbes()
	s.log.Info("proxy listening", slog.String("addr", ln.Addr().String()))
	s.bus.publish(Event{Kind: EventStarted, Time: time.Now()})
	return nil
}

// serveLocked serves on ln in the background as the current listener.
func (s *Server) serveLocked(ln net.Listener) {
	ln = s.limits.conns.listener(ln)
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ConnState:         s.limits.conns.track,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.srv = srv
	s.serveWG.Add(1)
	go func() {
		defer s.serveWG.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("server stopped", slog.Any("err", err))
		}
	}()
}

// openListener checks the address against the settings and opens it. It holds
// reloadMu from the check until the bound address is published, so that a
// Reload either sees the listener or is seen by the check.
func (s *Server) openListener() (net.Listener, error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	addr := s.configuredListen()
	if err := s.state.Load().cfg.Settings.CheckListen(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	bound := ln.Addr().String()
	s.bound.Store(&bound)
	return ln, nil
}

// Stop closes the listener. Answers still running go on for
// settings.shutdown_grace (or until ctx ends, if sooner); then their
// connections are closed, so that their clients see an aborted answer, never
// a clean end, and retry. While it waits, the log and EventStopping say how
// many answers are still running.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return nil
	}
	s.bound.Store(nil)
	s.stopProbes()
	grace := s.state.Load().cfg.Settings.ShutdownGrace
	if grace <= 0 {
		grace = config.Defaults().ShutdownGrace
	}
	ctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	s.drainMu.Lock()
	srvs := append(s.draining, s.srv)
	s.draining = nil
	s.drainMu.Unlock()
	if deadline, ok := ctx.Deadline(); ok {
		s.abortAt.Store(deadline.UnixNano())
	}
	done := make(chan error, 1)
	go func() { done <- s.shutdown(ctx, srvs...) }()
	err := s.waitRunning(ctx, done)
	s.abortAt.Store(0)
	s.serveWG.Wait()
	s.srv = nil
	s.log.Info("proxy stopped")
	s.bus.publish(Event{Kind: EventStopped, Time: time.Now()})
	return err
}

// shutdown stops servers, letting their requests in flight finish until ctx
// ends, then closing their connections (the answers still running are
// aborted).
func (s *Server) shutdown(ctx context.Context, srvs ...*http.Server) error {
	var errs []error
	var wg sync.WaitGroup
	var mu sync.Mutex
	var once sync.Once
	for _, srv := range srvs {
		wg.Go(func() {
			if err := srv.Shutdown(ctx); err != nil {
				once.Do(func() {
					n := s.inFlight.Load()
					s.log.Warn("grace period over; aborting the answers still running", slog.Int64("running", n))
					s.bus.publish(Event{Kind: EventStopping, Time: time.Now(), InFlight: int(n)})
				})
				err = srv.Close()
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// stopReportEvery is how often a stop that waits for answers says how many
// are still running, when that number changed.
const stopReportEvery = time.Second

// waitRunning waits for Shutdown's result (done), saying how many answers
// are still running: at once, then whenever the number changes.
func (s *Server) waitRunning(ctx context.Context, done <-chan error) error {
	deadline, _ := ctx.Deadline()
	tick := time.NewTicker(stopReportEvery)
	defer tick.Stop()
	last := int64(-1)
	for {
		if n := s.inFlight.Load(); n != last && n > 0 {
			last = n
			s.log.Info("stopping: answers still running", slog.Int64("running", n),
				slog.Duration("aborted_in", time.Until(deadline).Round(time.Second)))
			s.bus.publish(Event{Kind: EventStopping, Time: time.Now(), InFlight: int(n), Until: deadline})
		}
		select {
		case err := <-done:
			return err
		case <-tick.C:
		}
	}
}

// Close stops the server (settings.shutdown_grace for the answers still
// running) and releases its resources. The Server cannot be started again.
func (s *Server) Close() error {
	err := s.Stop(context.Background())
	s.flights.Wait()
	if s.ledger != nil {
		if lerr := s.ledger.Close(); lerr != nil {
			err = errors.Join(err, fmt.Errorf("closing the usage ledger: %w", lerr))
		}
	}
	s.health.Close()
	for _, u := range s.state.Load().upstreams {
		u.close()
	}
	return err
}

// Running reports whether the listener is open.
func (s *Server) Running() bool { return s.bound.Load() != nil }

// Addr returns the bound address while running, else the configured one.
func (s *Server) Addr() string {
	if b := s.bound.Load(); b != nil {
		return *b
	}
	return s.configuredListen()
}

// Subscribe returns a channel of events and a function that ends the
// subscription. A subscriber that does not keep up loses events.
func (s *Server) Subscribe() (<-chan Event, func()) { return s.bus.Subscribe() }

// RetryNow clears a provider's cooldown.
func (s *Server) RetryNow(provider string) error {
	if _, ok := s.state.Load().cfg.Provider(provider); !ok {
		return fmt.Errorf("retry: no provider named %q", provider)
	}
	s.health.Reset(provider, "retried by hand")
	s.log.Info("provider state cleared by hand", slog.String("provider", provider))
	s.bus.publish(Event{Kind: EventChanged, Time: time.Now(), Provider: provider})
	return nil
}

// SetStrategy changes the top-level selection strategy live (until the
// next reload); profiles keep theirs.
func (s *Server) SetStrategy(strategy config.Strategy) error {
	if !isStrategy(strategy) {
		return fmt.Errorf("unknown selection strategy %q (want priority, round_robin or random)", strategy)
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	old := s.state.Load()
	st := *old
	top := *old.top
	top.strategy = strategy
	st.top = &top
	s.state.Store(&st)
	s.log.Info("selection strategy changed", slog.String("strategy", string(strategy)))
	s.bus.publish(Event{Kind: EventChanged, Time: time.Now(), Reason: "strategy " + string(strategy)})
	return nil
}

func isStrategy(v config.Strategy) bool {
	for _, s := range config.Strategies {
		if v == s {
			return true
		}
	}
	return false
}

// Reload re-reads the configuration file. On any error the old configuration
// keeps serving, and EventConfigReloadFailed is published.
func (s *Server) Reload() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	old := s.state.Load()
	fail := func(err error) error {
		s.log.Error("configuration reload failed; the previous configuration keeps serving", slog.Any("err", err))
		s.bus.publish(Event{Kind: EventConfigReloadFailed, Time: time.Now(), Reason: firstLine(err.Error())})
		return err
	}
	if old.cfg.Path == "" {
		return fail(errors.New("reload: the configuration was not read from a file"))
	}
	cfg, err := config.Load(old.cfg.Path)
	if err != nil {
		return fail(err)
	}
	// The file's own address was checked by Load; the one the proxy listens
	// on (or will, by the override) must be allowed by the new settings too,
	// or dropping auth_key would leave it open to the network without one.
	ln, err := s.listenerFor(old.cfg, cfg)
	if err != nil {
		return fail(fmt.Errorf("reloading %s: %w", cfg.Path, err))
	}
	if addr := s.fixedListen(); addr != "" && ln == nil {
		if err := cfg.Settings.CheckListen(addr); err != nil {
			return fail(fmt.Errorf("reloading %s: %w", cfg.Path, err))
		}
	}
	st, err := buildState(cfg, s.version)
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		return fail(err)
	}
	st.gen = old.gen + 1
	s.state.Store(st)
	s.limits.apply(cfg.Settings)
	s.carryHealth(old.cfg, cfg)
	s.setKeys(cfg)
	// Routes may have changed: answers cached under the old ones go.
	s.cache.Clear()
	s.applyShareSettings(cfg.Settings)
	if s.ledger != nil && (st.budgeted || old.budgeted) {
		s.checkBudgets(st)
	}
	if cfg.Settings.UsageDB != old.cfg.Settings.UsageDB || cfg.Settings.UsageRetention != old.cfg.Settings.UsageRetention {
		s.log.Warn("usage_db and usage_retention_days apply at the next start")
	}
	// Requests in flight keep their old transports; only idle connections go.
	for _, u := range old.upstreams {
		u.close()
	}
	for _, w := range cfg.Warnings {
		s.log.Warn("config", slog.String("warning", w))
	}
	if ln != nil {
		s.moveTo(ln)
	}
	s.log.Info("configuration reloaded", slog.String("path", cfg.Path),
		slog.Int("providers", len(cfg.Providers)), slog.Int("routes", len(cfg.Routes)))
	s.bus.publish(Event{Kind: EventConfigReloaded, Time: time.Now()})
	return nil
}

// carryHealth keeps the state of providers that a reload left as they were;
// a provider whose settings changed starts afresh (a new key is the usual fix
// for "needs attention"), and one that left the file is forgotten.
func (s *Server) carryHealth(old, cur *config.Config) {
	for _, p := range old.Providers {
		np, ok := cur.Provider(p.Name)
		switch {
		case !ok:
			s.health.Forget(p.Name)
		case !p.SameEndpoint(np):
			s.health.Reset(p.Name, "provider changed by reload")
		}
	}
}

// setKeys tells the health tracker how many keys each provider has.
func (s *Server) setKeys(cfg *config.Config) {
	for _, p := range cfg.Providers {
		s.health.SetKeys(p.Name, len(p.Keys))
	}
}

func firstLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}

// Snapshot returns a consistent copy of the proxy's state.
func (s *Server) Snapshot() Snapshot {
	st := s.state.Load()
	snap := Snapshot{
		Version:    s.version,
		Listen:     s.configuredListen(),
		Running:    s.Running(),
		Strategy:   st.top.strategy,
		ConfigPath: st.cfg.Path,
		LogFile:    s.logFile,
		Routes:     len(st.cfg.Routes),
		InFlight:   int(s.inFlight.Load()),
	}
	if at := s.abortAt.Load(); at != 0 {
		snap.AbortAt = time.Unix(0, at)
	}
	snap.Connections, snap.BodyBytes = s.limits.usage()
	if ls := s.lastServed.Load(); ls != nil {
		snap.LastServed, snap.LastServedAt = *ls, time.Unix(0, s.lastServedAt.Load())
	}
	now := time.Now()
	for _, p := range st.cfg.Providers {
		h := s.health.Status(p.Name)
		state := h.State
		if !p.Enabled {
			state = health.StateDisabled
		}
		var remaining time.Duration
		if !h.Until.IsZero() {
			remaining = max(h.Until.Sub(now), 0)
		}
		ps := ProviderStatus{
			Name:              p.Name,
			Type:              p.Type,
			BaseURL:           p.DisplayURL(),
			Enabled:           p.Enabled,
			State:             state,
			StateReason:       h.Reason,
			Until:             h.Until,
			Healthy:           state == health.StateHealthy,
			FailureCount:      h.FailureCount,
			LastFailure:       h.LastFailure,
			LastSuccess:       h.LastSuccess,
			CooldownRemaining: remaining,
			LastError:         h.LastError,
			Requests:          h.Requests,
			Failures:          h.Failures,
			LatencyP50:        h.LatencyP50,
			LatencyP99:        h.LatencyP99,
			Quota:             h.Quota,
			QuotaAt:           h.QuotaAt,
			Used:              h.Quota.UsedAt(now),
		}
		for _, k := range h.Keys {
			if k.Key <= len(p.Keys) {
				ps.Keys = append(ps.Keys, KeyStatus{Key: k.Key, Fingerprint: Fingerprint(p.Keys[k.Key-1].Reveal()),
					State: k.State, Until: k.Until, Reason: k.Reason})
			}
		}
		if s.ledger != nil {
			ps.Today, _, _ = s.ledger.Totals(p.Name)
		}
		snap.Providers = append(snap.Providers, ps)
	}
	snap.Usage = s.ledger != nil
	return snap
}

// served is a request served by a provider.
// noteServed records that provider served a request now. Only a change of
// provider is published (EventChanged), so a steady stream of requests does
// not flood subscribers.
func (s *Server) noteServed(provider string) {
	now := time.Now()
	s.lastServedAt.Store(now.UnixNano())
	if prev := s.lastServed.Load(); prev != nil && *prev == provider {
		return
	}
	name := new(string) // only a change of provider allocates
	*name = provider
	s.lastServed.Store(name)
	s.bus.Publish(Event{Kind: EventChanged, Time: now, Provider: provider, Reason: "served a request"})
}

// onHealth turns state transitions into events.
func (s *Server) onHealth(tr health.Transition) {
	now := time.Now()
	if tr.Key != 0 {
		// One key of a provider that others keep in rotation: logged, and
		// shown in snapshots, but not an event (the provider did not change).
		s.log.Info("key state changed", slog.String("provider", tr.Provider), slog.Int("key", tr.Key),
			slog.String("state", string(tr.State)), slog.String("was", string(tr.Prev)), slog.String("reason", tr.Reason))
		return
	}
	ev := Event{Kind: EventProviderState, Time: now, Provider: tr.Provider, State: tr.State, Prev: tr.Prev, Reason: tr.Reason, Until: tr.Until}
	if tr.State == health.StateHealthy {
		s.allDown.Store(false)
		s.log.Info("provider back in rotation", slog.String("provider", tr.Provider),
			slog.String("was", string(tr.Prev)), slog.String("reason", tr.Reason))
		s.bus.publish(ev)
		return
	}
	attrs := []any{slog.String("provider", tr.Provider), slog.String("state", string(tr.State)), slog.String("reason", tr.Reason)}
	if !tr.Until.IsZero() {
		attrs = append(attrs, slog.Duration("for", tr.Until.Sub(now).Round(time.Second)))
	}
	s.log.Warn("provider out of rotation", attrs...)
	s.bus.publish(ev)
	if s.noProviderInRotation() && s.allDown.CompareAndSwap(false, true) {
		s.log.Error("no provider is in rotation")
		s.bus.publish(Event{Kind: EventAllDown, Time: now, Reason: tr.Reason})
	}
}

// noProviderInRotation reports whether every enabled provider is out of
// rotation (and there is at least one).
func (s *Server) noProviderInRotation() bool {
	st := s.state.Load()
	for name := range st.upstreams {
		if state, _ := s.health.State(name); state == health.StateHealthy {
			return false
		}
	}
	return len(st.upstreams) > 0
}
