package proxy

import (
	"context"
	"log/slog"
	"sync"
)

// maxOnce bounds the distinct warnings remembered per provider; past it,
// new ones are logged at DEBUG.
const maxOnce = 256

// onceLog logs each distinct conversion warning of one provider at WARN
// once, and every later occurrence at DEBUG: the same finding ("thinking
// dropped: the provider takes no reasoning settings") holds for every
// request of a conversation and needs saying once per run of a
// configuration.
type onceLog struct {
	mu   sync.Mutex
	seen map[string]bool
}

// log logs warnings about what (e.g. "request conversion") for provider.
func (o *onceLog) log(log *slog.Logger, provider, what string, warnings []string) {
	for _, w := range warnings {
		level := slog.LevelDebug
		if o.first(w) {
			level = slog.LevelWarn
		}
		log.Log(context.Background(), level, what, slog.String("provider", provider), slog.String("warning", w))
	}
}

func (o *onceLog) first(w string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen[w] || len(o.seen) >= maxOnce {
		return false
	}
	if o.seen == nil {
		o.seen = map[string]bool{}
	}
	o.seen[w] = true
	return true
}
