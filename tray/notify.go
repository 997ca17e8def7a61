package tray

import (
	"fmt"
	"strings"
	"time"

	"github.com/ccbalancer/ccbalancer/assets"
	"github.com/ccbalancer/ccbalancer/proxy"
	"github.com/ccbalancer/ccbalancer/proxy/health"
)

// Notice is one desktop notification.
type Notice struct {
	Title string
	Body  string
	// Icon is the tray state whose icon the notification shows ("" for the
	// application icon).
	Icon assets.State
}

// eventRecovered is a provider state event whose state is healthy.
const eventRecovered proxy.EventKind = "recovered"

// defaultCooldown stands in for a failure's cooldown when the event that
// announced it carried none (a failover seen before its cooldown event).
const defaultCooldown = 90 * time.Second

// batcher turns proxy events into notices. It has no clock and no goroutine:
// Add takes the time of the event, Flush returns what one burst of events
// amounts to. Its rules:
//   - a provider's failure is announced at most once per cooldown; a later
//     failure of the same provider waits for the cooldown to end or for a
//     recovery;
//   - a recovery is announced only for a failure that was announced, and a
//     failure and recovery within one burst cancel out;
//   - "all providers down" is announced once until some provider recovers;
//   - everything in one burst becomes a single notice.
type batcher struct {
	// quietUntil is, per provider, the end of the cooldown whose failure was announced.
	quietUntil map[string]time.Time
	// announced holds providers whose failure was announced and whose recovery was not.
	announced map[string]bool
	allDown   bool

	pending pendingBurst
}

type failure struct {
	provider, reason, next string
	cooldown               time.Duration
}

type pendingBurst struct {
	failures    []*failure
	recoveries  []string
	allDown     string // reason; "" when not pending
	allDownSet  bool
	reloadError string
	reloadSet   bool
}

func (p *pendingBurst) empty() bool {
	return len(p.failures) == 0 && len(p.recoveries) == 0 && !p.allDownSet && !p.reloadSet
}

func (p *pendingBurst) failure(provider string) *failure {
	for _, f := range p.failures {
		if f.provider == provider {
			return f
		}
	}
	return nil
}

func newBatcher() *batcher {
	return &batcher{quietUntil: map[string]time.Time{}, announced: map[string]bool{}}
}

// Add records an event seen at now. It reports whether a notice is now
// pending, which starts a burst if none was open.
func (b *batcher) Add(e proxy.Event, now time.Time) bool {
	kind := e.Kind
	if kind == proxy.EventProviderState && e.State == health.StateHealthy {
		kind = eventRecovered
	}
	var eCooldown time.Duration
	if !e.Until.IsZero() {
		eCooldown = max(e.Until.Sub(e.Time), 0)
	}
	switch kind {
	case proxy.EventProviderState, proxy.EventFailover:
		cooldown := eCooldown
		if cooldown <= 0 {
			cooldown = defaultCooldown
		}
		if f := b.pending.failure(e.Provider); f != nil {
			// The same failure seen twice (cooldown event and failover event):
			// merge what each knows.
			if e.Next != "" {
				f.next = e.Next
			}
			if eCooldown > 0 {
				f.cooldown = eCooldown
				b.quietUntil[e.Provider] = now.Add(eCooldown)
			}
			return true
		}
		if now.Before(b.quietUntil[e.Provider]) {
			if eCooldown > 0 {
				// A new cooldown for a provider already announced: stay quiet
				// until its end.
				b.quietUntil[e.Provider] = now.Add(eCooldown)
			}
			return !b.pending.empty()
		}
		b.quietUntil[e.Provider] = now.Add(cooldown)
		b.announced[e.Provider] = true
		b.pending.failures = append(b.pending.failures, &failure{
			provider: e.Provider, reason: e.Reason, next: e.Next, cooldown: eCooldown,
		})
	case eventRecovered:
		delete(b.quietUntil, e.Provider)
		b.allDown = false
		if !b.announced[e.Provider] {
			return !b.pending.empty()
		}
		delete(b.announced, e.Provider)
		if b.dropPendingFailure(e.Provider) {
			// A failure and its recovery in one burst: nothing to tell.
			return !b.pending.empty()
		}
		b.pending.recoveries = append(b.pending.recoveries, e.Provider)
	case proxy.EventAllDown:
		if b.allDown {
			return !b.pending.empty()
		}
		b.allDown = true
		b.pending.allDown, b.pending.allDownSet = e.Reason, true
	case proxy.EventConfigReloadFailed:
		b.pending.reloadError, b.pending.reloadSet = e.Reason, true
	default:
		return !b.pending.empty()
	}
	return true
}

