//go:build linux || freebsd || netbsd || openbsd || dragonfly || illumos || solaris

package autostart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// location is $XDG_CONFIG_HOME/autostart/ccbalancer.desktop, with
// XDG_CONFIG_HOME defaulting to ~/.config as the Base Directory spec says.
func location() (string, error) {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("finding the autostart directory: %w", err)
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "autostart", Name+".desktop"), nil
}

func enable(exe string, args []string) error {
	name, err := location()
	if err != nil {
		return err
	}
	return writeFileAtomic(name, []byte(DesktopEntry(exe, args)), 0o644)
}

func disable() error {
	name, err := location()
	if err != nil {
		return err
	}
	return removeFile(name)
}

func enabled() (bool, error) {
	name, err := location()
	if err != nil {
		return false, err
	}
	b, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", name, err)
	}
	return desktopEntryEnabled(string(b)), nil
}
