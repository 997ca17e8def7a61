package tray

import (
	"fmt"
	"strings"
	"time"

	"github.com/ccbalancer/ccbalancer/assets"
	"github.com/ccbalancer/ccbalancer/proxy"
	"github.com/ccbalancer/ccbalancer/proxy/health"
	"github.com/ccbalancer/ccbalancer/supervisor"
)

// Notice is one desktop notification.
type Notice struct {
	Title string
	Body  string
	// Icon is the tray state whose icon the notification shows ("" for the
	// application icon).
	Icon assets.State
}

// NoticeKind is a kind of notification the user can switch on and off.
type NoticeKind string

// Notification kinds.
const (
	// NoticeFailover: a provider left rotation for a while (cooling down,
	// rate limited, budget reached) and requests moved on.
	NoticeFailover NoticeKind = "failover"
	// NoticeAttention: a provider needs the user (key rejected, no credit).
	NoticeAttention NoticeKind = "attention"
	// NoticeAllDown: no provider is in rotation.
	NoticeAllDown NoticeKind = "all_down"
	// NoticeRecovery: providers back in rotation, grouped. Off by default:
	// the menu and icon show it, and it is rarely news.
	NoticeRecovery NoticeKind = "recovery"
	// NoticeSetup: the configuration is missing or does not load, a reload
	// failed, the port is taken; and the proxy serving after such a problem.
	NoticeSetup NoticeKind = "setup"
)

// NoticeKinds lists the kinds in menu order.
var NoticeKinds = []NoticeKind{NoticeAttention, NoticeFailover, NoticeAllDown, NoticeRecovery, NoticeSetup}

var noticeKindLabels = map[NoticeKind]string{
	NoticeAttention: "Provider needs attention",
	NoticeFailover:  "Failovers",
	NoticeAllDown:   "All providers down",
	NoticeRecovery:  "Recoveries",
	NoticeSetup:     "Configuration and start-up problems",
}

// DefaultNotify is which kinds are on before the user chooses.
func DefaultNotify() map[NoticeKind]bool {
	m := map[NoticeKind]bool{}
	for _, k := range NoticeKinds {
		m[k] = k != NoticeRecovery
	}
	return m
}

// batcher turns proxy events into notices. It has no clock and no goroutine:
// Add takes the time of the event, Flush returns what one burst of events
// amounts to. It renders what the events say and invents nothing: a state
// with no end is shown without one. Its rules:
//   - a provider leaving rotation is announced once per state it enters;
//     the same state again (a renewed cooldown) stays quiet until the
//     provider returns or its state's end has passed;
//   - a return is announced only for a departure that was announced, and a
//     departure and return within one burst cancel out;
//   - "all providers down" is announced once until some provider returns;
//   - a setup problem is announced once until it changes;
//   - everything in one burst becomes a single notice.
type batcher struct {
	// announced holds, per provider, the state whose departure was announced
	// and when that state ends (zero: no timer).
	announced map[string]outState
	allDown   bool
	setup     proxy.Event // the last setup event seen
	problem   bool        // a setup problem was announced since the last ready

	pending pendingBurst
}

type outState struct {
	state health.State
	until time.Time
}

// out is a provider leaving rotation, as announced.
type out struct {
	provider, reason, next string
	state                  health.State
	// left is how long the state lasts (zero: no timer); until is its end.
	left  time.Duration
	until time.Time
}

type recovery struct{ provider, reason string }

type pendingBurst struct {
	outs        []*out
	recoveries  []recovery
	allDown     string // reason
	allDownSet  bool
	reloadError string
	reloadSet   bool
	setup       *proxy.Event
}

func (p *pendingBurst) empty() bool {
	return len(p.outs) == 0 && len(p.recoveries) == 0 && !p.allDownSet && !p.reloadSet && p.setup == nil
}

func (p *pendingBurst) out(provider string) *out {
	for _, o := range p.outs {
		if o.provider == provider {
			return o
		}
	}
	return nil
}

func newBatcher() *batcher {
	return &batcher{announced: map[string]outState{}}
}

// Add records an event seen at now. It reports whether a notice is now
// pending, which starts a burst if none was open.
func (b *batcher) Add(e proxy.Event, now time.Time) bool {
	switch e.Kind {
	case proxy.EventProviderState:
		if e.State == health.StateHealthy {
			b.recovered(e)
		} else {
			b.left(e, now)
		}
	case proxy.EventFailover:
		if e.State != "" {
			// A failover that changed no state (a 404, a request the
			// provider cannot take) is one request's business, not news.
			b.left(e, now)
		}
	case proxy.EventAllDown:
		if !b.allDown {
			b.allDown = true
			b.pending.allDown, b.pending.allDownSet = e.Reason, true
		}
	case proxy.EventConfigReloadFailed:
		b.pending.reloadError, b.pending.reloadSet = e.Reason, true
	case supervisor.EventNotSetUp, supervisor.EventConfigError, supervisor.EventListenError, supervisor.EventReady:
		b.setupEvent(e)
	}
	return !b.pending.empty()
}

