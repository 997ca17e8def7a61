// Command ccbalancer is a local proxy for Claude Code that spreads requests
// over several providers, fails over the moment one breaks, and shows their
// health in the system tray. See README.md.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/internal/demo"
	"github.com/ccbalancer/ccbalancer/logging"
	"github.com/ccbalancer/ccbalancer/proxy"
	"github.com/ccbalancer/ccbalancer/supervisor"
	"github.com/ccbalancer/ccbalancer/tray"
)

//go:embed providers.example.yaml
var exampleConfig []byte

const usage = `ccbalancer: a local proxy that balances Claude Code over several providers.

Usage:
  ccbalancer [--config F] [--listen HOST:PORT] [--headless]   tray and proxy
  ccbalancer serve [--config F] [--listen HOST:PORT]           proxy only, in the foreground
  ccbalancer demo [--headless] [--listen HOST:PORT] [--traffic=false]
                                                              simulated providers, no keys needed
  ccbalancer init [--config F] [--preset NAME[,NAME…] [--keyring]] [--list]
                                                              write the example configuration, or one for presets
  ccbalancer import cc-switch|claude-code-router [FILE] [--config F]
                                                              turn another tool's configuration into providers.yaml
  ccbalancer models PROVIDER [--config F]                     list the models a provider offers
  ccbalancer check [--config F]                               validate the configuration
  ccbalancer usage [--config F] [--since 24h] [--by provider|model|day]
                                                              requests, tokens and costs
  ccbalancer status                                           show the running instance
  ccbalancer stop                                             stop the running instance
  ccbalancer secret set|list|delete [NAME]                   keys in the OS keyring (auth_value: "keyring:NAME")
  ccbalancer service install|uninstall|start|stop|status [--user] [--config F] [--env-file F]
  ccbalancer autostart enable|disable|status [--config F]     start the tray at login
  ccbalancer statusline [--config F] [--url URL]               one line for Claude Code's statusLine (JSON on stdin)
  ccbalancer version

The configuration is found at --config, $CCBALANCER_CONFIG, ./providers.yaml, or
the user config directory (ccbalancer/providers.yaml). Exit codes: 0 ok, 1 error, 2 usage.
`

