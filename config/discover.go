package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrNotFound is returned (wrapped) by Discover when no config file exists
// in any of the places it looks.
var ErrNotFound = errors.New("no config file found")

// EnvVar names the environment variable that points at the config file.
const EnvVar = "CCBALANCER_CONFIG"

// FileName is the config file's name in the working and user config directories.
const FileName = "providers.yaml"

// DefaultPath returns the config file's location in the user's config
// directory (e.g. ~/.config/ccbalancer/providers.yaml on Linux): where
// `ccbalancer init` writes when nothing else is asked for.
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the user config directory: %w", err)
	}
	return filepath.Join(dir, "ccbalancer", FileName), nil
}

// Discover finds the config file: flagValue (--config), then
// $CCBALANCER_CONFIG, then ./providers.yaml, then DefaultPath. A file named
// by the flag or the variable is the user's explicit choice, so when it does
// not exist Discover returns its path with an error wrapping ErrNotFound
// rather than falling back to another file. tried lists every place looked
// at, in order. Paths are made absolute so that they survive a change of
// working directory (reloads, "open config file").
func Discover(flagValue string) (path string, tried []string, err error) {
	check := func(p string) (bool, error) {
		tried = append(tried, p)
		st, err := os.Stat(p)
		switch {
		case err == nil && st.IsDir():
			return false, nil
		case err == nil:
			return true, nil
		case errors.Is(err, fs.ErrNotExist):
			return false, nil
		default:
			return false, fmt.Errorf("looking for config %s: %w", p, err)
		}
	}
	notFound := func() error {
		return fmt.Errorf("%w (looked at: %s)", ErrNotFound, strings.Join(tried, ", "))
	}
	for _, explicit := range []string{flagValue, os.Getenv(EnvVar)} {
		if explicit == "" {
			continue
		}
		p := absPath(explicit)
		ok, err := check(p)
		if err != nil {
			return p, tried, err
		}
		if !ok {
			return p, tried, notFound()
		}
		return p, tried, nil
	}
	candidates := []string{absPath(FileName)}
	if def, err := DefaultPath(); err == nil {
		candidates = append(candidates, def)
	}
	for _, p := range candidates {
		ok, err := check(p)
		if err != nil {
			return p, tried, err
		}
		if ok {
			return p, tried, nil
		}
	}
	return "", tried, notFound()
}

// absPath makes p absolute, keeping it as is if that fails.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// WriteExample writes data (the example config) to path with mode 0600,
// creating missing parent directories with mode 0700. It never overwrites:
// an existing file yields an error wrapping fs.ErrExist.
func WriteExample(path string, data []byte) (err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating config directory: %w", err)
	}
	// O_EXCL makes "never overwrite" atomic: no window between a check and the write.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("writing example config: %s already exists; not overwriting it: %w", path, fs.ErrExist)
	}
	if err != nil {
		return fmt.Errorf("writing example config: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("writing example config %s: %w", path, cerr)
		}
		if err != nil {
			_ = os.Remove(path) // never leave a half-written config behind
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("writing example config %s: %w", path, err)
	}
	return nil
}