func (b *batcher) dropPendingFailure(provider string) bool {
	for i, f := range b.pending.failures {
		if f.provider == provider {
			b.pending.failures = append(b.pending.failures[:i], b.pending.failures[i+1:]...)
			return true
		}
	}
	return false
}

// Flush returns the notice for the events added since the last Flush, and
// false when they amount to nothing.
func (b *batcher) Flush() (Notice, bool) {
	p := b.pending
	b.pending = pendingBurst{}
	if p.allDownSet && len(p.recoveries) > 0 {
		// Something came back within the burst: not all down any more.
		p.allDownSet = false
	}

	var sections []Notice
	if p.allDownSet {
		n := Notice{Title: "All providers down", Icon: assets.Down}
		var lines []string
		for _, f := range p.failures {
			lines = append(lines, failureLine(f, false))
		}
		if len(lines) == 0 && p.allDown != "" {
			lines = append(lines, "Last error: "+shortError(p.allDown))
		}
		lines = append(lines, "Requests fail until a provider recovers.")
		n.Body = strings.Join(lines, "\n")
		sections = append(sections, n)
	} else if len(p.failures) == 1 {
		f := p.failures[0]
		n := Notice{Title: failureLine(f, true), Icon: assets.Degraded}
		cooldown := f.cooldown
		if cooldown <= 0 {
			cooldown = defaultCooldown
		}
		n.Body = fmt.Sprintf("%s is cooling down for %s.", f.provider, roundDuration(cooldown))
		if f.next != "" {
			n.Body = fmt.Sprintf("%s is cooling down for %s; requests go to %s.", f.provider, roundDuration(cooldown), f.next)
		}
		sections = append(sections, n)
	} else if len(p.failures) > 1 {
		n := Notice{Title: fmt.Sprintf("%d providers failed", len(p.failures)), Icon: assets.Degraded}
		var lines []string
		for _, f := range p.failures {
			lines = append(lines, failureLine(f, true))
		}
		n.Body = strings.Join(lines, "\n")
		sections = append(sections, n)
	}
	switch len(p.recoveries) {
	case 0:
	case 1:
		sections = append(sections, Notice{Title: "Provider " + p.recoveries[0] + " recovered", Body: p.recoveries[0] + " is back in rotation.", Icon: assets.Healthy})
	default:
		sections = append(sections, Notice{
			Title: fmt.Sprintf("%d providers recovered", len(p.recoveries)),
			Body:  strings.Join(p.recoveries, ", ") + " are back in rotation.",
			Icon:  assets.Healthy,
		})
	}
	if p.reloadSet {
		sections = append(sections, Notice{
			Title: "Configuration reload failed",
			Body:  shortError(p.reloadError) + "\nThe previous configuration keeps serving.",
			Icon:  assets.Degraded,
		})
	}
	switch len(sections) {
	case 0:
		return Notice{}, false
	case 1:
		return sections[0], true
	}
	// Several kinds in one burst: the first (most severe) leads, the others
	// follow in the body.
	n := sections[0]
	for _, s := range sections[1:] {
		n.Body += "\n" + s.Title + ". " + strings.ReplaceAll(s.Body, "\n", " ")
	}
	return n, true
}

// failureLine says what happened to one provider: "Provider A failed: HTTP
// 529 — switched to B".
func failureLine(f *failure, withNext bool) string {
	s := "Provider " + f.provider + " failed"
	if f.reason != "" {
		s += ": " + shortError(f.reason)
	}
	if withNext && f.next != "" {
		s += " — switched to " + f.next
	}
	return s
}

// roundDuration prints a cooldown the way people say it: "90s", "5m", "1h30m0s".
func roundDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Hour && d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d < time.Hour:
		return fmt.Sprintf("%ds", d/time.Second)
	default:
		return d.String()
	}
}
