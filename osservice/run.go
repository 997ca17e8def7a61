package osservice

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/kardianos/service"
)

// stopTimeout bounds how long a stop request from the service manager waits
// for run to return; it leaves room for the proxy's settings.shutdown_grace
// (30 s by default), as the systemd unit's TimeoutStopSec does.
const stopTimeout = 2 * time.Minute

// Run runs run(ctx) and returns its error; call it once the proxy listens.
// Started by the Windows service manager, ctx ends when the manager stops the
// service. Everywhere else (a terminal, systemd, launchd, which all signal)
// ctx ends on SIGINT or SIGTERM; under systemd, Run first tells it that the
// service is ready.
func Run(logger *slog.Logger, run func(ctx context.Context) error) error {
	if runtime.GOOS == "windows" && !service.Interactive() {
		return runManaged(logger, run)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The proxy listens by now: a Type=notify unit's `systemctl start` returns.
	notifySystemd(logger, "READY=1")
	defer notifySystemd(logger, "STOPPING=1")
	return run(ctx)
}

// runManaged hands control to the service manager, which calls program.Start
// and program.Stop.
func runManaged(logger *slog.Logger, run func(ctx context.Context) error) error {
	p := &program{logger: logger, run: run, done: make(chan struct{})}
	svc, err := service.New(p, &service.Config{Name: Name})
	if err != nil {
		return fmt.Errorf("connecting to the service manager: %w", err)
	}
	if err := svc.Run(); err != nil {
		return fmt.Errorf("running as a service: %w", err)
	}
	return p.err
}

// program adapts run to kardianos/service's Start/Stop, which must not block.
type program struct {
	logger *slog.Logger
	run    func(ctx context.Context) error
	cancel context.CancelFunc
	done   chan struct{}
	err    error // set before done is closed
}

func (p *program) Start(s service.Service) error {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() {
		defer close(p.done)
		p.err = p.run(ctx)
		if ctx.Err() == nil {
			// run ended by itself (a busy port, say): ask the manager to stop
			// us, or it would show a running service that serves nothing.
			p.logger.Error("service stopped by itself", slog.Any("error", p.err))
			if err := s.Stop(); err != nil {
				p.logger.Error("asking the service manager to stop", slog.Any("error", err))
			}
		}
	}()
	return nil
}

func (p *program) Stop(service.Service) error {
	p.cancel()
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
		return fmt.Errorf("service did not stop within %s", stopTimeout)
	}
}
