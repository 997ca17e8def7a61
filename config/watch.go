package config

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Settle is how long a watched file must stay quiet after a change before
// it is read: editors save in several steps (truncate and write, or write a
// new file and rename it over the old one), and each step is an event.
const Settle = 150 * time.Millisecond

// Watcher reports changes to one configuration file. It watches the file's
// directory, not the file: the file may not exist yet, and editors that
// save by writing a new file and renaming it over the old one replace the
// file a watch on it would follow.
type Watcher struct {
	path string
	w    *fsnotify.Watcher
	// Errors, if set, is told of errors from the operating system's
	// watch; they do not stop the Watcher.
	Errors func(error)
}

// NewWatcher starts watching the directory of the file at path, creating
// the directory (mode 0700) if needed, so that changes made from now on
// are seen by Run.
func NewWatcher(path string) (*Watcher, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("watching %s: %w", path, err)
	}
	dir := filepath.Dir(abs)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the configuration directory %s: %w", dir, err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watching %s: %w", dir, err)
	}
	if err := w.Add(dir); err != nil {
		w.Close()
		return nil, fmt.Errorf("watching %s: %w", dir, err)
	}
	return &Watcher{path: abs, w: w}, nil
}

// Run calls changed after each change to the file (written, created,
// renamed over, removed), once no event has come for Settle: a burst of
// events is one call. It returns when ctx ends or the watch fails.
func (w *Watcher) Run(ctx context.Context, changed func()) error {
	events := make(chan struct{}, 1)
	done := make(chan struct{})
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		defer close(done)
		coalesce(cctx, events, Settle, changed)
	}()
	defer func() {
		cancel()
		<-done
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.w.Events:
			if !ok {
				return nil
			}
			if filepath.Clean(e.Name) != w.path || e.Op == fsnotify.Chmod {
				continue
			}
			select {
			case events <- struct{}{}:
			default: // one pending signal is enough
			}
		case err, ok := <-w.w.Errors:
			if !ok {
				return nil
			}
			if w.Errors != nil {
				w.Errors(fmt.Errorf("watching the configuration directory of %s: %w", w.path, err))
			}
		}
	}
}

// Close stops watching.
func (w *Watcher) Close() error { return w.w.Close() }

// coalesce calls fire once no value has arrived on events for quiet, and
// again after each later burst, until ctx ends.
func coalesce(ctx context.Context, events <-chan struct{}, quiet time.Duration, fire func()) {
	timer := time.NewTimer(quiet)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-events:
			timer.Reset(quiet)
		case <-timer.C:
			fire()
		}
	}
}
