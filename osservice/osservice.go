// Package osservice installs and controls ccbalancer as an operating-system
// service (systemd, launchd, the Windows service manager) through
// kardianos/service. The service runs `ccbalancer serve --config <file>`: the
// proxy without a tray, since a service has no desktop to show one on.
package osservice

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/kardianos/service"
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
}

// Actions lists the actions Control accepts.
var Actions = []string{"install", "uninstall", "start", "stop", "status"}

// Control performs action on the service and returns a one-line report for
// the user.
func Control(action string, opts Options) (string, error) {
	svc, err := newService(opts, nil)
	if err != nil {
		return "", err
	}
	kind := "system service"
	if opts.User {
		kind = "user service"
	}
	switch action {
	case "install":
		if err := svc.Install(); err != nil {
			return "", fmt.Errorf("installing the %s %s (%s): %w", kind, Name, svc.Platform(), err)
		}
		return fmt.Sprintf("installed the %s %s (%s), serving %s", kind, Name, svc.Platform(), opts.ConfigPath), nil
	case "uninstall":
		if err := svc.Uninstall(); err != nil {
			return "", fmt.Errorf("uninstalling the %s %s (%s): %w", kind, Name, svc.Platform(), err)
		}
		return fmt.Sprintf("uninstalled the %s %s", kind, Name), nil
	case "start":
		if err := svc.Start(); err != nil {
			return "", fmt.Errorf("starting the %s %s: %w", kind, Name, err)
		}
		return fmt.Sprintf("started the %s %s", kind, Name), nil
	case "stop":
		if err := svc.Stop(); err != nil {
			return "", fmt.Errorf("stopping the %s %s: %w", kind, Name, err)
		}
		return fmt.Sprintf("stopped the %s %s", kind, Name), nil
	case "status":
		st, err := svc.Status()
		switch {
		case errors.Is(err, service.ErrNotInstalled):
			return fmt.Sprintf("the %s %s is not installed", kind, Name), nil
		case err != nil:
			return "", fmt.Errorf("reading the status of the %s %s: %w", kind, Name, err)
		case st == service.StatusRunning:
			return fmt.Sprintf("the %s %s is running", kind, Name), nil
		case st == service.StatusStopped:
			return fmt.Sprintf("the %s %s is installed and stopped", kind, Name), nil
		default:
			return fmt.Sprintf("the %s %s is in an unknown state", kind, Name), nil
		}
	default:
		return "", fmt.Errorf("unknown service action %q (want one of %v)", action, Actions)
	}
}

// config builds the kardianos configuration for opts.
func config(opts Options) (*service.Config, error) {
	exe := opts.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("finding the ccbalancer executable: %w", err)
		}
		if resolved, err := filepath.EvalSymlinks(exe); err == nil {
			exe = resolved
		}
	}
	if !filepath.IsAbs(exe) {
		return nil, fmt.Errorf("service executable %q is not an absolute path", exe)
	}
	args := []string{"serve"}
	if opts.ConfigPath != "" {
		if !filepath.IsAbs(opts.ConfigPath) {
			return nil, fmt.Errorf("service config path %q is not absolute", opts.ConfigPath)
		}
		args = append(args, "--config", opts.ConfigPath)
	}
	unit := SystemdUnit(exe, args, opts.User)
	if !templateSafe(unit) {
		return nil, fmt.Errorf("service paths must not contain \"{{\": %q, %q", exe, opts.ConfigPath)
	}
	c := &service.Config{
		Name:        Name,
		DisplayName: "ccbalancer",
		Description: "Local proxy that balances Claude Code across providers",
		Executable:  exe,
		Arguments:   args,
		Option: service.KeyValue{
			"UserService": opts.User,
			// The library's own unit says WantedBy=multi-user.target, which a
			// user manager never reaches: a user unit would never start at login.
			"SystemdScript": unit,
			// launchd: start at load and restart after a crash.
			"RunAtLoad": true,
			"KeepAlive": true,
			// Windows: restart after a crash, start at boot.
			"OnFailure":        "restart",
			"StartType":        "automatic",
			"DelayedAutoStart": true,
		},
	}
	return c, nil
}

// newService returns the service for opts. Per-user services on Linux use
// systemd directly: the library would pick SysV wherever systemd is not
// PID 1 (containers, WSL), and SysV has no user services.
func newService(opts Options, prog service.Interface) (service.Service, error) {
	if prog == nil {
		prog = noProgram{}
	}
	c, err := config(opts)
	if err != nil {
		return nil, err
	}
	if opts.User && runtime.GOOS == "windows" {
		return nil, errors.New("per-user services do not exist on Windows: use `ccbalancer autostart enable` to start at login")
	}
	if opts.User && runtime.GOOS == "linux" {
		if _, err := exec.LookPath("systemctl"); err != nil {
			return nil, fmt.Errorf("user services need systemd: %w", err)
		}
		for _, sys := range service.AvailableSystems() {
			if sys.String() == "linux-systemd" {
				svc, err := sys.New(prog, c)
				if err != nil {
					return nil, fmt.Errorf("setting up the systemd user service: %w", err)
				}
				return svc, nil
			}
		}
		return nil, errors.New("this build knows no systemd service manager")
	}
	svc, err := service.New(prog, c)
	if err != nil {
		return nil, fmt.Errorf("setting up the %s service: %w", service.ChosenSystem(), err)
	}
	return svc, nil
}

// noProgram stands in for the program when only controlling the service.
type noProgram struct{}

func (noProgram) Start(service.Service) error { return nil }
func (noProgram) Stop(service.Service) error  { return nil }
