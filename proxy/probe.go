package proxy

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/ccbalancer/ccbalancer/proxy/health"
)

// prober brings back providers that no timer will bring back soon: those
// that need attention (a key rejected, no credit) and those whose rate
// limit or cooldown lasts longer than probe_interval. Every probe_interval
// it lists each such provider's (or key's) models, a request that spends no
// tokens; a success returns it to rotation ("probe succeeded"), unless the
// answer's headers say its window is still used up.
type prober struct {
	mu   sync.Mutex
	last map[string]time.Time // health name -> last probe
	stop context.CancelFunc
	done chan struct{}
}

// startProbes runs probe rounds every probe_interval until stopProbes.
func (s *Server) startProbes() {
	s.probes.mu.Lock()
	defer s.probes.mu.Unlock()
	if s.probes.stop != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.probes.stop, s.probes.done = cancel, done
	go func() {
		defer close(done)
		for {
			interval := s.state.Load().cfg.Settings.ProbeInterval
			t := time.NewTimer(interval)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case now := <-t.C:
				s.probeRound(ctx, now)
			}
		}
	}()
}

func (s *Server) stopProbes() {
	s.probes.mu.Lock()
	stop, done := s.probes.stop, s.probes.done
	s.probes.stop, s.probes.done = nil, nil
	s.probes.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// probeDue reports whether a provider (or key) in state until the given
// time should be probed at now: it needs attention, or its state lasts
// longer than the interval; and it was not probed within the interval.
func (s *Server) probeDue(name string, state health.State, until, now time.Time, interval time.Duration) bool {
	switch state {
	case health.StateNeedsAttention:
	case health.StateRateLimited, health.StateCooling:
		if until.Sub(now) <= interval {
			return false
		}
	default:
		return false
	}
	s.probes.mu.Lock()
	defer s.probes.mu.Unlock()
	if s.probes.last == nil {
		s.probes.last = map[string]time.Time{}
	}
	if last, ok := s.probes.last[name]; ok && now.Sub(last) < interval {
		return false
	}
	s.probes.last[name] = now
	return true
}

// probeRound probes every provider and key that is due at now. The clock
// is the caller's, so that tests can move it.
func (s *Server) probeRound(ctx context.Context, now time.Time) {
	st := s.state.Load()
	interval := st.cfg.Settings.ProbeInterval
	for _, p := range st.cfg.Providers {
		u := st.upstreams[p.Name]
		if u == nil || p.AuthValue.IsPassthrough() {
			continue
		}
		for k := range p.Credentials() {
			name := healthName(u, k)
			state, until := s.health.State(name)
			if !s.probeDue(name, state, until, now, interval) {
				continue
			}
			s.probe(ctx, u, k, name, state)
		}
	}
}

// probe lists the models of one provider with one key.
func (s *Server) probe(ctx context.Context, u *upstream, key int, name string, state health.State) {
	log := s.log.With(slog.String("provider", u.cfg.Name), slog.String("state", string(state)))
	if l := keyLabel(u, key); l != "" {
		log = log.With(slog.String("key", l))
	}
	ctx, cancel := context.WithTimeout(ctx, s.state.Load().cfg.Settings.RequestTimeout)
	defer cancel()
	req, rd, err := modelsRequest(ctx, u.cfg, key)
	if err != nil {
		log.Warn("probe not sent", slog.Any("err", err))
		return
	}
	_, info, err := fetchModels(u.client, req, rd, u.cfg)
	if err != nil {
		var me *ModelsError
		if errors.As(err, &me) {
			log.Info("probe refused; the provider stays out", slog.Int("status", me.Status), slog.String("message", me.Message))
		} else if ctx.Err() == nil {
			log.Info("probe failed; the provider stays out", slog.String("err", shorten(rd.string(err.Error()), 160)))
		}
		return
	}
	if until, used := info.ExhaustedUntil(); used && until.After(time.Now()) {
		log.Info("probe answered, but the rate-limit window is still used up", slog.Time("until", until))
		return
	}
	s.health.Reset(name, "probe succeeded")
}
