package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
)

// listenerFor opens the listen address a reload to cfg moves a running
// proxy to; nil when it moves nothing (the address is unchanged, fixed by
// --listen, or the proxy is stopped and takes it at its next Start). The
// address is opened before the new configuration is swapped in, so that a
// reload is all or nothing: an address that cannot be opened fails the
// reload, and the old configuration keeps serving where it was.
func (s *Server) listenerFor(old, cfg *config.Config) (net.Listener, error) {
	addr := cfg.Settings.Listen()
	if s.listen != "" || !s.Running() || addr == old.Settings.Listen() {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("the new listen address %s cannot be opened (%w): free it, or restart to apply it", addr, err)
	}
	return ln, nil
}

// moveTo makes ln the proxy's listener: the old listener closes at once,
// and its requests in flight finish there (without a time limit: streams
// may run for minutes; Stop ends the wait if it comes first).
func (s *Server) moveTo(ln net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		ln.Close() // stopped meanwhile: Start opens the new address
		return
	}
	oldAddr := ""
	if b := s.bound.Load(); b != nil {
		oldAddr = *b
	}
	old := s.srv
	s.drainMu.Lock()
	s.draining = append(s.draining, old)
	s.drainMu.Unlock()
	bound := ln.Addr().String()
	s.bound.Store(&bound)
	s.serveLocked(ln)
	s.serveWG.Add(1)
	go func() {
		defer s.serveWG.Done()
		_ = old.Shutdown(context.Background())
		s.drainMu.Lock()
		defer s.drainMu.Unlock()
		for i, d := range s.draining {
			if d == old {
				s.draining = append(s.draining[:i], s.draining[i+1:]...)
				break
			}
		}
	}()
	s.log.Info("proxy moved to the new listen address; requests in flight on the old one finish there",
		slog.String("old", oldAddr), slog.String("new", bound))
	s.bus.publish(Event{Kind: EventStarted, Time: time.Now(), Reason: "listening on " + bound})
}
