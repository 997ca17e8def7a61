// Package autostart starts ccbalancer's tray when the user logs in: an XDG
// autostart entry on Linux and the BSDs, a LaunchAgent on macOS, and a value
// under HKCU\Software\Microsoft\Windows\CurrentVersion\Run on Windows.
//
// The file formats are rendered by functions without build constraints
// (DesktopEntry, LaunchAgentPlist, WindowsCommandLine) so that one test run
// on any system checks all three; only reading and writing them is per system.
package autostart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Name is the application name used for the entry (file name, registry value).
const Name = "ccbalancer"

// Label is the LaunchAgent label (reverse DNS, as launchd expects).
const Label = "com.github.ccbalancer"

// ErrUnsupported is returned where this system has no known autostart mechanism.
var ErrUnsupported = errors.New("start at login is not supported on this system")

// Enable makes exe with args start when the user logs in, replacing an earlier entry.
func Enable(exe string, args []string) error {
	if !filepath.IsAbs(exe) {
		return fmt.Errorf("enabling start at login: executable path %q is not absolute", exe)
	}
	return enable(exe, args)
}

// Disable removes the entry. Removing an absent entry is not an error.
func Disable() error { return disable() }

// Enabled reports whether an entry exists and is switched on.
func Enabled() (bool, error) { return enabled() }

// Location names where the entry lives (a file path or a registry key), for messages.
func Location() (string, error) { return location() }

// writeFileAtomic writes data to name through a temporary file in the same
// directory, so a crash never leaves a half-written entry behind.
func writeFileAtomic(name string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

// removeFile removes name; an absent file is not an error.
func removeFile(name string) error {
	if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", name, err)
	}
	return nil
}
