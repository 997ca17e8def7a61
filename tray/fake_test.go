package tray

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ccbalancer/ccbalancer/assets"
	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy"
	"github.com/ccbalancer/ccbalancer/proxy/health"
	"github.com/ccbalancer/ccbalancer/supervisor"
)

// fakeBackend records what the view asks a tray library to do.
type fakeBackend struct {
	icon    assets.State
	tooltip string
	items   map[int]*fakeItem
	top     []int
	next    int
	resets  int
	adds    int
	calls   []string // Update calls, "label" of each
}

type fakeItem struct {
	item     Item
	children []int
}

func newFakeBackend() *fakeBackend { return &fakeBackend{items: map[int]*fakeItem{}} }

func (f *fakeBackend) SetIcon(s assets.State) { f.icon = s }
func (f *fakeBackend) SetTooltip(t string)    { f.tooltip = t }
func (f *fakeBackend) Reset() {
	f.resets++
	f.items = map[int]*fakeItem{}
	f.top = nil
}

func (f *fakeBackend) Add(parent int, it Item) int {
	f.adds++
	f.next++
	f.items[f.next] = &fakeItem{item: it}
	f.attach(parent, f.next)
	return f.next
}

func (f *fakeBackend) AddSeparator(parent int) {
	f.next++
	f.items[f.next] = &fakeItem{item: Item{Separator: true}}
	f.attach(parent, f.next)
}

func (f *fakeBackend) attach(parent, id int) {
	if parent == 0 {
		f.top = append(f.top, id)
		return
	}
	p := f.items[parent]
	p.children = append(p.children, id)
}

func (f *fakeBackend) Update(h int, it Item) {
	f.calls = append(f.calls, it.Label)
	f.items[h].item = it
}

// tree renders what the backend shows, as BuildMenu's model would be.
func (f *fakeBackend) tree() []Item {
	var build func(ids []int) []Item
	build = func(ids []int) []Item {
		var out []Item
		for _, id := range ids {
			fi := f.items[id]
			it := fi.item
			it.Children = build(fi.children)
			out = append(out, it)
		}
		return out
	}
	return build(f.top)
}

// fakeServer is a supervisor the tray can drive, with a snapshot the test sets.
type fakeServer struct {
	mu      sync.Mutex
	snap    supervisor.Snapshot
	calls   []string
	failOn  string
	subs    []chan proxy.Event
	stopCtx context.Context
	// stopGate, when set, holds Stop (after the listener closed) until it
	// is closed: answers still running.
	stopGate chan struct{}
}

func newFakeServer() *fakeServer {
	return &fakeServer{snap: supervisor.Snapshot{Snapshot: proxy.Snapshot{
		Listen:     "127.0.0.1:8080",
		Running:    true,
		Strategy:   config.StrategyPriority,
		ConfigPath: "/home/me/.config/ccbalancer/providers.yaml",
		LogFile:    "/home/me/.local/state/ccbalancer/ccbalancer.jsonl",
		Providers: []proxy.ProviderStatus{
			{Name: "A", Type: config.TypeAnthropic, BaseURL: "https://a.example", Enabled: true, State: health.StateHealthy, Healthy: true, Requests: 3},
			{Name: "B", Type: config.TypeOpenAI, BaseURL: "https://b.example", Enabled: true, State: health.StateHealthy, Healthy: true},
		},
		Routes: 1,
	}}}
}

func (s *fakeServer) record(call string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, call)
	if s.failOn == call {
		return errors.New(call + " failed")
	}
	return nil
}

func (s *fakeServer) Snapshot() supervisor.Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := s.snap
	snap.Providers = append([]proxy.ProviderStatus(nil), s.snap.Providers...)
	return snap
}

func (s *fakeServer) set(f func(*supervisor.Snapshot)) {
	s.mu.Lock()
	f(&s.snap)
	s.mu.Unlock()
}

func (s *fakeServer) Subscribe() (<-chan proxy.Event, func()) {
	ch := make(chan proxy.Event, 16)
	s.mu.Lock()
	s.subs = append(s.subs, ch)
	s.mu.Unlock()
	var once sync.Once
	return ch, func() { once.Do(func() { close(ch) }) }
}

func (s *fakeServer) Start() error {
	if err := s.record("start"); err != nil {
		return err
	}
	s.set(func(p *supervisor.Snapshot) { p.Running = true })
	return nil
}

func (s *fakeServer) Stop(ctx context.Context) error {
	s.mu.Lock()
	s.stopCtx = ctx
	s.mu.Unlock()
	if err := s.record("stop"); err != nil {
		return err
	}
	s.set(func(p *supervisor.Snapshot) { p.Running = false })
	if s.stopGate != nil {
		<-s.stopGate
	}
	return nil
}

func (s *fakeServer) Addr() string { return s.Snapshot().Listen }

func (s *fakeServer) RetryNow(p string) error { return s.record("retry " + p) }

func (s *fakeServer) SetStrategy(st config.Strategy) error {
	if err := s.record("strategy " + string(st)); err != nil {
		return err
	}
	s.set(func(p *supervisor.Snapshot) { p.Strategy = st })
	return nil
}

func (s *fakeServer) Reload() error { return s.record("reload") }

func (s *fakeServer) CreateConfig() (string, error) {
	return s.Snapshot().ConfigPath, s.record("create")
}

func (s *fakeServer) callLog() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.calls, ", ")
}

// fakeAutostart is a start-at-login entry in memory.
type fakeAutostart struct {
	on  bool
	err error
}

func (a *fakeAutostart) Enabled() (bool, error) { return a.on, a.err }
func (a *fakeAutostart) Enable() error          { a.on = true; return a.err }
func (a *fakeAutostart) Disable() error         { a.on = false; return a.err }

// desk records what the tray asks of the desktop.
type desk struct {
	mu      sync.Mutex
	notices []Notice
	opened  []string
	copied  []string
	copyErr error
}

func (d *desk) notify(n Notice) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.notices = append(d.notices, n)
	return nil
}

func (d *desk) open(p string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.opened = append(d.opened, p)
	if strings.Contains(p, "missing") {
		return fmt.Errorf("no such file")
	}
	return nil
}

func (d *desk) copy(s string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.copied = append(d.copied, s)
	return d.copyErr
}

func (d *desk) options(a Autostart) Options {
	return Options{Logger: discard, Autostart: a, Notify: d.notify, Open: d.open, Copy: d.copy, StopGrace: time.Second}
}

func (d *desk) got() []Notice {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Notice(nil), d.notices...)
}
