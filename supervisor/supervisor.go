// Package supervisor runs the proxy for a desktop session, where the
// configuration may not exist yet, may not load (an unset ${ENV} key, a typo)
// and the port may be taken. Instead of exiting, it keeps the reason in its
// snapshot and publishes it, and starts the proxy once the file loads: when
// the file appears or changes, or when asked to (Reload, Start).
package supervisor

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy"
)

// Setup says why the proxy is not serving when the reason is not the
// proxy's own state; "" when a configuration loaded and the proxy listens or
// was stopped by hand.
type Setup string

// Setup values.
const (
	// SetupOK: a configuration loaded; the proxy listens or was stopped by hand.
	SetupOK Setup = ""
	// NotSetUp: no configuration file exists where it is looked for.
	NotSetUp Setup = "not_set_up"
	// ConfigError: the file exists but does not load; Problem says why.
	ConfigError Setup = "config_error"
	// ListenError: the configuration loaded but the proxy could not open its
	// port; Problem says why.
	ListenError Setup = "listen_error"
)

// Events published when Setup or Problem changes; Reason is the Problem, or
// for EventReady the address the proxy listens on.
const (
	EventNotSetUp    proxy.EventKind = "not_set_up"
	EventConfigError proxy.EventKind = "config_error"
	EventListenError proxy.EventKind = "listen_error"
	// EventReady: a configuration loaded and the proxy listens, or the
	// user stopped it by hand after it could not listen.
	EventReady proxy.EventKind = "ready"
)

// Event is the event that announces the snapshot's setup state: what a
// subscriber that arrives late needs to render it.
func (s Snapshot) Event() proxy.Event {
	e := proxy.Event{Time: time.Now(), Reason: s.Problem}
	switch s.Setup {
	case NotSetUp:
		e.Kind = EventNotSetUp
	case ConfigError:
		e.Kind = EventConfigError
	case ListenError:
		e.Kind = EventListenError
	default:
		e.Kind, e.Reason = EventReady, s.Listen
	}
	return e
}

// Snapshot is the proxy's snapshot with the supervisor's part. Without a
// proxy (NotSetUp, ConfigError) the embedded snapshot has no providers and
// ConfigPath is the file expected.
type Snapshot struct {
	proxy.Snapshot
	Setup Setup
	// Problem is what is wrong, every line of it: the file expected
	// (NotSetUp), the errors (ConfigError, ListenError); "" when SetupOK.
	Problem string
}

// Options configure a Supervisor.
type Options struct {
	// Path is the configuration file, found or expected (from Find).
	Path string
	// Config is what Path loaded to, or nil with LoadErr saying why.
	Config  *config.Config
	LoadErr error
	// Fixed marks Config as not read from a file (the demo): nothing is
	// looked for or watched.
	Fixed bool
	// Flag is the --config value, to look for the file again the same way.
	Flag string
	// Listen overrides settings host:port when not empty (--listen).
	Listen  string
	Version string
	LogFile string
	Logger  *slog.Logger
	// Example is the annotated example configuration CreateConfig writes.
	Example []byte
	// UsagePath says where a configuration's usage ledger lives ("": no
	// ledger); nil records no usage.
	UsagePath func(config.Settings) (string, error)
}

// Supervisor owns the proxy's lifecycle. Create it with New, call Start,
// and Close it at the end. It is safe for concurrent use.
type Supervisor struct {
	opts Options
	log  *slog.Logger
	bus  proxy.Bus

	mu       sync.Mutex
	srv      *proxy.Server // nil until a configuration loads
	path     string
	setup    Setup
	problem  string
	strategy config.Strategy // chosen by hand; kept across reloads
	unsub    func()
	fwd      sync.WaitGroup
	closed   bool
}

// Find looks for the configuration as the command line asks (flagValue is
// --config) and loads it. path is where the file was found or, when none
// was, where it is expected: the explicitly named file, else the user
// config directory's providers.yaml. err wraps config.ErrNotFound when there
// is no file.
func Find(flagValue string) (path string, cfg *config.Config, err error) {
	path, _, err = config.Discover(flagValue)
	if err != nil {
		if path == "" && errors.Is(err, config.ErrNotFound) {
			if def, derr := config.DefaultPath(); derr == nil {
				path = def
			}
		}
		return path, nil, err
	}
	cfg, err = config.Load(path)
	return path, cfg, err
}

