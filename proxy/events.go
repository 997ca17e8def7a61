package proxy

import (
	"sync"
	"time"

	"github.com/ccbalancer/ccbalancer/proxy/health"
)

// EventKind names what happened.
type EventKind string

// Event kinds published to subscribers.
const (
	// EventProviderState: Provider moved from Prev to State because of
	// Reason; Until is when State ends by itself (zero: no timer). State
	// healthy is a recovery (Reason says how: "served a request", "cooldown
	// over", "retried by hand", "probe succeeded").
	EventProviderState EventKind = "provider_state"
	// EventFailover: a request moved from Provider (which failed with Reason)
	// to Next. State and Until are what the failure did to Provider: the
	// state it entered and when that ends ("" and zero when the failure
	// changed no state, as a 404 or a refused conversion).
	EventFailover EventKind = "failover"
	// EventAllDown: no enabled provider is in rotation; Reason summarises.
	EventAllDown EventKind = "all_down"
	// EventConfigReloaded: a new configuration is serving.
	EventConfigReloaded EventKind = "config_reloaded"
	// EventConfigReloadFailed: the file was bad; Reason holds the first error. The
	// old configuration keeps serving.
	EventConfigReloadFailed EventKind = "config_reload_failed"
	// EventStarted and EventStopped: the listener opened or closed.
	EventStarted EventKind = "started"
	EventStopped EventKind = "stopped"
	// EventStopping: the listener is closed and InFlight answers are still
	// running; those left at Until are aborted (then an event with a zero
	// Until). Sent when the proxy starts to stop and whenever the number
	// changes.
	EventStopping EventKind = "stopping"
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
	State    health.State
	Prev     health.State
	Until    time.Time
	// InFlight is the number of answers still running (EventStopping).
	InFlight int
}

// Bus fans events out to subscribers. A subscriber that does not keep up loses
// events rather than slowing the publisher down. The zero value is ready to use.
type Bus struct {
	mu   sync.Mutex
	subs map[chan Event]struct{}
}

// Subscribe returns a channel of events (buffered, 64) and a function that
// ends the subscription and closes the channel.
func (b *Bus) Subscribe() (<-chan Event, func()) {
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

// Publish sends e to every subscriber that has room for it; it never blocks.
func (b *Bus) Publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

// publish is Publish, for the request path's call sites.
func (b *Bus) publish(e Event) { b.Publish(e) }
