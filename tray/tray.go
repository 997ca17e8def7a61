package tray

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy"
)

// Server is the part of *proxy.Server the tray drives.
type Server interface {
	Snapshot() proxy.Snapshot
	Subscribe() (events <-chan proxy.Event, cancel func())
	Start() error
	Stop(ctx context.Context) error
	Addr() string
	RetryNow(provider string) error
	SetStrategy(config.Strategy) error
	Reload() error
}

// Autostart switches start at login on and off.
type Autostart interface {
	Enabled() (bool, error)
	Enable() error
	Disable() error
}

// Options configure the tray. Nil functions get the desktop's defaults.
type Options struct {
	Logger *slog.Logger
	// Autostart backs the "Start at login" checkbox; nil disables the item.
	Autostart Autostart
	// Notify shows a desktop notification (default: gen2brain/beeep).
	Notify func(Notice) error
	// Open opens a file or folder with the desktop's default application.
	Open func(path string) error
	// Copy puts text on the clipboard; an error makes the tray show the text
	// in a notification instead.
	Copy func(text string) error
	// StopGrace is how long in-flight requests may run on when the proxy is
	// stopped or the tray quits (default 5 s); then they are aborted and
	// clients retry.
	StopGrace time.Duration
	// RefreshEvery is the menu refresh period while a cooldown counts down
	// (default 3 s).
	RefreshEvery time.Duration
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Notify == nil {
		o.Notify = desktopNotify
	}
	if o.Open == nil {
		o.Open = openPath
	}
	if o.Copy == nil {
		o.Copy = copyText
	}
	if o.StopGrace <= 0 {
		o.StopGrace = 5 * time.Second
	}
	if o.RefreshEvery <= 0 {
		o.RefreshEvery = 3 * time.Second
	}
}

// controller owns the menu: it rebuilds the model from a snapshot on every
// change and performs the clicked actions. All of it runs on one goroutine
// (loop), so it needs no lock.
type controller struct {
	srv      Server
	opts     Options
	log      *slog.Logger
	notifier *Notifier
	view     view
	// update coalesces change signals: one pending refresh is enough.
	update  chan struct{}
	actions chan string
	// quit is called once the user chose Quit and the proxy has stopped.
	quit func()
}

func newController(srv Server, b backend, opts Options, quit func()) *controller {
	opts.setDefaults()
	return &controller{
		srv:      srv,
		opts:     opts,
		log:      opts.Logger,
		notifier: NewNotifier(opts.Notify, opts.Logger),
		view:     view{b: b},
		update:   make(chan struct{}, 1),
		actions:  make(chan string, 16),
		quit:     quit,
	}
}

// changed asks for a refresh without blocking.
func (c *controller) changed() {
	select {
	case c.update <- struct{}{}:
	default:
	}
}

// prefs reads the tray's own state for the menu.
func (c *controller) prefs() Prefs {
	p := Prefs{Notifications: c.notifier.Enabled()}
	if c.opts.Autostart == nil {
		p.AutostartErr = errors.New("start at login is not available")
		return p
	}
	p.Autostart, p.AutostartErr = c.opts.Autostart.Enabled()
	return p
}

// refresh rebuilds the menu from a fresh snapshot and reports whether a
// cooldown is counting down.
func (c *controller) refresh() bool {
	s := c.srv.Snapshot()
	c.view.apply(BuildMenu(s, c.prefs()), IconState(s), Title(s))
	return coolingDown(s)
}

// loop serves refreshes and clicks until ctx ends or Quit is chosen.
func (c *controller) loop(ctx context.Context) {
	var (
		ticker *time.Ticker
		tick   <-chan time.Time
	)
	defer func() {
		if ticker != nil {
			ticker.Stop()
		}
	}()
	for {
		cooling := c.refresh()
		// Count cooldowns down while any runs; otherwise stay idle.
		switch {
		case cooling && ticker == nil:
			ticker = time.NewTicker(c.opts.RefreshEvery)
			tick = ticker.C
		case !cooling && ticker != nil:
			ticker.Stop()
			ticker, tick = nil, nil
		}
		select {
		case <-ctx.Done():
			return
		case <-c.update:
		case <-tick:
		case a := <-c.actions:
			if c.handle(ctx, a) {
				c.quit()
				return
			}
		}
	}
}