// left records a provider leaving rotation (a state event or a failover).
func (b *batcher) left(e proxy.Event, now time.Time) {
	var left time.Duration
	if !e.Until.IsZero() {
		left = max(e.Until.Sub(e.Time), 0)
	}
	if o := b.pending.out(e.Provider); o != nil {
		// The same departure seen twice (state event and failover event):
		// merge what each knows.
		if e.Next != "" {
			o.next = e.Next
		}
		if !e.Until.IsZero() {
			o.left, o.until = left, e.Until
		}
		if e.State != o.state && stateRank(e.State) > stateRank(o.state) {
			o.state, o.reason = e.State, e.Reason
		}
		b.announced[e.Provider] = outState{o.state, o.until}
		return
	}
	if a, ok := b.announced[e.Provider]; ok && a.state == e.State && (a.until.IsZero() || now.Before(a.until)) {
		// Announced already: a renewed cooldown is not news.
		b.announced[e.Provider] = outState{e.State, e.Until}
		return
	}
	b.announced[e.Provider] = outState{e.State, e.Until}
	b.pending.outs = append(b.pending.outs, &out{
		provider: e.Provider, reason: e.Reason, next: e.Next, state: e.State, left: left, until: e.Until,
	})
}

// stateRank orders the states that keep a provider out, as health does.
func stateRank(s health.State) int {
	switch s {
	case health.StateCooling:
		return 1
	case health.StateRateLimited, health.StateBudgetReached:
		return 2
	case health.StateNeedsAttention:
		return 3
	}
	return 0
}

func (b *batcher) recovered(e proxy.Event) {
	b.allDown = false
	if _, ok := b.announced[e.Provider]; !ok {
		return
	}
	delete(b.announced, e.Provider)
	for i, o := range b.pending.outs {
		if o.provider == e.Provider {
			// Gone and back within one burst: nothing to tell.
			b.pending.outs = append(b.pending.outs[:i], b.pending.outs[i+1:]...)
			return
		}
	}
	b.pending.recoveries = append(b.pending.recoveries, recovery{e.Provider, e.Reason})
}

func (b *batcher) setupEvent(e proxy.Event) {
	if e.Kind == b.setup.Kind && e.Reason == b.setup.Reason {
		return
	}
	b.setup = e
	if e.Kind == supervisor.EventReady {
		if !b.problem {
			b.pending.setup = nil
			return
		}
		b.problem = false
	} else {
		b.problem = true
	}
	b.pending.setup = &e
}

// section is one kind's part of a notice.
type section struct {
	kind NoticeKind
	Notice
}

