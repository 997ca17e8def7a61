package proxy

import (
	"sync"
	"time"
)

// EventKind names what happened.
type EventKind string

// Event kinds published to subscribers.
const (
	// EventProviderFailed: Provider was put in cooldown for Cooldown because of Reason.
	EventProviderFailed EventKind = "provider_failed"
	// EventFailover: a request moved from Provider (which failed with Reason) to Next.
	EventFailover EventKind = "failover"
	// EventProviderRecovered: Provider is back in rotation (cooldown over, retried
	// by hand, or it served a request again).
	EventProviderRecovered EventKind = "provider_recovered"
	// EventAllDown: every enabled provider is cooling down; Reason summarises.
	EventAllDown EventKind = "all_down"
	// EventConfigReloaded: a new configuration is serving.
	EventConfigReloaded EventKind = "config_reloaded"
	// EventConfigReloadFailed: the file was bad; Reason holds the first error. The
	// old configuration keeps serving.
	EventConfigReloadFailed EventKind = "config_reload_failed"
	// EventStarted and EventStopped: the listener opened or closed.
	EventStarted EventKind = "started"
	EventStopped EventKind = "stopped"
	// EventChanged: something shown in a snapshot changed (strategy, counters).
	EventChanged EventKind = "changed"
)

// Event is one thing that happened in the proxy. Fields that do not apply are empty.
// No field ever holds a secret.
type Event struct {
	Kind     EventKind
	Time     time.Time
	Provider string
	Next     string
	Reason   string
	Cooldown time.Duration
}

// bus fans events out to subscribers. A subscriber that does not keep up loses
// events rather than slowing the proxy down.
type bus struct {
	mu   sync.Mutex
	subs map[chan Event]struct{}
}

func (b *bus) subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 64)
	b.mu.Lock()
	if b.subs == nil {
		b.subs = make(map[chan Event]struct{})
	}
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, ch)
			b.mu.Unlock()
			close(ch)
		})
	}
}

func (b *bus) publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- e:
		default:
		}
	}
}
