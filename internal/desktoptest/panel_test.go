package desktoptest

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/assets"
)

// panelTimeout bounds every wait for the tray to show something. It is a
// limit, not an expectation: on a loaded machine a menu rebuild takes a
// while, and every wait polls for the state it needs.
const panelTimeout = 20 * time.Second

// panel reads and clicks one tray item the way a panel does.
type panel struct {
	t    *testing.T
	item *TrayItem
}

// newPanel waits for the instance's item to register with watcher.
func newPanel(t *testing.T, bus *Bus, watcher *Watcher) *panel {
	t.Helper()
	addr := watcher.WaitItem(t, panelTimeout)
	return &panel{t: t, item: NewTrayItem(bus.Connect(t), addr)}
}

// waitMenu polls the layout until cond holds.
func (p *panel) waitMenu(what string, cond func(MenuItem) bool) MenuItem {
	p.t.Helper()
	m, _ := poll(p.t, panelTimeout, what, p.item.Layout, cond)
	return m
}

// waitOutline waits until the whole menu reads want. After a rebuild the
// menu grows item by item, and fyne.io/systray answers the first GetLayout
// after a reset one level deep: only the whole outline says it is done.
func (p *panel) waitOutline(what, want string) MenuItem {
	p.t.Helper()
	m, err := p.item.Layout()
	deadline := time.Now().Add(panelTimeout)
	for err != nil || m.Outline() != want {
		if time.Now().After(deadline) {
			got := ""
			if err == nil {
				got = m.Outline()
			}
			p.t.Fatalf("waited %s for the %s menu (-want +got):\n%s%v", panelTimeout, what, cmp.Diff(want, got), err)
		}
		time.Sleep(2 * time.Millisecond)
		m, err = p.item.Layout()
	}
	return m
}

func (p *panel) has(path ...string) func(MenuItem) bool {
	return func(m MenuItem) bool { _, ok := m.Find(path...); return ok }
}

// click clicks the item at path once it is in the menu.
func (p *panel) click(path ...string) time.Time {
	p.t.Helper()
	m := p.waitMenu("menu item "+strings.Join(path, " > "), p.has(path...))
	it, _ := m.Find(path...)
	at := time.Now()
	if err := p.item.Click(it.ID); err != nil {
		p.t.Fatal(err)
	}
	return at
}

// tooltip waits until the tooltip reads want.
func (p *panel) tooltip(want string) {
	p.t.Helper()
	poll(p.t, panelTimeout, "tooltip "+want, p.item.ToolTip, func(s string) bool { return s == want })
}

// icon waits until the item shows the icon of state want.
func (p *panel) icon(want assets.State) {
	p.t.Helper()
	poll(p.t, panelTimeout, "icon "+string(want), func() (assets.State, error) { return iconState(p.t, p.item), nil },
		func(s assets.State) bool { return s == want })
}

// identity checks the item's Id and Title, which never change.
func (p *panel) identity() {
	p.t.Helper()
	for _, prop := range []string{"Id", "Title"} {
		if v, err := p.item.Prop(prop); err != nil || v.Value() != "ccbalancer" {
			p.t.Errorf("item %s = %v, %v; want ccbalancer", prop, v, err)
		}
	}
}

// notificationsTail is the end of every menu with the default switches.
const notificationsTail = `Notifications >
  Provider needs attention [x]
  Failovers [x]
  All providers down [x]
  Recoveries [ ]
  Configuration and start-up problems [x]
Start at login [ ]
---
Quit
`