func main() {
	attachConsole()
	if path := os.Getenv("CCBALANCER_CPUPROFILE"); path != "" {
		if stop := startProfile(path); stop != nil {
			defer stop()
		}
	}
	code := run(os.Args[1:], os.Stdout, os.Stderr)
	if code != 0 {
		os.Exit(code)
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "":
		return runProxy("ccbalancer", args, stderr, true)
	case "serve":
		return runProxy("ccbalancer serve", args, stderr, false)
	case "demo":
		return runDemo(args, stderr)
	case "init":
		return runInit(args, stdout, stderr)
	case "check":
		return runCheck(args, stdout, stderr)
	case "import":
		return runImport(args, stdout, stderr)
	case "models":
		return runModels(args, stdout, stderr)
	case "statusline":
		return runStatusline(args, os.Stdin, stdout, stderr)
	case "usage":
		return runUsage(args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, versionString())
		return 0
	case "status":
		return statusCommand(args, stdout, stderr)
	case "stop":
		return stopCommand(args, stdout, stderr)
	case "secret":
		return secretCommand(args, os.Stdin, stdout, stderr)
	case "service":
		return serviceCommand(args, stdout, stderr)
	case "autostart":
		return autostartCommand(args, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "ccbalancer: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

type flags struct {
	config, listen string
	headless       bool
	traffic        bool
}

func parseFlags(name string, args []string, stderr io.Writer, want ...string) (flags, bool) {
	var f flags
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	for _, w := range want {
		switch w {
		case "config":
			fs.StringVar(&f.config, "config", "", "configuration file")
		case "listen":
			fs.StringVar(&f.listen, "listen", "", "HOST:PORT to listen on (overrides settings)")
		case "headless":
			fs.BoolVar(&f.headless, "headless", false, "no tray icon")
		case "traffic":
			fs.BoolVar(&f.traffic, "traffic", true, "send a sample request every few seconds")
		}
	}
	if err := fs.Parse(args); err != nil {
		return f, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", name, fs.Arg(0))
		return f, false
	}
	if f.listen != "" {
		_, port, err := net.SplitHostPort(f.listen)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
			fmt.Fprintf(stderr, "%s: --listen %q: want HOST:PORT, e.g. 127.0.0.1:8080\n", name, f.listen)
			return f, false
		}
	}
	return f, true
}

// loadConfig finds and loads the configuration, printing every problem.
func loadConfig(flagValue string, stderr io.Writer) (*config.Config, bool) {
	return loadConfigFrom(flagValue, stderr, config.ProcessSources())
}

// keyless gives every ${NAME} and keyring: reference a placeholder: for
// commands that read the configuration but send nothing to a provider
// (usage), which must work where the keys are not at hand.
var keyless = config.Sources{
	Env:     func(string) (string, bool) { return "unused", true },
	Keyring: func(string) (string, error) { return "unused", nil },
}

// loadConfigFrom is loadConfig with credentials' references read from src.
func loadConfigFrom(flagValue string, stderr io.Writer, src config.Sources) (*config.Config, bool) {
	path, _, err := config.Discover(flagValue)
	if err != nil {
		fmt.Fprintf(stderr, "ccbalancer: %v\n", err)
		if errors.Is(err, config.ErrNotFound) {
			fmt.Fprintln(stderr, "  create one with `ccbalancer init`, or try `ccbalancer demo` (no keys needed)")
		}
		return nil, false
	}
	cfg, err := config.LoadWith(path, src)
	if err != nil {
		fmt.Fprintf(stderr, "ccbalancer: configuration has errors:\n%v\n", err)
		return nil, false
	}
	return cfg, true
}

// newLogger logs by cfg's settings, or by the defaults when no
// configuration loaded (the tray then shows why).
func newLogger(cfg *config.Config, stderr io.Writer) (*slog.Logger, io.Closer, string, error) {
	settings := config.Defaults()
	if cfg != nil {
		settings = cfg.Settings
	}
	file, err := logging.ResolveFile(settings.LogFile)
	if err != nil {
		return nil, nil, "", err
	}
	log, closer, err := logging.New(logging.Options{
		Level: settings.LogLevel, Color: settings.LogColor, File: file,
		MaxBytes: settings.LogMaxBytes, Console: stderr,
	})
	if err != nil {
		return nil, nil, "", fmt.Errorf("opening log file: %w", err)
	}
	return log, closer, file, nil
}

// runProxy is `ccbalancer` (withTray) and `ccbalancer serve`. With a tray,
// a missing or broken configuration and a taken port are shown in the tray
// instead of ending the program; `serve` and --headless exit 1 on them.
func runProxy(name string, args []string, stderr io.Writer, withTray bool) int {
	want := []string{"config", "listen"}
	if withTray {
		want = append(want, "headless")
	}
	f, ok := parseFlags(name, args, stderr, want...)
	if !ok {
		return 2
	}
	withTray = withTray && !f.headless
	if withTray {
		path, cfg, err := supervisor.Find(f.config)
		if _, perr := tray.Probe(); perr == nil || err == nil {
			return serveConfig(supervisor.Options{Path: path, Config: cfg, LoadErr: err, Flag: f.config}, f, stderr, true, nil)
		}
		// No desktop to show the problem on: say it here and stop.
	}
	cfg, ok := loadConfig(f.config, stderr)
	if !ok {
		return 1
	}
	return serveConfig(supervisor.Options{Path: cfg.Path, Config: cfg, Flag: f.config}, f, stderr, withTray, nil)
}

// serveConfig runs the proxy for the configuration in opts until a signal,
// Quit in the tray, `ccbalancer stop`, or the service manager stops it.
// extra, if set, runs alongside (the demo's traffic).
func serveConfig(opts supervisor.Options, f flags, stderr io.Writer, withTray bool, extra func(ctx context.Context, baseURL string, log *slog.Logger)) int {
	log, closer, logFile, err := newLogger(opts.Config, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "ccbalancer: %v\n", err)
		return 1
	}
	defer closer.Close()
	opts.Listen, opts.Version, opts.LogFile, opts.Logger, opts.Example = f.listen, version, logFile, log, exampleConfig
	if opts.UsagePath == nil {
		opts.UsagePath = usagePath
	}
	sup := supervisor.New(opts)
	defer sup.Close()
	if err := sup.Start(); err != nil {
		if !withTray {
			log.Error("cannot start", slog.Any("err", err))
			return 1
		}
	} else if opts.Config != nil {
		banner(stderr, opts.Config, "listening on", sup.Addr(), logFile)
	}
	baseURL := "http://" + sup.Addr()

	// `ccbalancer stop` ends the run like a signal does.
	stopped := make(chan struct{})
	var stopOnce sync.Once
	stopNow := func() { stopOnce.Do(func() { close(stopped) }) }
	var trayState atomic.Value
	trayState.Store("none (ccbalancer serve)")
	ctl := startControl(log, sup, &trayState, stopNow)
	if ctl != nil {
		defer ctl.Close()
	}

	runExtra := func(ctx context.Context) func() {
		if extra == nil {
			return func() {}
		}
		done := make(chan struct{})
		go func() { defer close(done); extra(ctx, baseURL, log) }()
		return func() { <-done }
	}
	if withTray {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		go func() {
			select {
			case <-stopped:
				log.Info("asked to stop by `ccbalancer stop`")
				stop()
			case <-ctx.Done():
			}
		}()
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := sup.Watch(ctx); err != nil {
				log.Warn("not watching for the configuration file", slog.Any("err", err))
			}
		})
		wait := runExtra(ctx)
		err := runTray(ctx, sup, log, &trayState)
		if errors.Is(err, tray.ErrUnavailable) {
			trayState.Store("headless: " + err.Error())
			log.Info("no system tray here; running headless", slog.String("reason", err.Error()))
			<-ctx.Done()
			err = nil
		}
		stop()
		wg.Wait()
		wait()
		return exitCode(log, err)
	}
	err = serveManaged(log, func(ctx context.Context) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := sup.Watch(ctx); err != nil {
				log.Warn("not watching the configuration file", slog.Any("err", err))
			}
		})
		wait := runExtra(ctx)
		select {
		case <-ctx.Done():
		case <-stopped:
			log.Info("asked to stop by `ccbalancer stop`")
		}
		cancel()
		wg.Wait()
		wait()
		return nil
	})
	return exitCode(log, err)
}

