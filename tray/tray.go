// Package tray shows ccbalancer in the system tray: an icon that follows the
// providers' states, a menu rebuilt from the supervisor's snapshot, and
// desktop notifications for what changed.
package tray

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy"
	"github.com/ccbalancer/ccbalancer/supervisor"
)

// ErrUnavailable means no tray can be shown here (no session bus, no display).
// Callers run headless instead.
var ErrUnavailable = errors.New("tray unavailable")

// Server is the part of *supervisor.Supervisor the tray drives.
type Server interface {
	Snapshot() supervisor.Snapshot
	Subscribe() (events <-chan proxy.Event, cancel func())
	Start() error
	Stop(ctx context.Context) error
	Addr() string
	RetryNow(provider string) error
	SetStrategy(config.Strategy) error
	Reload() error
	CreateConfig() (string, error)
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
	// StateFile keeps the choices made in the menu (strategy, notification
	// switches) across restarts; "" keeps them for this run only.
	StateFile string
	// Notify shows a desktop notification (default: gen2brain/beeep).
	Notify func(Notice) error
	// Open opens a file or folder with the desktop's default application;
	// it returns the opener's failure if it fails at once.
	Open func(path string) error
	// Copy puts text on the clipboard; an error makes the tray show the text
	// in a notification instead.
	Copy func(text string) error
	// StopGrace, when set, shortens the time in-flight requests may run on
	// when the proxy is stopped or the tray quits; by default the proxy's
	// settings.shutdown_grace applies. Then they are aborted and clients
	// retry.
	StopGrace time.Duration
	// RefreshEvery is the menu refresh period while a countdown runs
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
	if o.RefreshEvery <= 0 {
		o.RefreshEvery = 3 * time.Second
	}
}

// controller owns the menu: it rebuilds the model from a snapshot on every
// change and performs the clicked actions. All of it runs on one goroutine
// (loop), so it needs no lock; only openers run beside it (bg).
type controller struct {
	srv      Server
	opts     Options
	log      *slog.Logger
	notifier *Notifier
	saved    savedPrefs
	view     view
	// update coalesces change signals: one pending refresh is enough.
	update  chan struct{}
	actions chan string
	// quit is called once the user chose Quit and the proxy has stopped.
	quit func()
	bg   sync.WaitGroup
	// A stop runs beside the loop (stopBeside), so that the menu goes on
	// showing how many answers are still running; stopped says it ended.
	// stopping and quitting belong to the loop.
	stopped  chan struct{}
	stopping bool
	quitting bool
}

func newController(srv Server, b backend, opts Options, quit func()) *controller {
	opts.setDefaults()
	saved, err := loadPrefs(opts.StateFile)
	if err != nil {
		opts.Logger.Warn("the tray's saved choices are unreadable; starting from the defaults", slog.Any("err", err))
	}
	on := DefaultNotify()
	for k, v := range saved.Notify {
		if _, known := on[k]; known {
			on[k] = v
		}
	}
	c := &controller{
		srv:      srv,
		opts:     opts,
		log:      opts.Logger,
		notifier: NewNotifier(opts.Notify, opts.Logger, on),
		saved:    saved,
		view:     view{b: b},
		update:   make(chan struct{}, 1),
		actions:  make(chan string, 16),
		stopped:  make(chan struct{}, 1),
		quit:     quit,
	}
	if saved.Strategy != "" {
		c.logErr("applying the saved selection strategy", srv.SetStrategy(saved.Strategy))
	}
	return c
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
	p := Prefs{Notify: c.notifier.On(), Quitting: c.quitting}
	if c.opts.Autostart == nil {
		p.AutostartErr = errors.New("start at login is not available")
		return p
	}
	p.Autostart, p.AutostartErr = c.opts.Autostart.Enabled()
	return p
}

