package route

import (
	"testing"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy/health"
)

// benchRoutes is a config of the size people write: a few exact models and globs.
func benchRoutes() []config.Route {
	entries := []config.RouteEntry{
		{Provider: "primary", Model: config.Passthrough, Priority: 1},
		{Provider: "secondary", Model: "anthropic/claude-sonnet-4", Priority: 2},
		{Provider: "tertiary", Model: "google/gemini-2.5-pro", Priority: 3},
	}
	return []config.Route{
		{Pattern: "claude-3-5-haiku-20241022", Entries: entries},
		{Pattern: "claude-opus-4-8", Entries: entries},
		{Pattern: "*haiku*", Entries: entries},
		{Pattern: "*opus*", Entries: entries},
		{Pattern: "*sonnet*", Entries: entries},
		{Pattern: "claude-?-*", Entries: entries},
	}
}

func BenchmarkMatch(b *testing.B) {
	t := NewTable(benchRoutes(), "")
	for _, model := range []string{"claude-opus-4-8", "claude-sonnet-5", "Claude-Sonnet-5", "gpt-unknown"} {
		b.Run(model, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if r, _ := t.Match(model); r == nil {
					b.Fatal("no route")
				}
			}
		})
	}
}

// fixedHealth has one provider cooling down.
type fixedHealth struct{ until time.Time }

func (h fixedHealth) State(p string) (health.State, time.Time) {
	if p == "tertiary" {
		return health.StateCooling, h.until
	}
	return health.StateHealthy, time.Time{}
}

func BenchmarkOrder(b *testing.B) {
	routes := benchRoutes()
	r := &routes[4]
	h := fixedHealth{until: time.Now().Add(time.Hour)}
	for _, strategy := range config.Strategies {
		b.Run(string(strategy), func(b *testing.B) {
			s := NewSelector()
			s.Served("00000000-0000-4000-8000-000000000000", "secondary")
			b.ReportAllocs()
			for b.Loop() {
				if got := s.Order(r, strategy, "00000000-0000-4000-8000-000000000000", h); len(got) != 3 {
					b.Fatalf("%d entries", len(got))
				}
			}
		})
	}
}

// BenchmarkSelectAndServe is the per-request routing work: match, order, record.
func BenchmarkSelectAndServe(b *testing.B) {
	t := NewTable(benchRoutes(), "")
	s := NewSelector()
	h := fixedHealth{}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, _ := t.Match("claude-sonnet-5")
			e := s.Order(r, config.StrategyRoundRobin, "00000000-0000-4000-8000-000000000000", h)
			s.Served("00000000-0000-4000-8000-000000000000", e[0].Provider)
		}
	})
}

func (fixedHealth) NearLimit(string) bool { return false }
