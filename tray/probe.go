package tray

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/godbus/dbus/v5"
)

// watcherName is the bus name of the registry that tray hosts (panels) run.
const watcherName = "org.kde.StatusNotifierWatcher"

// NoTrayHostNotice is shown once when the session has a bus but no tray host.
var NoTrayHostNotice = Notice{
	Title: "ccbalancer runs without a tray icon",
	Body: "This desktop shows no tray icons (on GNOME, the AppIndicator extension adds them).\n" +
		"ccbalancer keeps running: `ccbalancer status` shows it, `ccbalancer stop` stops it.",
}

// Probe reports whether a tray can be shown here and whether a tray host is
// there to show it. err wraps ErrUnavailable and says why when no tray can
// be shown. On Linux and the BSDs the tray lives on the session bus;
// fyne.io/systray panics on Quit when it had no bus, so the bus is tried
// before the tray is started. The address is read from the environment
// only: godbus would otherwise start a bus of its own through dbus-launch,
// one no panel listens on. host is whether org.kde.StatusNotifierWatcher
// has an owner (always true on Windows and macOS).
func Probe() (host bool, err error) {
	switch runtime.GOOS {
	case "windows", "darwin":
		return true, nil
	}
	addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	if addr == "" {
		return false, fmt.Errorf("%w: DBUS_SESSION_BUS_ADDRESS is not set (no desktop session)", ErrUnavailable)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := dbus.Connect(addr, dbus.WithContext(ctx))
	if err != nil {
		return false, fmt.Errorf("%w: cannot connect to the session bus: %v", ErrUnavailable, err)
	}
	defer conn.Close()
	var owned bool
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, watcherName).Store(&owned); err != nil {
		return false, fmt.Errorf("%w: asking the session bus for %s: %v", ErrUnavailable, watcherName, err)
	}
	return owned, nil
}
