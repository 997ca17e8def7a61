package autostart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// location is ~/Library/LaunchAgents/<Label>.plist; launchd reads it at login.
func location() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the LaunchAgents directory: %w", err)
	}
	return filepath.Join(home, "Library", "LaunchAgents", Label+".plist"), nil
}

func enable(exe string, args []string) error {
	name, err := location()
	if err != nil {
		return err
	}
	return writeFileAtomic(name, []byte(LaunchAgentPlist(Label, exe, args)), 0o644)
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
	_, err = os.Stat(name)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", name, err)
	}
	return true, nil
}