// Flush returns the notice for the events added since the last Flush, with
// the kinds that on says are off left out, and false when nothing remains.
// configPath shortens file names in errors to their base names.
func (b *batcher) Flush(on map[NoticeKind]bool, configPath string) (Notice, bool) {
	p := b.pending
	b.pending = pendingBurst{}
	if p.allDownSet && len(p.recoveries) > 0 {
		// Something came back within the burst: not all down any more.
		p.allDownSet = false
	}
	var sections []section
	if p.setup != nil {
		sections = append(sections, setupNotice(*p.setup, configPath))
	}
	if p.reloadSet {
		sections = append(sections, section{NoticeSetup, Notice{
			Title: "Configuration reload failed",
			Body:  shortError(shortPaths(p.reloadError, configPath)) + "\nThe previous configuration keeps serving.",
			Icon:  assets.Attention,
		}})
	}
	var attention, failovers []*out
	for _, o := range p.outs {
		if o.state == health.StateNeedsAttention {
			attention = append(attention, o)
		} else {
			failovers = append(failovers, o)
		}
	}
	if p.allDownSet {
		var lines []string
		for _, o := range p.outs {
			lines = append(lines, outLine(o, false))
		}
		if len(lines) == 0 && p.allDown != "" {
			lines = append(lines, "Last error: "+shortError(p.allDown))
		}
		lines = append(lines, "Requests fail until a provider is back.")
		sections = append(sections, section{NoticeAllDown, Notice{Title: "All providers down", Body: strings.Join(lines, "\n"), Icon: assets.Down}})
		// The outage notice names every departure already.
		attention, failovers = nil, nil
	}
	switch len(attention) {
	case 0:
	case 1:
		o := attention[0]
		body := []string{o.reason, "Its key was rejected or its account has no credit: fix it in the configuration, then choose Retry now."}
		if o.next != "" {
			body = append(body, "Requests go to "+o.next+" meanwhile.")
		}
		sections = append(sections, section{NoticeAttention, Notice{
			Title: "Provider " + o.provider + " needs attention", Body: strings.Join(body, "\n"), Icon: assets.Attention,
		}})
	default:
		var names, lines []string
		for _, o := range attention {
			names = append(names, o.provider)
			lines = append(lines, o.provider+": "+shortError(o.reason))
		}
		lines = append(lines, "Their keys were rejected or their accounts have no credit: fix them in the configuration, then choose Retry now.")
		sections = append(sections, section{NoticeAttention, Notice{
			Title: "Providers " + strings.Join(names, ", ") + " need attention", Body: strings.Join(lines, "\n"), Icon: assets.Attention,
		}})
	}
	switch len(failovers) {
	case 0:
	case 1:
		o := failovers[0]
		sections = append(sections, section{NoticeFailover, Notice{Title: outLine(o, true), Body: outBody(o), Icon: assets.Degraded}})
	default:
		var lines []string
		for _, o := range failovers {
			lines = append(lines, outLine(o, true))
		}
		sections = append(sections, section{NoticeFailover, Notice{
			Title: fmt.Sprintf("%d providers out of rotation", len(failovers)), Body: strings.Join(lines, "\n"), Icon: assets.Degraded,
		}})
	}
	if len(p.recoveries) > 0 {
		var names []string
		for _, r := range p.recoveries {
			names = append(names, r.provider)
		}
		n := Notice{Title: "Back in rotation: " + strings.Join(names, ", "), Icon: assets.Healthy}
		if len(p.recoveries) == 1 && p.recoveries[0].reason != "" {
			n.Body = p.recoveries[0].provider + ": " + p.recoveries[0].reason + "."
		}
		sections = append(sections, section{NoticeRecovery, n})
	}

	var shown []Notice
	for _, s := range sections {
		if on[s.kind] {
			shown = append(shown, s.Notice)
		}
	}
	switch len(shown) {
	case 0:
		return Notice{}, false
	case 1:
		return shown[0], true
	}
	// Several kinds in one burst: the first (most urgent) leads, the others
	// follow in the body.
	n := shown[0]
	for _, s := range shown[1:] {
		n.Body += "\n" + s.Title + "."
		if s.Body != "" {
			n.Body += " " + strings.ReplaceAll(s.Body, "\n", " ")
		}
	}
	return n, true
}

// setupNotice says what is wrong with the setup, or that it is fixed.
func setupNotice(e proxy.Event, configPath string) section {
	n := Notice{Icon: assets.Attention}
	switch e.Kind {
	case supervisor.EventNotSetUp:
		n.Title = "ccbalancer is not set up"
		n.Body = "No configuration file (" + configPath + ").\nChoose Create configuration… in the tray menu, or run ccbalancer init."
	case supervisor.EventConfigError:
		lines := strings.Split(shortPaths(e.Reason, configPath), "\n")
		if len(lines) > maxProblemLines {
			lines = append(lines[:maxProblemLines], fmt.Sprintf("…and %d more", len(lines)-maxProblemLines))
		}
		n.Title = "The configuration has errors"
		n.Body = strings.Join(lines, "\n") + "\nThe proxy starts once the file loads."
	case supervisor.EventListenError:
		n.Title = "The proxy could not start"
		n.Body = e.Reason + "\nChange settings.port or stop the program using the port, then choose Start proxy."
	case supervisor.EventReady:
		n.Title = "ccbalancer is serving"
		n.Body = "ANTHROPIC_BASE_URL=" + BaseURL(e.Reason)
		n.Icon = assets.Healthy
	}
	return section{NoticeSetup, n}
}

// stateWords says how a provider is out: "cooling down", "rate limited".
func stateWords(s health.State) string {
	switch s {
	case health.StateCooling:
		return "cooling down"
	case health.StateRateLimited:
		return "rate limited"
	case health.StateBudgetReached:
		return "at its budget"
	case health.StateNeedsAttention:
		return "needs attention"
	}
	return strings.ReplaceAll(string(s), "_", " ")
}

// outLine says what happened to one provider: "Provider A failed: HTTP 529
// — switched to B".
func outLine(o *out, withNext bool) string {
	var s string
	switch o.state {
	case health.StateCooling:
		s = "Provider " + o.provider + " failed"
	default:
		s = "Provider " + o.provider + " " + stateWords(o.state)
	}
	if o.reason != "" {
		s += ": " + shortError(o.reason)
	}
	if withNext && o.next != "" {
		s += " — switched to " + o.next
	}
	return s
}

// outBody says for how long, as the event said, and where requests go.
func outBody(o *out) string {
	s := o.provider + " is " + stateWords(o.state)
	switch {
	case o.left <= 0:
	case o.left >= time.Hour:
		s += " until " + proxy.UntilText(o.until, o.until.Add(-o.left))
	default:
		s += " for " + roundDuration(o.left)
	}
	if o.next != "" {
		return s + "; requests go to " + o.next + "."
	}
	return s + "."
}

// roundDuration prints a duration the way people say it: "90s", "5m", "1h30m0s".
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
