package osservice

import (
	"errors"
	"fmt"
	"time"

	"github.com/kardianos/service"
)

// verifyTimeout bounds how long install and start wait for the service
// manager to report the service running.
const verifyTimeout = 10 * time.Second

// kardianosManager is launchd or the Windows service manager, through
// kardianos/service.
type kardianosManager struct {
	svc service.Service
}

func newKardianos(opts Options) (*kardianosManager, error) {
	exe, args, err := command(Options{Executable: opts.Executable, ConfigPath: opts.ConfigPath})
	if err != nil {
		return nil, err
	}
	svc, err := service.New(noProgram{}, kardianosConfig(exe, args, opts.User))
	if err != nil {
		return nil, fmt.Errorf("setting up the %s service: %w", service.ChosenSystem(), err)
	}
	return &kardianosManager{svc: svc}, nil
}

// kardianosConfig is the service's description for kardianos/service.
func kardianosConfig(exe string, args []string, user bool) *service.Config {
	return &service.Config{
		Name:        Name,
		DisplayName: "ccbalancer",
		Description: "Local proxy that balances Claude Code across providers",
		Executable:  exe,
		Arguments:   args,
		Option: service.KeyValue{
			"UserService": user,
			// launchd: start at load and restart after a crash.
			"RunAtLoad": true,
			"KeepAlive": true,
			// Windows: restart after a crash, start at boot.
			"OnFailure":        "restart",
			"StartType":        "automatic",
			"DelayedAutoStart": true,
		},
	}
}

func (k *kardianosManager) platform() string { return k.svc.Platform() }

// install ignores opts.Env: launchd keeps environment variables in a plist
// that every user can read, so keys never go there. The service sees the
// machine's environment (and a LaunchAgent the user's Keychain).
func (k *kardianosManager) install(_ string, _ []string, opts Options) (string, error) {
	if opts.EnvFile != "" {
		return "", errors.New("--env-file is for systemd units: set the variables in the system's environment instead")
	}
	if err := k.svc.Install(); err != nil {
		return "", err
	}
	if err := k.start(); err != nil {
		k.svc.Stop()
		if uerr := k.svc.Uninstall(); uerr != nil {
			return "", fmt.Errorf("%w (and removing it again failed: %v)", err, uerr)
		}
		return "", fmt.Errorf("%w; the service was removed again", err)
	}
	return "", nil
}

func (k *kardianosManager) uninstall() (string, error) {
	if _, err := k.svc.Status(); errors.Is(err, service.ErrNotInstalled) {
		return "", nil
	}
	k.svc.Stop()
	if err := k.svc.Uninstall(); err != nil {
		return "", err
	}
	return "  the " + k.svc.Platform() + " service " + Name, nil
}

// start starts the service and waits until the manager reports it running.
func (k *kardianosManager) start() error {
	if err := k.svc.Start(); err != nil {
		return err
	}
	deadline := time.Now().Add(verifyTimeout)
	for {
		st, err := k.svc.Status()
		if err == nil && st == service.StatusRunning {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the service is not running %s after it was started (status %v, %v)", verifyTimeout, st, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (k *kardianosManager) stop() error { return k.svc.Stop() }

func (k *kardianosManager) status() (Status, error) {
	st, err := k.svc.Status()
	switch {
	case errors.Is(err, service.ErrNotInstalled):
		return Status{State: NotInstalled}, nil
	case err != nil:
		return Status{State: Failed, Reason: err.Error()}, nil
	case st == service.StatusRunning:
		return Status{State: Running}, nil
	case st == service.StatusStopped:
		return Status{State: Stopped}, nil
	default:
		return Status{State: Failed, Reason: "the service manager reports an unknown state"}, nil
	}
}

// noProgram stands in for the program when only controlling the service.
type noProgram struct{}

func (noProgram) Start(service.Service) error { return nil }
func (noProgram) Stop(service.Service) error  { return nil }
