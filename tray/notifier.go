package tray

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ccbalancer/ccbalancer/proxy"
)

// BurstWindow is how long the notifier gathers events after the first one
// before it shows them as one notice: a failover usually comes as a cooldown
// event and a failover event, and an outage as several at once.
const BurstWindow = time.Second

// Notifier shows proxy events as desktop notifications, by the rules of
// batcher. Failing to show one is logged and otherwise ignored.
type Notifier struct {
	send    func(Notice) error
	logger  *slog.Logger
	enabled atomic.Bool
}

// NewNotifier returns an enabled Notifier that shows notices with send.
func NewNotifier(send func(Notice) error, logger *slog.Logger) *Notifier {
	n := &Notifier{send: send, logger: logger}
	n.enabled.Store(true)
	return n
}

// SetEnabled switches notifications on or off. While off, events still count
// (a failure seen while off is not announced later when switched back on).
func (n *Notifier) SetEnabled(on bool) { n.enabled.Store(on) }

// Enabled reports whether notifications are on.
func (n *Notifier) Enabled() bool { return n.enabled.Load() }

// Show sends one notice now, whether notifications are on or not: for answers
// to something the user just asked for.
func (n *Notifier) Show(notice Notice) {
	if err := n.send(notice); err != nil {
		n.logger.Warn("desktop notification failed", slog.String("title", notice.Title), slog.Any("err", err))
	}
}

// Run turns events into notifications until ctx ends or events is closed.
func (n *Notifier) Run(ctx context.Context, events <-chan proxy.Event) {
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
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-events:
			if !ok {
				return
			}
			if b.Add(e, time.Now()) && fire == nil {
				timer = time.NewTimer(BurstWindow)
				fire = timer.C
			}
		case <-fire:
			fire, timer = nil, nil
			notice, ok := b.Flush()
			if !ok {
				continue
			}
			if !n.enabled.Load() {
				n.logger.Debug("notification suppressed", slog.String("title", notice.Title))
				continue
			}
			n.Show(notice)
		}
	}
}
