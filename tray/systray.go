package tray

import (
	"context"
	"log/slog"
	"runtime"
	"strings"
	"sync"

	"fyne.io/systray"
	"github.com/gen2brain/beeep"

	"github.com/ccbalancer/ccbalancer/assets"
)

// Run shows the tray for srv until the user chooses Quit or ctx ends, then
// stops the proxy gracefully and returns. It must be called on the main
// goroutine. Where no tray can be shown it returns an error wrapping
// ErrUnavailable before touching the tray library. Where the session has no
// tray host (no StatusNotifierWatcher, as on GNOME without the AppIndicator
// extension) it says so in the log and in one notification, and runs on:
// the icon appears if a host starts later.
func Run(ctx context.Context, srv Server, opts Options) error {
	host, err := Probe()
	if err != nil {
		return err
	}
	opts.setDefaults()
	beeep.AppName = AppName
	if runtime.GOOS != "darwin" && runtime.GOOS != "windows" {
		// Before systray connects: it takes the item's Id from the title
		// it has then, and a title that never changes keeps the Id stable.
		systray.SetTitle(AppName)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b := &systrayBackend{items: map[int]*systray.MenuItem{}, done: ctx.Done(), log: opts.Logger}
	c := newController(srv, b, opts, systray.Quit)
	b.clicks = c.actions

	var wg sync.WaitGroup
	var unsubscribe []func()
	onReady := func() {
		menuEvents, stopMenu := srv.Subscribe()
		noticeEvents, stopNotices := srv.Subscribe()
		unsubscribe = append(unsubscribe, stopMenu, stopNotices)
		// The first menu is built before onReady returns: systray answers
		// the panel's first GetLayout only after that.
		c.refresh()
		wg.Go(func() { c.watch(ctx, menuEvents) })
		wg.Go(func() { c.notifier.Run(ctx, noticeEvents, srv.Snapshot) })
		wg.Go(func() { c.loop(ctx) })
		wg.Go(func() {
			// Request counters change without events: refresh when the menu
			// opens so that it shows current numbers.
			for {
				select {
				case <-systray.TrayOpenedCh:
					c.changed()
				case <-ctx.Done():
					systray.Quit()
					return
				}
			}
		})
		if host {
			opts.Logger.Info("tray icon registered with the tray host")
		} else {
			opts.Logger.Warn("no tray host on this desktop (no " + watcherName + " on the session bus); " +
				"running without a visible icon until one starts; `ccbalancer status` and `ccbalancer stop` reach this instance")
			c.notifier.Show(NoTrayHostNotice)
		}
	}
	systray.Run(onReady, cancel)
	cancel()
	wg.Wait()
	for _, f := range unsubscribe {
		f()
	}
	// After Quit the proxy is already stopped; after ctx ended it is stopped here.
	c.stop(context.Background())
	return nil
}

// systrayBackend drives fyne.io/systray. It is used from the controller's
// goroutine only (and from onReady before that goroutine starts).
type systrayBackend struct {
	items  map[int]*systray.MenuItem
	next   int
	clicks chan<- string
	done   <-chan struct{}
	log    *slog.Logger
}

func (b *systrayBackend) SetIcon(s assets.State) {
	var icon []byte
	var err error
	if runtime.GOOS == "windows" {
		icon, err = assets.ICO(s)
	} else {
		icon, err = assets.PNG(s, 32)
	}
	if err != nil {
		b.log.Error("loading tray icon", slog.String("state", string(s)), slog.Any("err", err))
		return
	}
	systray.SetIcon(icon)
}

func (b *systrayBackend) SetTooltip(t string) { systray.SetTooltip(t) }

func (b *systrayBackend) Reset() {
	// Removing the items closes their click channels, which ends their forwarders.
	systray.ResetMenu()
	clear(b.items)
}

// label escapes a label for the platform: dbusmenu (Linux, BSD) reads "_"
// as the access-key marker and "__" as a literal underscore.
func label(s string) string {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		return s
	}
	return strings.ReplaceAll(s, "_", "__")
}

func (b *systrayBackend) Add(parent int, it Item) int {
	it.Label = label(it.Label)
	var mi *systray.MenuItem
	p := b.items[parent]
	switch {
	case p == nil && it.Checkable:
		mi = systray.AddMenuItemCheckbox(it.Label, "", it.Checked)
	case p == nil:
		mi = systray.AddMenuItem(it.Label, "")
	case it.Checkable:
		mi = p.AddSubMenuItemCheckbox(it.Label, "", it.Checked)
	default:
		mi = p.AddSubMenuItem(it.Label, "")
	}
	if it.Disabled {
		mi.Disable()
	}
	b.next++
	b.items[b.next] = mi
	go b.forward(mi.ClickedCh, it.Action)
	return b.next
}

func (b *systrayBackend) AddSeparator(parent int) {
	if p := b.items[parent]; p != nil {
		p.AddSeparator()
		return
	}
	systray.AddSeparator()
}

func (b *systrayBackend) Update(h int, it Item) {
	mi := b.items[h]
	if mi == nil {
		return
	}
	mi.SetTitle(label(it.Label))
	if it.Disabled != mi.Disabled() {
		if it.Disabled {
			mi.Disable()
		} else {
			mi.Enable()
		}
	}
	// Check boxes do not toggle themselves: the model says what they show.
	if it.Checkable && it.Checked != mi.Checked() {
		if it.Checked {
			mi.Check()
		} else {
			mi.Uncheck()
		}
	}
}

// forward passes an item's clicks to the controller. systray drops a click
// when nobody is receiving, so every item always has a receiver.
func (b *systrayBackend) forward(clicked <-chan struct{}, action string) {
	for {
		select {
		case _, ok := <-clicked:
			if !ok {
				return
			}
			select {
			case b.clicks <- action:
			case <-b.done:
				return
			}
		case <-b.done:
			return
		}
	}
}