// refresh rebuilds the menu from a fresh snapshot and reports whether a
// countdown is running.
func (c *controller) refresh() bool {
	s := c.srv.Snapshot()
	c.view.apply(BuildMenu(s, c.prefs(), time.Now()), IconState(s), Tooltip(s))
	return countingDown(s.Snapshot)
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
		c.bg.Wait()
	}()
	for {
		counting := c.refresh()
		// Count down while a state's timer runs; otherwise stay idle.
		switch {
		case counting && ticker == nil:
			ticker = time.NewTicker(c.opts.RefreshEvery)
			tick = ticker.C
		case !counting && ticker != nil:
			ticker.Stop()
			ticker, tick = nil, nil
		}
		select {
		case <-ctx.Done():
			return
		case <-c.update:
		case <-tick:
		case <-c.stopped:
			c.stopping = false
		case a := <-c.actions:
			c.handle(ctx, a)
		}
		if c.quitting && !c.stopping {
			c.quit()
			return
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

// handle performs one clicked action. Quit stops the proxy and sets
// quitting: the loop quits once the stop has ended.
func (c *controller) handle(ctx context.Context, action string) {
	c.log.Debug("menu item clicked", slog.String("action", action))
	name, arg, _ := strings.Cut(action, ":")
	switch name + ":" {
	case ActRetry:
		c.logErr("retrying provider", c.srv.RetryNow(arg), slog.String("provider", arg))
		return
	case ActStrategy:
		c.setStrategy(config.Strategy(arg))
		return
	case ActNotify:
		kind := NoticeKind(arg)
		on := !c.notifier.On()[kind]
		c.notifier.Set(kind, on)
		if c.saved.Notify == nil {
			c.saved.Notify = map[NoticeKind]bool{}
		}
		c.saved.Notify[kind] = on
		c.logErr("saving the notification switches", c.saved.save(c.opts.StateFile))
		return
	}
	switch action {
	case ActToggleProxy:
		switch {
		case c.stopping:
			// The item is disabled while a stop waits for answers.
		case c.srv.Snapshot().Running:
			c.stopBeside(ctx)
		default:
			c.tryAgain("The proxy could not start", c.srv.Start)
		}
	case ActReload:
		c.tryAgain("The configuration did not load", c.srv.Reload)
	case ActCreateConfig:
		path, err := c.srv.CreateConfig()
		if err != nil {
			c.log.Error("creating the configuration", slog.Any("err", err))
			c.notifier.Show(Notice{Title: "Could not create the configuration", Body: err.Error()})
			return
		}
		c.open(path)
	case ActOpenConfig:
		s := c.srv.Snapshot()
		if s.Setup == supervisor.NotSetUp {
			dir := configFolder(s.ConfigPath)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				c.log.Error("creating the configuration folder", slog.Any("err", err))
			}
			c.open(dir)
		} else {
			c.open(s.ConfigPath)
		}
	case ActOpenLogs:
		if f := c.srv.Snapshot().LogFile; f != "" {
			dir := filepath.Dir(f)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				c.log.Error("creating the log folder", slog.Any("err", err))
			}
			c.open(dir)
		}
	case ActCopyBaseURL:
		url := BaseURL(c.srv.Addr())
		if err := c.opts.Copy(url); err != nil {
			c.log.Info("no clipboard; showing the address instead", slog.Any("err", err))
			c.notifier.Show(Notice{
				Title: "ANTHROPIC_BASE_URL not copied",
				Body:  fmt.Sprintf("%v.\nSet it by hand:\nANTHROPIC_BASE_URL=%s", err, url),
			})
		} else {
			c.notifier.Show(Notice{Title: "ANTHROPIC_BASE_URL copied", Body: url})
		}
	case ActAutostart:
		c.toggleAutostart()
	case ActQuit:
		c.quitting = true
		if !c.stopping {
			c.stopBeside(ctx)
		}
	default:
		c.log.Warn("unknown menu action", slog.String("action", action))
	}
}

// tryAgain runs a start or reload the user asked for. A failure that
// changes the setup problem is announced by the notifier from the event; one
// that leaves it as it was is shown here, so that the click gets an answer.
func (c *controller) tryAgain(title string, f func() error) {
	before := c.srv.Snapshot()
	err := f()
	if err == nil {
		return
	}
	c.log.Error(strings.ToLower(title[:1])+title[1:], slog.Any("err", err))
	after := c.srv.Snapshot()
	if after.Setup == before.Setup && after.Problem == before.Problem && after.Setup != supervisor.SetupOK {
		c.notifier.Show(Notice{Title: title, Body: shortPaths(err.Error(), after.ConfigPath)})
	}
}

// setStrategy switches the strategy and saves the choice. Strategy items
// are radio items: choosing the one already in force changes nothing.
func (c *controller) setStrategy(st config.Strategy) {
	if c.srv.Snapshot().Strategy == st {
		return
	}
	if err := c.srv.SetStrategy(st); err != nil {
		c.logErr("changing the selection strategy", err, slog.String("strategy", string(st)))
		return
	}
	c.saved.Strategy = st
	c.logErr("saving the selection strategy", c.saved.save(c.opts.StateFile))
}

// stop closes the port, letting in-flight requests finish within the proxy's
// shutdown_grace (or StopGrace, when set).
func (c *controller) stop(ctx context.Context) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if c.opts.StopGrace > 0 {
		ctx, cancel = context.WithTimeout(ctx, c.opts.StopGrace)
	}
	defer cancel()
	c.logErr("stopping the proxy", c.srv.Stop(ctx))
}

// stopBeside stops the proxy beside the loop, so that the menu and tooltip
// go on saying how many answers are still running. Only the loop calls it,
// one stop at a time.
func (c *controller) stopBeside(ctx context.Context) {
	c.stopping = true
	c.bg.Go(func() {
		c.stop(ctx)
		c.stopped <- struct{}{} // one stop at a time: never blocks
	})
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

// open opens path beside the loop (an opener may take a moment to fail) and
// says so in a notification when it fails.
func (c *controller) open(path string) {
	if path == "" {
		return
	}
	c.bg.Go(func() {
		if err := c.opts.Open(path); err != nil {
			c.log.Error("opening a file", slog.String("path", path), slog.Any("err", err))
			c.notifier.Show(Notice{Title: "Could not open " + filepath.Base(path), Body: fmt.Sprintf("%s\n%v", path, err)})
		}
	})
}

func (c *controller) logErr(msg string, err error, attrs ...any) {
	if err != nil {
		c.log.Error(msg, append(attrs, slog.Any("err", err))...)
	}
}
