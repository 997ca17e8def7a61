package tray

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/godbus/dbus/v5"
)

// Probe returns nil when a tray can be shown here, else an error wrapping
// ErrUnavailable that says why. On Linux and the BSDs the tray lives on the
// session bus; fyne.io/systray panics on Quit when it had no bus, so the bus
// is tried before the tray is started. The address is read from the
// environment only: godbus would otherwise start a bus of its own through
// dbus-launch, one no panel listens on.
func Probe() error {
	switch runtime.GOOS {
	case "windows", "darwin":
		return nil
	}
	addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	if addr == "" {
		return fmt.Errorf("%w: DBUS_SESSION_BUS_ADDRESS is not set (no desktop session)", ErrUnavailable)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := dbus.Connect(addr, dbus.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("%w: cannot connect to the session bus: %v", ErrUnavailable, err)
	}
	conn.Close()
	return nil
}
