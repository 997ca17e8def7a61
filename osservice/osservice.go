// Package osservice installs and controls ccbalancer as an operating-system
// service. The service runs `ccbalancer serve --config <file>`: the proxy
// without a tray, since a service has no desktop to show one on.
//
// On Linux the service is a systemd unit handled here directly (systemctl's
// own messages are reported, a failed install is rolled back, the status
// says why a unit failed). Elsewhere (launchd, the Windows service manager)
// kardianos/service does the work.
package osservice

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Name is the service's name (unit name, launchd label suffix, Windows service name).
const Name = "ccbalancer"

// Options say which service to act on.
type Options struct {
	// User selects a per-user service (systemd --user, a LaunchAgent) instead
	// of a system-wide one.
	User bool
	// Executable is the absolute path of the ccbalancer binary; "" means this process's.
	Executable string
	// ConfigPath is the absolute path of the config file the service serves.
	// Only install needs it.
	ConfigPath string
	// Env holds the environment variables the service's keys come from.
	// install writes them to the service's environment file (mode 0600),
	// which the unit names in EnvironmentFile=. Empty writes no file.
	Env map[string]string
	// EnvFile, if set, is the user's own environment file for the unit's
	// EnvironmentFile=, used instead of writing one (install --env-file).
	EnvFile string
}

// Actions lists the actions Control accepts.
var Actions = []string{"install", "uninstall", "start", "stop", "status"}

// State is what the service manager says of the service.
type State string

// States of an installed service.
const (
	NotInstalled State = "not installed"
	Running      State = "running"
	Stopped      State = "stopped"
	Starting     State = "starting"
	Failed       State = "failed"
)

// Status is a service's state, with the reason and the last lines of its
// log when it failed.
type Status struct {
	State State
	// Reason says why it failed, as the service manager reports it.
	Reason string
	// Log holds the last lines the service logged, oldest first, when it failed.
	Log []string
	// Unit is the file that defines the service ("" when not installed).
	Unit string
}

// String completes "the service ...": "is running (/etc/systemd/system/ccbalancer.service)",
// or "failed: exit-code, exit status 1 (...)" followed by the log lines, indented.
func (s Status) String() string {
	var b strings.Builder
	if s.State != Failed {
		b.WriteString("is ")
	}
	b.WriteString(string(s.State))
	if s.Reason != "" {
		b.WriteString(": " + s.Reason)
	}
	if s.Unit != "" {
		b.WriteString(" (" + s.Unit + ")")
	}
	if len(s.Log) > 0 {
		b.WriteString("\nlast lines of its log:")
		for _, l := range s.Log {
			b.WriteString("\n  " + l)
		}
	}
	return b.String()
}

// manager is one service manager: systemd, or kardianos/service's choice.
type manager interface {
	// install writes the service, enables and starts it, and checks that it
	// runs; on any failure it removes what it wrote. It returns what was
	// installed, one item per line.
	install(exe string, args []string, opts Options) (string, error)
	// uninstall stops the service and removes everything install created;
	// it returns what was removed, one item per line.
	uninstall() (string, error)
	// start starts the service and checks that it runs.
	start() error
	stop() error
	status() (Status, error)
	// platform names the service manager, e.g. "systemd".
	platform() string
}

// Control performs action on the service and returns a report for the user.
func Control(action string, opts Options) (string, error) {
	m, err := newManager(opts)
	if err != nil {
		return "", err
	}
	kind := "system service"
	if opts.User {
		kind = "user service"
	}
	switch action {
	case "install":
		exe, args, err := command(opts)
		if err != nil {
			return "", err
		}
		what, err := m.install(exe, args, opts)
		if err != nil {
			return "", fmt.Errorf("installing the %s %s (%s): %w", kind, Name, m.platform(), err)
		}
		return fmt.Sprintf("installed and started the %s %s (%s), serving %s\n%s", kind, Name, m.platform(), opts.ConfigPath, what), nil
	case "uninstall":
		what, err := m.uninstall()
		if err != nil {
			return "", fmt.Errorf("uninstalling the %s %s (%s): %w", kind, Name, m.platform(), err)
		}
		if what == "" {
			return fmt.Sprintf("the %s %s is not installed: nothing to remove", kind, Name), nil
		}
		return fmt.Sprintf("uninstalled the %s %s; removed:\n%s", kind, Name, what), nil
	case "start":
		if err := m.start(); err != nil {
			return "", fmt.Errorf("starting the %s %s: %w", kind, Name, err)
		}
		return fmt.Sprintf("started the %s %s", kind, Name), nil
	case "stop":
		if err := m.stop(); err != nil {
			return "", fmt.Errorf("stopping the %s %s: %w", kind, Name, err)
		}
		return fmt.Sprintf("stopped the %s %s", kind, Name), nil
	case "status":
		st, err := m.status()
		if err != nil {
			return "", fmt.Errorf("reading the status of the %s %s: %w", kind, Name, err)
		}
		return fmt.Sprintf("the %s %s %s", kind, Name, st), nil
	default:
		return "", fmt.Errorf("unknown service action %q (want one of %v)", action, Actions)
	}
}

// newManager picks the service manager for this platform.
func newManager(opts Options) (manager, error) {
	switch {
	case opts.User && runtime.GOOS == "windows":
		return nil, fmt.Errorf("per-user services do not exist on Windows: use `ccbalancer autostart enable` to start at login")
	case runtime.GOOS == "linux":
		return newSystemd(opts.User)
	default:
		return newKardianos(opts)
	}
}

// command returns the executable and arguments the service runs.
func command(opts Options) (string, []string, error) {
	exe := opts.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return "", nil, fmt.Errorf("finding the ccbalancer executable: %w", err)
		}
		if resolved, err := filepath.EvalSymlinks(exe); err == nil {
			exe = resolved
		}
	}
	if !filepath.IsAbs(exe) {
		return "", nil, fmt.Errorf("service executable %q is not an absolute path", exe)
	}
	args := []string{"serve"}
	if opts.ConfigPath != "" {
		if !filepath.IsAbs(opts.ConfigPath) {
			return "", nil, fmt.Errorf("service config path %q is not absolute", opts.ConfigPath)
		}
		args = append(args, "--config", opts.ConfigPath)
	}
	if opts.EnvFile != "" && !filepath.IsAbs(opts.EnvFile) {
		return "", nil, fmt.Errorf("service environment file %q is not an absolute path", opts.EnvFile)
	}
	return exe, args, nil
}
