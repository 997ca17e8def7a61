package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/ccbalancer/ccbalancer/proxy"
	"github.com/ccbalancer/ccbalancer/tray"
)

// runTray shows the tray around srv (already started) until Quit or ctx ends; it must be called on the main
// goroutine. When no tray can be shown it returns an error wrapping tray.ErrUnavailable (reason in the text)
// before touching systray, and main runs headless.
func runTray(ctx context.Context, srv *proxy.Server, logger *slog.Logger, configPath string) error {
	_ = ctx
	_ = srv
	_ = logger
	_ = configPath
	return fmt.Errorf("%w: not built yet", tray.ErrUnavailable)
}

// autostartCommand implements `ccbalancer autostart enable|disable|status`; returns the exit code.
func autostartCommand(args []string, stdout, stderr io.Writer) int {
	_ = args
	_ = stdout
	fmt.Fprintln(stderr, "autostart: not available yet")
	return 1
}

// serviceCommand implements `ccbalancer service install|uninstall|start|stop|status [--user] [--config F]`.
func serviceCommand(args []string, stdout, stderr io.Writer) int {
	_ = args
	_ = stdout
	fmt.Fprintln(stderr, "service: not available yet")
	return 1
}

// serveManaged runs run(ctx) under the OS service manager when started by one (Windows SCM), else runs it with
// ctx cancelled on SIGINT/SIGTERM. Returns run's error.
func serveManaged(logger *slog.Logger, run func(ctx context.Context) error) error {
	_ = logger
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