func exitCode(log *slog.Logger, err error) int {
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error("stopped with an error", slog.Any("err", err))
		return 1
	}
	log.Info("shutting down; letting requests in flight finish")
	return 0
}

// banner describes a configuration: what `serve` listens on (verb
// "listening on") or `check` would (verb "would listen on"), its providers,
// routes and log file.
func banner(w io.Writer, cfg *config.Config, verb, addr, logFile string) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nccbalancer %s %s http://%s\n", version, verb, addr)
	fmt.Fprintf(&b, "  providers:\n")
	for _, p := range cfg.Providers {
		state := "enabled"
		if !p.Enabled {
			state = "disabled"
		}
		fmt.Fprintf(&b, "    %-14s %-9s %-8s %s\n", p.Name, p.Type, state, p.DisplayURL())
	}
	fmt.Fprintf(&b, "  routes (strategy %s):\n", cfg.Settings.SelectionStrategy)
	for _, r := range cfg.Routes {
		var names []string
		for _, e := range r.Entries {
			n := e.Provider
			if e.Model != "" && e.Model != config.Passthrough {
				n += " as " + e.Model
			}
			names = append(names, n)
		}
		fmt.Fprintf(&b, "    %-20s -> %s\n", r.Pattern, strings.Join(names, ", "))
	}
	fmt.Fprintf(&b, "  log file: %s\n\n  Use it with:\n    ANTHROPIC_BASE_URL=http://%s claude\n\n", logFile, addr)
	fmt.Fprint(w, b.String())
}

func runDemo(args []string, stderr io.Writer) int {
	f, ok := parseFlags("ccbalancer demo", args, stderr, "headless", "listen", "traffic")
	if !ok {
		return 2
	}
	p, cfg, err := demo.Start(f.listen)
	if err != nil {
		fmt.Fprintf(stderr, "ccbalancer demo: %v\n", err)
		return 1
	}
	defer p.Close()
	fmt.Fprintf(stderr, "ccbalancer demo: two simulated providers; %q fails every %d requests with HTTP 529 and the proxy fails over to %q.\n",
		cfg.Providers[0].Name, demo.FlakyEvery, cfg.Providers[1].Name)
	addr := cfg.Settings.Listen()
	fmt.Fprintf(stderr, "Try:\n  curl -N http://%s/v1/messages -H 'content-type: application/json' \\\n    -d '{\"model\":\"claude-sonnet-5\",\"max_tokens\":64,\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}'\n  curl http://%s/providers\n", addr, addr)
	var extra func(context.Context, string, *slog.Logger)
	if f.traffic {
		extra = func(ctx context.Context, baseURL string, log *slog.Logger) {
			demo.Traffic(ctx, baseURL, 2*time.Second, log)
		}
	}
	f.listen = ""
	// The demo's usage lives in memory: its simulated requests stay out of
	// the user's ledger.
	inMemory := func(config.Settings) (string, error) { return ":memory:", nil }
	return serveConfig(supervisor.Options{Path: cfg.Path, Config: cfg, Fixed: true, UsagePath: inMemory}, f, stderr, !f.headless, extra)
}

func runCheck(args []string, stdout, stderr io.Writer) int {
	f, ok := parseFlags("ccbalancer check", args, stderr, "config")
	if !ok {
		return 2
	}
	cfg, ok := loadConfig(f.config, stderr)
	if !ok {
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok\n", cfg.Path)
	notes := proxy.OpenAINotes(cfg)
	for _, w := range cfg.Warnings {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	for _, n := range notes {
		if n.Warning != "" {
			fmt.Fprintf(stdout, "warning: %s\n", n.Warning)
		}
	}
	logFile, err := logging.ResolveFile(cfg.Settings.LogFile)
	if err != nil {
		logFile = fmt.Sprintf("(cannot be resolved: %v)", err)
	}
	banner(stdout, cfg, "would listen on", cfg.Settings.Listen(), logFile)
	if len(notes) > 0 {
		fmt.Fprintf(stdout, "  OpenAI-compatible providers:\n")
		for _, n := range notes {
			fmt.Fprintf(stdout, "    %-14s family %s (%s), requests to %s\n", n.Provider, n.Family, n.How, n.URL)
		}
	}
	return 0
}

// startProfile writes a CPU profile to path until the returned function runs
// (for performance work: CCBALANCER_CPUPROFILE=cpu.prof ccbalancer serve).
func startProfile(path string) func() {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ccbalancer: cpu profile: %v\n", err)
		return nil
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "ccbalancer: cpu profile: %v\n", err)
		f.Close()
		return nil
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}
