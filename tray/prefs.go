package tray

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ccbalancer/ccbalancer/config"
)

// savedPrefs are the choices made in the menu, kept in a small JSON file
// (Options.StateFile) so that they survive a reload and a restart; the
// configuration file itself is never rewritten.
type savedPrefs struct {
	// Strategy chosen in the menu; it wins over settings.selection_strategy
	// until another is chosen. "" when none was.
	Strategy config.Strategy `json:"strategy,omitempty"`
	// Notify holds the notification switches the user changed.
	Notify map[NoticeKind]bool `json:"notify,omitempty"`
}

// loadPrefs reads the state file; a missing file is no choice made yet.
func loadPrefs(path string) (savedPrefs, error) {
	var p savedPrefs
	if path == "" {
		return p, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("reading the tray's state: %w", err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return savedPrefs{}, fmt.Errorf("reading the tray's state %s: %w", path, err)
	}
	if p.Strategy != "" && p.Strategy.Validate() != nil {
		p.Strategy = ""
	}
	return p, nil
}

// save writes the state file whole (a new file renamed over the old one),
// mode 0600 in a 0700 directory.
func (p savedPrefs) save(path string) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("saving the tray's state: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("saving the tray's state: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("saving the tray's state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("saving the tray's state: %w", err)
	}
	return nil
}
