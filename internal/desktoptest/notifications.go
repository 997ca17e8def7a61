package desktoptest

import (
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// Notification is one recorded org.freedesktop.Notifications.Notify call.
type Notification struct {
	App     string
	Summary string
	Body    string
	// HasImage says whether the call carried image data (an embedded icon).
	HasImage bool
	Icon     string
	At       time.Time
}

// Notifications is a notification server that records what it is asked to show.
type Notifications struct {
	mu   sync.Mutex
	list []Notification
	next uint32
	got  chan struct{}
}

// StartNotifications owns org.freedesktop.Notifications on bus.
func StartNotifications(t testing.TB, bus *Bus) *Notifications {
	t.Helper()
	conn := bus.Connect(t)
	n := &Notifications{got: make(chan struct{}, 64)}
	if err := conn.Export(n, "/org/freedesktop/Notifications", "org.freedesktop.Notifications"); err != nil {
		t.Fatal(err)
	}
	Own(t, conn, "org.freedesktop.Notifications")
	return n
}

// Notify implements org.freedesktop.Notifications.Notify.
func (n *Notifications) Notify(app string, replaces uint32, icon, summary, body string,
	actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	_, img := hints["image-data"]
	if !img {
		_, img = hints["image_data"]
	}
	n.mu.Lock()
	n.next++
	id := n.next
	n.list = append(n.list, Notification{App: app, Summary: summary, Body: body, HasImage: img, Icon: icon, At: time.Now()})
	n.mu.Unlock()
	select {
	case n.got <- struct{}{}:
	default:
	}
	return id, nil
}

// GetCapabilities implements org.freedesktop.Notifications.GetCapabilities.
func (n *Notifications) GetCapabilities() ([]string, *dbus.Error) {
	return []string{"body", "icon-static"}, nil
}

// GetServerInformation implements org.freedesktop.Notifications.GetServerInformation.
func (n *Notifications) GetServerInformation() (string, string, string, string, *dbus.Error) {
	return "desktoptest", "ccbalancer", "1", "1.2", nil
}

// CloseNotification implements org.freedesktop.Notifications.CloseNotification.
func (n *Notifications) CloseNotification(id uint32) *dbus.Error { return nil }

// All returns every notification so far.
func (n *Notifications) All() []Notification {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Notification(nil), n.list...)
}

// WaitCount waits until at least count notifications were recorded and
// returns them all.
func (n *Notifications) WaitCount(t testing.TB, count int, timeout time.Duration) []Notification {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if all := n.All(); len(all) >= count {
			return all
		}
		select {
		case <-n.got:
		case <-deadline:
			t.Fatalf("waited %s for %d notifications, got %v", timeout, count, n.All())
			return nil
		}
	}
}
