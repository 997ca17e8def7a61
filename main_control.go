package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ccbalancer/ccbalancer/control"
	"github.com/ccbalancer/ccbalancer/logging"
	"github.com/ccbalancer/ccbalancer/supervisor"
	"github.com/ccbalancer/ccbalancer/tray"
)

// controlPath is where this user's running instance answers `ccbalancer
// status` and `ccbalancer stop` (see package control for why a socket).
func controlPath() (string, error) {
	state, err := logging.DefaultDir()
	if err != nil {
		return "", fmt.Errorf("finding the control socket: %w", err)
	}
	return filepath.Join(control.Dir(os.Getenv, state), control.SocketName), nil
}

// startControl opens the control socket for sup; stop is called by
// `ccbalancer stop`. Without a socket (another instance has it, or the
// directory cannot be made) the instance runs on and says why in the log.
func startControl(log *slog.Logger, sup *supervisor.Supervisor, trayState *atomic.Value, stop func()) *control.Server {
	path, err := controlPath()
	if err != nil {
		log.Warn("no control socket; ccbalancer status and stop cannot reach this instance", slog.Any("err", err))
		return nil
	}
	srv, err := control.Listen(path, func() control.Status { return statusOf(sup.Snapshot(), trayState.Load().(string)) }, stop)
	if err != nil {
		log.Warn("no control socket; ccbalancer status and stop cannot reach this instance", slog.Any("err", err))
		return nil
	}
	return srv
}

// statusOf is what `ccbalancer status` reports.
func statusOf(s supervisor.Snapshot, trayState string) control.Status {
	st := control.Status{
		PID: os.Getpid(), Version: version, Tray: trayState, Setup: string(s.Setup), Problem: s.Problem,
		Running: s.Running, Listen: s.Listen, ConfigPath: s.ConfigPath, LogFile: s.LogFile,
		Strategy: string(s.Strategy), LastServed: s.LastServed, Providers: []control.Provider{},
	}
	for _, p := range s.Providers {
		cp := control.Provider{Name: p.Name, State: string(p.State), Reason: p.StateReason}
		if !p.Until.IsZero() {
			u := p.Until
			cp.Until = &u
		}
		st.Providers = append(st.Providers, cp)
	}
	return st
}

// statusCommand implements `ccbalancer status`: exit 0 when an instance
// runs, 1 when none does.
func statusCommand(args []string, stdout, stderr io.Writer) int {
	if _, ok := parseFlags("ccbalancer status", args, stderr); !ok {
		return 2
	}
	path, err := controlPath()
	if err != nil {
		fmt.Fprintln(stderr, "ccbalancer status:", err)
		return 1
	}
	st, err := control.Get(path)
	if errors.Is(err, control.ErrNotRunning) {
		fmt.Fprintln(stdout, "ccbalancer is not running")
		return 1
	}
	if err != nil {
		fmt.Fprintln(stderr, "ccbalancer status:", err)
		return 1
	}
	printStatus(stdout, st)
	return 0
}

func printStatus(w io.Writer, st control.Status) {
	fmt.Fprintf(w, "ccbalancer %s is running (pid %d)\n", st.Version, st.PID)
	fmt.Fprintf(w, "  tray:     %s\n", st.Tray)
	switch supervisor.Setup(st.Setup) {
	case supervisor.NotSetUp:
		fmt.Fprintf(w, "  proxy:    not set up: %s\n", st.Problem)
	case supervisor.ConfigError:
		fmt.Fprintf(w, "  proxy:    not started, the configuration has errors:\n")
		for _, l := range strings.Split(st.Problem, "\n") {
			fmt.Fprintf(w, "              %s\n", l)
		}
	case supervisor.ListenError:
		fmt.Fprintf(w, "  proxy:    not started: %s\n", st.Problem)
	default:
		if st.Running {
			fmt.Fprintf(w, "  proxy:    listening; ANTHROPIC_BASE_URL=%s\n", tray.BaseURL(st.Listen))
		} else {
			fmt.Fprintf(w, "  proxy:    stopped (%s)\n", st.Listen)
		}
	}
	fmt.Fprintf(w, "  config:   %s\n  log:      %s\n", st.ConfigPath, st.LogFile)
	if st.Strategy != "" && len(st.Providers) > 0 {
		fmt.Fprintf(w, "  strategy: %s\n", st.Strategy)
	}
	if st.LastServed != "" {
		fmt.Fprintf(w, "  last request served by %s\n", st.LastServed)
	}
	if len(st.Providers) > 0 {
		fmt.Fprintln(w, "  providers:")
	}
	for _, p := range st.Providers {
		line := fmt.Sprintf("    %-14s %s", p.Name, p.State)
		if p.Reason != "" {
			line += ": " + p.Reason
		}
		if p.Until != nil {
			line += " (until " + p.Until.Local().Format("15:04:05") + ")"
		}
		fmt.Fprintln(w, line)
	}
}

// stopCommand implements `ccbalancer stop`: it asks the running instance to
// stop and waits until it has (its proxy given the usual grace period).
func stopCommand(args []string, stdout, stderr io.Writer) int {
	if _, ok := parseFlags("ccbalancer stop", args, stderr); !ok {
		return 2
	}
	path, err := controlPath()
	if err != nil {
		fmt.Fprintln(stderr, "ccbalancer stop:", err)
		return 1
	}
	st, err := control.Stop(path, 30*time.Second)
	if errors.Is(err, control.ErrNotRunning) {
		fmt.Fprintln(stdout, "ccbalancer is not running")
		return 1
	}
	if err != nil {
		fmt.Fprintln(stderr, "ccbalancer stop:", err)
		return 1
	}
	fmt.Fprintf(stdout, "stopped ccbalancer (pid %d)\n", st.PID)
	return 0
}
