// Package tray shows ccbalancer in the system tray: an icon whose colour follows
// provider health, a menu rebuilt from the proxy's snapshot, and desktop
// notifications for failovers, outages and recoveries.
package tray

import "errors"

// ErrUnavailable means no tray can be shown here (no session bus, no display).
// Callers run headless instead.
var ErrUnavailable = errors.New("tray unavailable")
