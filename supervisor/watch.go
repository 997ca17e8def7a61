package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// settle is how long the file must stay quiet after a change before it is
// read: editors save in several steps (truncate, write, rename).
const settle = 150 * time.Millisecond

// Watch waits for the configuration file to appear or change while no
// configuration is serving (NotSetUp, ConfigError) and then tries to start,
// until ctx ends. It creates the file's directory (mode 0700) so that there
// is something to watch. Changes while a configuration serves are left to
// Reload. It returns nil when ctx ends, or an error when the file cannot be
// watched.
func (s *Supervisor) Watch(ctx context.Context) error {
	if s.opts.Fixed {
		<-ctx.Done()
		return nil
	}
	w, err := s.watcher()
	if err != nil {
		return err
	}
	if w == nil {
		<-ctx.Done()
		return nil
	}
	defer w.Close()
	return s.watchLoop(ctx, w)
}

// watcher creates the configuration file's directory and watches it; nil
// when there is no file to watch.
func (s *Supervisor) watcher() (*fsnotify.Watcher, error) {
	s.mu.Lock()
	path := s.path
	s.mu.Unlock()
	if path == "" {
		return nil, nil
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the configuration directory %s: %w", dir, err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watching %s: %w", dir, err)
	}
	// The directory, not the file: the file may not exist yet, and editors
	// replace it by renaming a new one over it.
	if err := w.Add(dir); err != nil {
		w.Close()
		return nil, fmt.Errorf("watching %s: %w", dir, err)
	}
	return w, nil
}

// watchLoop serves w's events until ctx ends.
func (s *Supervisor) watchLoop(ctx context.Context, w *fsnotify.Watcher) error {
	s.mu.Lock()
	path := s.path
	s.mu.Unlock()
	dir := filepath.Dir(path)
	s.log.Debug("watching for the configuration file", slog.String("path", path))
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Events:
			if !ok {
				return nil
			}
			if filepath.Clean(e.Name) == path && !e.Has(fsnotify.Chmod) {
				timer.Reset(settle)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			s.log.Warn("watching the configuration directory", slog.String("dir", dir), slog.Any("err", err))
		case <-timer.C:
			s.mu.Lock()
			waiting := s.srv == nil
			s.mu.Unlock()
			if waiting {
				s.log.Info("configuration file changed; loading it", slog.String("path", path))
				_ = s.Reload() // the outcome is in the snapshot and published
			}
		}
	}
}
