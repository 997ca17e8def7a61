// Package desktoptest runs ccbalancer's desktop parts against real desktop
// services on a headless machine: a private dbus-daemon, a StatusNotifierWatcher
// and a recording notification server owned by the test, and a dbusmenu client
// that reads and clicks the tray menu as a panel would.
//
// The end-to-end test of the ccbalancer binary lives in this package too.
package desktoptest

import (
	"os"
	"os/exec"
	"testing"
)

// NeedTool returns the path of an external program the test needs. When it is
// missing the test is skipped with the apt package to install, except under
// CI=true, where a missing tool fails the test: a CI run must not go green by
// skipping what it was meant to prove.
func NeedTool(t testing.TB, name, aptPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := name + " not found: apt-get install -y --no-install-recommends " + aptPackage
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