// New returns a Supervisor for the first attempt at the configuration
// (opts.Path, opts.Config, opts.LoadErr). It starts nothing until Start.
func New(opts Options) *Supervisor {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Supervisor{opts: opts, log: opts.Logger, path: opts.Path}
	s.setup, s.problem = classify(opts.LoadErr)
	return s
}

// classify names what a failed load means.
func classify(err error) (Setup, string) {
	switch {
	case err == nil:
		return SetupOK, ""
	case errors.Is(err, config.ErrNotFound):
		return NotSetUp, err.Error()
	default:
		return ConfigError, err.Error()
	}
}

// Subscribe returns the proxy's events, whichever proxy is current, and the
// supervisor's own (EventSetup), and a function that ends the subscription.
func (s *Supervisor) Subscribe() (<-chan proxy.Event, func()) { return s.bus.Subscribe() }

// Start starts the proxy: from the loaded configuration, or after looking
// for the file again when none loaded yet. Its error is also kept as the
// Setup and Problem of the snapshot and published.
func (s *Supervisor) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.startLocked(false)
}

// startLocked creates the proxy if needed (looking for the file again when
// reload is set or nothing loaded yet) and opens its port.
func (s *Supervisor) startLocked(reload bool) error {
	if s.closed {
		return errors.New("supervisor closed")
	}
	if s.srv == nil {
		cfg := s.opts.Config
		err := s.opts.LoadErr
		if (cfg == nil || reload) && !s.opts.Fixed {
			s.path, cfg, err = Find(s.opts.Flag)
		}
		s.opts.Config, s.opts.LoadErr = cfg, err
		if err != nil {
			s.setLocked(classify(err))
			return err
		}
		popts := proxy.Options{Logger: s.log, Version: s.opts.Version, LogFile: s.opts.LogFile, Listen: s.opts.Listen}
		if s.opts.UsagePath != nil {
			if popts.UsagePath, err = s.opts.UsagePath(cfg.Settings); err != nil {
				s.log.Warn("no usage ledger", slog.Any("err", err))
			}
		}
		srv, err := proxy.New(cfg, popts)
		if err != nil {
			s.setLocked(ConfigError, err.Error())
			return err
		}
		for _, w := range cfg.Warnings {
			s.log.Warn("config", slog.String("warning", w))
		}
		s.adoptLocked(srv)
	}
	if err := s.srv.Start(); err != nil {
		s.setLocked(ListenError, err.Error())
		return err
	}
	s.setLocked(SetupOK, "")
	return nil
}

// adoptLocked makes srv the current proxy: its events are forwarded, and a
// strategy chosen by hand is applied to it and again after each reload.
func (s *Supervisor) adoptLocked(srv *proxy.Server) {
	s.srv = srv
	if s.strategy != "" {
		s.logErr("applying the selection strategy", srv.SetStrategy(s.strategy))
	}
	events, unsub := srv.Subscribe()
	s.unsub = unsub
	s.fwd.Go(func() {
		for e := range events {
			if e.Kind == proxy.EventConfigReloaded {
				s.mu.Lock()
				st := s.strategy
				s.mu.Unlock()
				if st != "" {
					s.logErr("applying the selection strategy after a reload", srv.SetStrategy(st))
				}
			}
			s.bus.Publish(e)
		}
	})
}

// setLocked records the setup state and publishes a change.
func (s *Supervisor) setLocked(setup Setup, problem string) {
	if setup == s.setup && problem == s.problem {
		return
	}
	s.setup, s.problem = setup, problem
	snap := Snapshot{Setup: setup, Problem: problem}
	if s.srv != nil {
		snap.Listen = s.srv.Addr()
	}
	s.bus.Publish(snap.Event())
	switch setup {
	case SetupOK:
		s.log.Info("configuration loaded and proxy serving", slog.String("config", s.path))
	case NotSetUp:
		s.log.Warn("no configuration file; waiting for one", slog.String("expected", s.path))
	default:
		s.log.Error("the proxy cannot serve", slog.String("setup", string(setup)), slog.String("problem", problem))
	}
}

