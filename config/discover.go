package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
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
		return fmt.Errorf("writing example config: %s: %w; not overwriting it", path, fs.ErrExist)
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

// ListenOf reads only the listen address (settings.host and settings.port)
// of the config file at path, without validating the rest or resolving any
// credential: for commands that talk to a running proxy (the status line),
// which must answer fast and need none of the keys. A missing file gives
// the default address.
func ListenOf(path string) (string, error) {
	s := Defaults()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s.Listen(), nil
	}
	if err != nil {
		return "", fmt.Errorf("reading config %s: %w", path, err)
	}
	var doc struct {
		Settings struct {
			Host *string `yaml:"host"`
			Port *int    `yaml:"port"`
		} `yaml:"settings"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return "", fmt.Errorf("reading config %s: %w", path, err)
	}
	if h := doc.Settings.Host; h != nil && *h != "" {
		s.Host = *h
		if !IsLoopback(s.Host) {
			// A proxy listening on every interface is still reached here.
			s.Host = "127.0.0.1"
		}
	}
	if p := doc.Settings.Port; p != nil && *p > 0 {
		s.Port = *p
	}
	return s.Listen(), nil
}
