package logging

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// appName names the per-user directory.
const appName = "ccbalancer"

// defaultFileName is the log file's name inside DefaultDir.
const defaultFileName = "logs.jsonl"

// DefaultDir returns the per-user directory for ccbalancer's logs and state:
// $XDG_STATE_HOME/ccbalancer (default ~/.local/state/ccbalancer) on Linux and
// other Unix systems, ~/Library/Logs/ccbalancer on macOS and
// %LocalAppData%\ccbalancer\logs on Windows. A systemd service with
// LogsDirectory= (which has no home directory when it is a system service)
// logs to the directory systemd made for it, named by $LOGS_DIRECTORY (the
// first of its colon-separated paths). It does not create the directory.
func DefaultDir() (string, error) {
	return defaultDir(runtime.GOOS, os.Getenv, os.UserHomeDir)
}

// defaultDir is DefaultDir with the platform and environment passed in, so
// every platform's rule can be tested on any of them.
func defaultDir(goos string, getenv func(string) string, home func() (string, error)) (string, error) {
	if dir, _, _ := strings.Cut(getenv("LOGS_DIRECTORY"), ":"); goos != "windows" && filepath.IsAbs(dir) {
		return dir, nil
	}
	switch goos {
	case "windows":
		if dir := getenv("LocalAppData"); dir != "" {
			return filepath.Join(dir, appName, "logs"), nil
		}
		return "", errors.New("finding the log directory: %LocalAppData% is not set")
	case "darwin", "ios":
		h, err := home()
		if err != nil {
			return "", fmt.Errorf("finding the log directory: %w", err)
		}
		return filepath.Join(h, "Library", "Logs", appName), nil
	default:
		// The XDG spec says a relative value is invalid and must be ignored.
		if dir := getenv("XDG_STATE_HOME"); dir != "" && filepath.IsAbs(dir) {
			return filepath.Join(dir, appName), nil
		}
		h, err := home()
		if err != nil {
			return "", fmt.Errorf("finding the log directory: %w", err)
		}
		return filepath.Join(h, ".local", "state", appName), nil
	}
}

// ResolveFile turns the configured log file name into a path: "" becomes
// DefaultDir()/logs.jsonl, a relative name is joined under DefaultDir(), and
// an absolute path is kept as it is.
func ResolveFile(name string) (string, error) {
	if filepath.IsAbs(name) {
		return filepath.Clean(name), nil
	}
	dir, err := DefaultDir()
	if err != nil {
		return "", err
	}
	if name == "" {
		name = defaultFileName
	}
	return filepath.Join(dir, name), nil
}
