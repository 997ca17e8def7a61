package tray

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/ccbalancer/ccbalancer/proxy"
	"github.com/ccbalancer/ccbalancer/supervisor"
)

// BurstWindow is how long the notifier gathers events after the first one
// before it shows them as one notice: a failover usually comes as a state
// event and a failover event, and an outage as several at once.
const BurstWindow = time.Second

// Notifier shows proxy events as desktop notifications, by the rules of
// batcher, for the kinds that are switched on. Failing to show one is logged
// and otherwise ignored.
type Notifier struct {
	send   func(Notice) error
	logger *slog.Logger
	mu     sync.Mutex
	on     map[NoticeKind]bool
}

// NewNotifier returns a Notifier that shows notices with send, with the
// kinds in on switched on (DefaultNotify when nil).
func NewNotifier(send func(Notice) error, logger *slog.Logger, on map[NoticeKind]bool) *Notifier {
	if on == nil {
		on = DefaultNotify()
	}
	return &Notifier{send: send, logger: logger, on: maps.Clone(on)}
}

// Set switches one kind on or off. While off, events of that kind still
// count (a failure seen while off is not announced later when switched on).
func (n *Notifier) Set(kind NoticeKind, on bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.on[kind] = on
}

// On returns which kinds are on.
func (n *Notifier) On() map[NoticeKind]bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return maps.Clone(n.on)
}

// Show sends one notice now, whatever the switches say: for answers to
// something the user just asked for.
func (n *Notifier) Show(notice Notice) {
	if err := n.send(notice); err != nil {
		n.logger.Warn("desktop notification failed", slog.String("title", notice.Title), slog.Any("err", err))
	}
}

// Run turns events into notifications until ctx ends or events is closed.
// snapshot gives the state when it starts (a setup problem found before the
// tray was up is announced too) and the configuration's path, which
// notices shorten to its base name.
func (n *Notifier) Run(ctx context.Context, events <-chan proxy.Event, snapshot func() supervisor.Snapshot) {
	b := newBatcher()
	var (
		timer *time.Timer
		fire  <-chan time.Time
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	add := func(e proxy.Event) {
		if b.Add(e, time.Now()) && fire == nil {
			timer = time.NewTimer(BurstWindow)
			fire = timer.C
		}
	}
	add(snapshot().Event())
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-events:
			if !ok {
				return
			}
			add(e)
		case <-fire:
			fire, timer = nil, nil
			notice, ok := b.Flush(n.On(), snapshot().ConfigPath)
			if !ok {
				continue
			}
			n.Show(notice)
		}
	}
}