// watch turns proxy events into refreshes until ctx ends.
func (c *controller) watch(ctx context.Context, events <-chan proxy.Event) {
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-events:
			if !ok {
				return
			}
			c.changed()
		}
	}
}

// handle performs one clicked action and reports whether the tray should quit.
func (c *controller) handle(ctx context.Context, action string) (quit bool) {
	c.log.Debug("menu item clicked", slog.String("action", action))
	name, arg, _ := strings.Cut(action, ":")
	switch name + ":" {
	case ActRetry:
		c.logErr("retrying provider", c.srv.RetryNow(arg), slog.String("provider", arg))
		return false
	case ActStrategy:
		c.logErr("changing the selection strategy", c.srv.SetStrategy(config.Strategy(arg)), slog.String("strategy", arg))
		return false
	}
	switch action {
	case ActToggleProxy:
		if c.srv.Snapshot().Running {
			c.stop(ctx)
		} else if err := c.srv.Start(); err != nil {
			c.log.Error("starting the proxy", slog.Any("err", err))
			c.notifier.Show(Notice{Title: "The proxy could not start", Body: err.Error()})
		}
	case ActReload:
		// A failure is published as an event and notified from there.
		c.logErr("reloading the configuration", c.srv.Reload())
	case ActOpenConfig:
		c.open(c.srv.Snapshot().ConfigPath)
	case ActOpenLogs:
		if f := c.srv.Snapshot().LogFile; f != "" {
			c.open(filepath.Dir(f))
		}
	case ActCopyBaseURL:
		url := BaseURL(c.srv.Addr())
		if err := c.opts.Copy(url); err != nil {
			c.log.Info("no clipboard; showing the address instead", slog.Any("err", err))
			c.notifier.Show(Notice{Title: "ANTHROPIC_BASE_URL", Body: "ANTHROPIC_BASE_URL=" + url})
		}
	case ActNotifications:
		c.notifier.SetEnabled(!c.notifier.Enabled())
	case ActAutostart:
		c.toggleAutostart()
	case ActQuit:
		c.stop(ctx)
		return true
	default:
		c.log.Warn("unknown menu action", slog.String("action", action))
	}
	return false
}

// stop closes the port, letting in-flight requests finish within StopGrace.
func (c *controller) stop(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.StopGrace)
	defer cancel()
	c.logErr("stopping the proxy", c.srv.Stop(ctx))
}

func (c *controller) toggleAutostart() {
	a := c.opts.Autostart
	if a == nil {
		return
	}
	on, err := a.Enabled()
	if err != nil {
		c.logErr("reading start at login", err)
		return
	}
	if on {
		err = a.Disable()
	} else {
		err = a.Enable()
	}
	if err != nil {
		c.log.Error("switching start at login", slog.Bool("enable", !on), slog.Any("err", err))
		c.notifier.Show(Notice{Title: "Start at login could not be changed", Body: err.Error()})
	}
}

func (c *controller) open(path string) {
	if path == "" {
		return
	}
	if err := c.opts.Open(path); err != nil {
		c.log.Error("opening a file", slog.String("path", path), slog.Any("err", err))
		c.notifier.Show(Notice{Title: "Could not open " + filepath.Base(path), Body: fmt.Sprintf("%s\n%v", path, err)})
	}
}

func (c *controller) logErr(msg string, err error, attrs ...any) {
	if err != nil {
		c.log.Error(msg, append(attrs, slog.Any("err", err))...)
	}
}
