package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/ccbalancer/ccbalancer/autostart"
	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/osservice"
	"github.com/ccbalancer/ccbalancer/proxy"
	"github.com/ccbalancer/ccbalancer/tray"
)

// runTray shows the tray around srv (already started) until Quit or ctx ends; it must be called on the main
// goroutine. When no tray can be shown it returns an error wrapping tray.ErrUnavailable (reason in the text)
// before touching systray, and main runs headless.
func runTray(ctx context.Context, srv *proxy.Server, logger *slog.Logger, configPath string) error {
	return tray.Run(ctx, srv, tray.Options{
		Logger:    logger,
		Autostart: loginEntry{args: pinnedConfigArgs(configPath)},
	})
}

// loginEntry is the tray's "Start at login" checkbox: this executable, with
// the tray's config file when it is not the one found by default.
type loginEntry struct{ args []string }

func (e loginEntry) Enabled() (bool, error) { return autostart.Enabled() }
func (e loginEntry) Disable() error         { return autostart.Disable() }
func (e loginEntry) Enable() error {
	exe, err := executable()
	if err != nil {
		return err
	}
	return autostart.Enable(exe, e.args)
}

// pinnedConfigArgs returns ["--config", path] unless path is empty or the
// default location, which ccbalancer finds at login by itself.
func pinnedConfigArgs(path string) []string {
	if path == "" {
		return nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	if def, err := config.DefaultPath(); err == nil && def == abs {
		return nil
	}
	return []string{"--config", abs}
}

// executable is this program's absolute path with symlinks resolved, so that
// an entry survives the link being repointed by a package manager.
func executable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the ccbalancer executable: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	return exe, nil
}

// splitAction parses "ACTION [flags]" or "[flags] ACTION [flags]" with fs and
// returns the action.
func splitAction(fs *flag.FlagSet, args []string) (string, error) {
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	if fs.NArg() == 0 {
		return "", errors.New("missing action")
	}
	action := fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return "", err
	}
	if fs.NArg() > 0 {
		return "", fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return action, nil
}

// autostartCommand implements `ccbalancer autostart enable|disable|status`; returns the exit code.
func autostartCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("autostart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "config file the tray started at login uses")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ccbalancer autostart enable|disable|status [--config FILE]")
		fs.PrintDefaults()
	}
	action, err := splitAction(fs, args)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "autostart:", err)
			fs.Usage()
		}
		return 2
	}
	where, _ := autostart.Location()
	switch action {
	case "enable":
		exe, err := executable()
		if err == nil {
			err = autostart.Enable(exe, pinnedConfigArgs(*configPath))
		}
		if err != nil {
			fmt.Fprintln(stderr, "autostart:", err)
			return 1
		}
		fmt.Fprintf(stdout, "start at login enabled (%s)\n", where)
	case "disable":
		if err := autostart.Disable(); err != nil {
			fmt.Fprintln(stderr, "autostart:", err)
			return 1
		}
		fmt.Fprintln(stdout, "start at login disabled")
	case "status":
		on, err := autostart.Enabled()
		if err != nil {
			fmt.Fprintln(stderr, "autostart:", err)
			return 1
		}
		if on {
			fmt.Fprintf(stdout, "start at login: enabled (%s)\n", where)
		} else {
			fmt.Fprintln(stdout, "start at login: disabled")
		}
	default:
		fmt.Fprintf(stderr, "autostart: unknown action %q\n", action)
		fs.Usage()
		return 2
	}
	return 0
}

// serviceCommand implements `ccbalancer service install|uninstall|start|stop|status [--user] [--config F]`.
func serviceCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("service", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.Bool("user", false, "a per-user service (systemd --user, a LaunchAgent) instead of a system one")
	configPath := fs.String("config", "", "config file the service serves (install only; default: the one found now)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ccbalancer service install|uninstall|start|stop|status [--user] [--config FILE]")
		fs.PrintDefaults()
	}
	action, err := splitAction(fs, args)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "service:", err)
			fs.Usage()
		}
		return 2
	}
	if !slices.Contains(osservice.Actions, action) {
		fmt.Fprintf(stderr, "service: unknown action %q\n", action)
		fs.Usage()
		return 2
	}
	opts := osservice.Options{User: *user}
	if action == "install" {
		// The service starts elsewhere (another working directory, maybe
		// another user): pin the file found now by its absolute path.
		path, _, err := config.Discover(*configPath)
		if err != nil {
			fmt.Fprintf(stderr, "service: %v\nrun `ccbalancer init` first, or pass --config\n", err)
			return 1
		}
		opts.ConfigPath = path
	}
	msg, err := osservice.Control(action, opts)
	if err != nil {
		fmt.Fprintln(stderr, "service:", err)
		return 1
	}
	fmt.Fprintln(stdout, msg)
	return 0
}

// serveManaged runs run(ctx) under the OS service manager when started by one (Windows SCM), else runs it with
// ctx cancelled on SIGINT/SIGTERM. Returns run's error.
func serveManaged(logger *slog.Logger, run func(ctx context.Context) error) error {
	return osservice.Run(logger, run)
}
