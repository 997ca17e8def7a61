package desktoptest

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// Watcher is an org.kde.StatusNotifierWatcher, the registry that panels
// read tray items from. It records the items that register.
type Watcher struct {
	mu    sync.Mutex
	items []string
	added chan string
	props *prop.Properties
}

// Item is a registered tray item's address.
type ItemAddress struct {
	Service string // unique bus name
	Path    dbus.ObjectPath
}

// StartWatcher owns org.kde.StatusNotifierWatcher on bus.
func StartWatcher(t testing.TB, bus *Bus) *Watcher {
	t.Helper()
	conn := bus.Connect(t)
	w := &Watcher{added: make(chan string, 16)}
	const path = "/StatusNotifierWatcher"
	const iface = "org.kde.StatusNotifierWatcher"
	if err := conn.Export(w, path, iface); err != nil {
		t.Fatal(err)
	}
	props, err := prop.Export(conn, path, map[string]map[string]*prop.Prop{iface: {
		"RegisteredStatusNotifierItems":  {Value: []string{}, Emit: prop.EmitTrue},
		"IsStatusNotifierHostRegistered": {Value: true, Emit: prop.EmitTrue},
		"ProtocolVersion":                {Value: int32(0), Emit: prop.EmitTrue},
	}})
	if err != nil {
		t.Fatal(err)
	}
	w.props = props
	Own(t, conn, iface)
	return w
}

// RegisterStatusNotifierItem is called by tray items. service is a bus name
// or, as fyne.io/systray sends, an object path on the caller's connection.
func (w *Watcher) RegisterStatusNotifierItem(sender dbus.Sender, service string) *dbus.Error {
	item := service
	if strings.HasPrefix(service, "/") {
		item = string(sender) + service
	}
	w.mu.Lock()
	w.items = append(w.items, item)
	items := append([]string(nil), w.items...)
	w.mu.Unlock()
	w.props.SetMust("org.kde.StatusNotifierWatcher", "RegisteredStatusNotifierItems", items)
	w.added <- item
	return nil
}

// RegisterStatusNotifierHost is called by panels; nothing to do here.
func (w *Watcher) RegisterStatusNotifierHost(service string) *dbus.Error { return nil }

// WaitItem waits for the next item to register and returns its address.
func (w *Watcher) WaitItem(t testing.TB, timeout time.Duration) ItemAddress {
	t.Helper()
	select {
	case item := <-w.added:
		i := strings.IndexByte(item, '/')
		if i < 0 {
			return ItemAddress{Service: item, Path: "/StatusNotifierItem"}
		}
		return ItemAddress{Service: item[:i], Path: dbus.ObjectPath(item[i:])}
	case <-time.After(timeout):
		t.Fatalf("no tray item registered within %s", timeout)
	}
	return ItemAddress{}
}
