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
	"strings"
	"sync/atomic"

	"github.com/ccbalancer/ccbalancer/autostart"
	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/logging"
	"github.com/ccbalancer/ccbalancer/supervisor"
	"github.com/ccbalancer/ccbalancer/tray"
)

// runTray shows the tray around sup (already started) until Quit or ctx ends; it must be called on the main
// goroutine. When no tray can be shown it returns an error wrapping tray.ErrUnavailable (reason in the text)
// before touching systray, and main runs headless. state receives what `ccbalancer status` says of the tray.
func runTray(ctx context.Context, sup *supervisor.Supervisor, logger *slog.Logger, state *atomic.Value) error {
	host, err := tray.Probe()
	if err != nil {
		return err
	}
	if host {
		state.Store("shown")
	} else {
		state.Store("no tray host (no org.kde.StatusNotifierWatcher on the session bus)")
	}
	stateFile := ""
	if dir, err := logging.DefaultDir(); err == nil {
		stateFile = filepath.Join(dir, "tray.json")
	}
	return tray.Run(ctx, sup, tray.Options{
		Logger:    logger,
		Autostart: loginEntry{config: sup.Snapshot().ConfigPath},
		StateFile: stateFile,
	})
}

// loginEntry is the tray's "Start at login" checkbox: this executable, with
// the tray's config file when it is not the one found by default.
type loginEntry struct{ config string }

func (e loginEntry) Enabled() (bool, error) { return autostart.Enabled() }
func (e loginEntry) Disable() error         { return autostart.Disable() }
func (e loginEntry) Enable() error {
	exe, args, _, err := loginCommand(e.config)
	if err != nil {
		return err
	}
	return autostart.Enable(exe, args)
}

// loginExecutable is the program start at login runs (a variable for tests,
// which run from a temporary build).
var loginExecutable = executable

// loginCommand checks what start at login would run and returns it: this
// executable, which must not be a temporary build (`go run` builds under the
// temp dir and deletes the binary on exit), and the configuration at path
// (pinned with --config unless it is the default one), which must load.
// warnings name what may differ at login: environment variables that
// programs started by the desktop usually do not see.
func loginCommand(path string) (exe string, args []string, warnings []string, err error) {
	exe, err = loginExecutable()
	if err != nil {
		return "", nil, nil, err
	}
	if temporaryBuild(exe, os.TempDir()) {
		return "", nil, nil, fmt.Errorf("%s is a temporary build (as `go run` makes); install ccbalancer (go install, or a package) and enable start at login from the installed program", exe)
	}
	if path == "" {
		return "", nil, nil, errors.New("no configuration to start with: create one first (ccbalancer init), then enable start at login")
	}
	if _, err := config.Load(path); err != nil {
		return "", nil, nil, fmt.Errorf("the configuration start at login would use does not load; fix it first (ccbalancer check --config %s):\n%w", path, err)
	}
	// The same file with no environment at all: what a login that sets none
	// of the shell's variables would see.
	if data, err := os.ReadFile(path); err == nil {
		if _, err := config.Parse(path, data, func(string) (string, bool) { return "", false }); err != nil {
			warnings = strings.Split(err.Error(), "\n")
		}
	}
	return exe, pinnedConfigArgs(path), warnings, nil
}

// temporaryBuild reports whether exe lives in the temp dir or in a go-build
// directory, as binaries of `go run` and `go test` do.
func temporaryBuild(exe, tempDir string) bool {
	if rel, err := filepath.Rel(tempDir, exe); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return true
	}
	for _, part := range strings.Split(filepath.ToSlash(exe), "/") {
		if strings.HasPrefix(part, "go-build") {
			return true
		}
	}
	return false
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

// parseAction parses `ACTION [flags]` (flags may also come first) for the
// command fs names, printing what is wrong and the usage when it fails; ok
// is false then, and the command exits 2.
func parseAction(fs *flag.FlagSet, args []string) (action string, ok bool) {
	err := fs.Parse(args)
	if err == nil && fs.NArg() == 0 {
		err = errors.New("missing action")
	}
	if err == nil {
		action = fs.Arg(0)
		err = fs.Parse(fs.Args()[1:])
	}
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(fs.Output(), "%s: %v\n", fs.Name(), err)
			fs.Usage()
		}
		return "", false
	}
	return action, true
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
	action, ok := parseAction(fs, args)
	if !ok {
		return 2
	}
	where, _ := autostart.Location()
	switch action {
	case "enable":
		// The file found now, the way the tray would find it now.
		path, _, err := config.Discover(*configPath)
		if err != nil {
			fmt.Fprintf(stderr, "autostart: %v\nrun `ccbalancer init` first, or pass --config\n", err)
			return 1
		}
		exe, args, warnings, err := loginCommand(path)
		if err == nil {
			err = autostart.Enable(exe, args)
		}
		if err != nil {
			fmt.Fprintln(stderr, "autostart:", err)
			return 1
		}
		fmt.Fprintf(stdout, "start at login enabled (%s)\n", where)
		if len(warnings) > 0 {
			fmt.Fprintf(stderr, "warning: programs started at login usually do not see your shell's environment variables;\n"+
				"without them %s does not load:\n  %s\nput the keys in the keychain or in the file (chmod 600), or make the login session set them\n",
				path, strings.Join(warnings, "\n  "))
		}
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