// Stop closes the proxy's port (ctx bounds the grace period for requests in
// flight). Without a proxy it does nothing.
func (s *Supervisor) Stop(ctx context.Context) error {
	s.mu.Lock()
	srv := s.srv
	if s.setup == ListenError {
		// Stopped by hand: the failed start is no longer the news.
		s.setLocked(SetupOK, "")
	}
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Stop(ctx)
}

// Reload re-reads the configuration: the proxy's own reload when one runs
// (the old configuration keeps serving on error), else a new attempt to
// start. A proxy that could not listen is started again after a reload.
func (s *Supervisor) Reload() error {
	s.mu.Lock()
	srv, setup := s.srv, s.setup
	if srv == nil {
		defer s.mu.Unlock()
		return s.startLocked(true)
	}
	s.mu.Unlock()
	if err := srv.Reload(); err != nil {
		return err
	}
	if setup == ListenError {
		return s.Start()
	}
	return nil
}

// Snapshot returns the current state.
func (s *Supervisor) Snapshot() Snapshot {
	s.mu.Lock()
	srv, setup, problem, path := s.srv, s.setup, s.problem, s.path
	strategy := s.strategy
	s.mu.Unlock()
	snap := Snapshot{Setup: setup, Problem: problem}
	if srv != nil {
		snap.Snapshot = srv.Snapshot()
		return snap
	}
	if strategy == "" {
		strategy = config.StrategyPriority
	}
	snap.Snapshot = proxy.Snapshot{
		Version: s.opts.Version, Listen: s.Addr(), Strategy: strategy,
		ConfigPath: path, LogFile: s.opts.LogFile,
	}
	return snap
}

// Addr is the proxy's address: bound while it listens, else the one it
// would listen on.
func (s *Supervisor) Addr() string {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv != nil {
		return srv.Addr()
	}
	if s.opts.Listen != "" {
		return s.opts.Listen
	}
	return config.Defaults().Listen()
}

// RetryNow returns a provider to rotation by hand.
func (s *Supervisor) RetryNow(provider string) error {
	srv, err := s.proxy()
	if err != nil {
		return err
	}
	return srv.RetryNow(provider)
}

// SetStrategy changes the selection strategy and keeps it across reloads
// and a proxy started later.
func (s *Supervisor) SetStrategy(st config.Strategy) error {
	if err := st.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	s.strategy = st
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.SetStrategy(st)
}

func (s *Supervisor) proxy() (*proxy.Server, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return nil, errors.New("no configuration loaded yet")
	}
	return s.srv, nil
}

// CreateConfig writes the annotated example configuration where the file is
// expected (never overwriting one) and returns its path. Loading it is left
// to the watcher or Reload: the example names keys the user must set first.
func (s *Supervisor) CreateConfig() (string, error) {
	s.mu.Lock()
	path := s.path
	s.mu.Unlock()
	if path == "" {
		return "", errors.New("no place for a configuration file: the user config directory is unknown")
	}
	if err := config.WriteExample(path, s.opts.Example); err != nil {
		return path, err
	}
	s.log.Info("example configuration written", slog.String("path", path))
	// Try it at once: the file's errors (keys to fill in) are what the user
	// needs to see next.
	if err := s.Reload(); err != nil {
		s.log.Debug("the new configuration does not load yet", slog.Any("err", err))
	}
	return path, nil
}

// Close stops the proxy (settings.shutdown_grace for answers still running)
// and ends the forwarding of its events. The Supervisor cannot be started
// again.
func (s *Supervisor) Close() error {
	s.mu.Lock()
	s.closed = true
	srv, unsub := s.srv, s.unsub
	s.mu.Unlock()
	var err error
	if srv != nil {
		err = srv.Close()
		unsub()
	}
	s.fwd.Wait()
	return err
}

func (s *Supervisor) logErr(msg string, err error) {
	if err != nil {
		s.log.Error(msg, slog.Any("err", err))
	}
}
