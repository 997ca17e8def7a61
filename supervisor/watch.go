package supervisor

import (
	"context"
	"log/slog"

	"github.com/ccbalancer/ccbalancer/config"
)

// Watch watches the configuration file until ctx ends, and reloads after
// each change (config.Watcher: editors that save in place or by renaming a
// new file over the old one, changes coalesced): while no configuration
// serves (NotSetUp, ConfigError) that is a new attempt to start; while one
// serves it is the proxy's own Reload, which keeps the old configuration on
// any error. It creates the file's directory (mode 0700) so that there is
// something to watch. It returns nil when ctx ends, or an error when the
// file cannot be watched.
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

// watcher watches the configuration file's directory; nil when there is no
// file to watch.
func (s *Supervisor) watcher() (*config.Watcher, error) {
	s.mu.Lock()
	path := s.path
	s.mu.Unlock()
	if path == "" {
		return nil, nil
	}
	w, err := config.NewWatcher(path)
	if err != nil {
		return nil, err
	}
	w.Errors = func(err error) { s.log.Warn("watching the configuration file", slog.Any("err", err)) }
	return w, nil
}

// watchLoop reloads after each change w reports, until ctx ends.
func (s *Supervisor) watchLoop(ctx context.Context, w *config.Watcher) error {
	s.log.Debug("watching the configuration file", slog.String("path", s.Snapshot().ConfigPath))
	return w.Run(ctx, func() {
		s.log.Info("configuration file changed; reloading it", slog.String("path", s.Snapshot().ConfigPath))
		_ = s.Reload() // the outcome is logged, in the snapshot and published
	})
}
