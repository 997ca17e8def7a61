package usage

import (
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/ccbalancer/ccbalancer/config"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func TestCost(t *testing.T) {
	got := Cost(Tokens{Input: 1_000_000, Output: 2_000_000, CacheRead: 10_000_000, CacheWrite: 400_000},
		config.Prices{Input: 3, Output: 15, CacheRead: 0.3, CacheWrite: 3.75})
	if want := 3 + 30 + 3 + 1.5; math.Abs(got-want) > 1e-9 {
		t.Errorf("Cost = %v, want %v", got, want)
	}
}

// TestLedgerSurvivesRestart: records written before Close are there after
// Open, in the summaries and in the day's and month's totals; records past
// the retention are gone.
func TestLedgerSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "usage.db")
	utc := time.UTC
	clk := &clock{t: time.Date(2026, 12, 15, 12, 0, 0, 0, utc)}
	opts := Options{Now: clk.now, Location: utc, Retention: 30 * 24 * time.Hour}
	l, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	add := func(at time.Time, provider, model string, tok Tokens, cost float64) {
		l.Add(Record{Time: at, Route: "*", Provider: provider, ModelAsked: "claude-sonnet-5", ModelSent: model,
			Status: 200, Tokens: tok, Cost: cost, Priced: cost > 0, TTFB: time.Millisecond, Took: time.Second})
	}
	now := clk.now()
	add(now.Add(-40*24*time.Hour), "A", "m1", Tokens{Input: 1000}, 9) // past the retention
	add(now.Add(-10*24*time.Hour), "A", "m1", Tokens{Input: 10, Output: 5}, 0.5)
	add(now.Add(-time.Hour), "A", "m2", Tokens{Input: 20, Output: 6, CacheRead: 100, CacheWrite: 7}, 1)
	add(now, "B", "m2", Tokens{Input: 1, Output: 1}, 0)
	l.Add(Record{Time: now, Route: "*", ModelAsked: "claude-sonnet-5", Status: 503, Error: "no provider"})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l, err = Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rows, err := l.Summary(t.Context(), time.Time{}, ByProvider)
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{
		{Key: "", Requests: 1, Errors: 1},
		{Key: "A", Requests: 2, Input: 30, Output: 11, CacheRead: 100, CacheWrite: 7, CostUSD: 1.5},
		{Key: "B", Requests: 1, Input: 1, Output: 1},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("by provider (-want +got):\n%s", diff)
	}
	rows, _ = l.Summary(t.Context(), now.Add(-2*time.Hour), ByModel)
	want = []Row{
		// No provider answered: the model asked.
		{Key: "claude-sonnet-5", Requests: 1, Errors: 1},
		{Key: "m2", Requests: 2, Input: 21, Output: 7, CacheRead: 100, CacheWrite: 7, CostUSD: 1},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("by model since 2h (-want +got):\n%s", diff)
	}
	rows, _ = l.Summary(t.Context(), time.Time{}, ByDay)
	if len(rows) != 2 || rows[0].Key != "2026-12-05" || rows[1].Key != "2026-12-15" || rows[1].Requests != 3 {
		t.Errorf("by day: %+v", rows)
	}
	if _, err := l.Summary(t.Context(), time.Time{}, "color"); err == nil {
		t.Error("an unknown grouping was accepted")
	}
	day, month, _ := l.Totals("A")
	if day.Requests != 1 || day.CostUSD != 1 || month.Requests != 2 || month.CostUSD != 1.5 || month.Input != 30 {
		t.Errorf("A's totals after the restart: day %+v, month %+v", day, month)
	}
	// The next day starts a new day window, not a new month.
	clk.set(time.Date(2026, 12, 16, 0, 0, 1, 0, utc))
	day, month, _ = l.Totals("A")
	if day.Requests != 0 || month.Requests != 2 {
		t.Errorf("after midnight: day %+v, month %+v", day, month)
	}
	l.Add(Record{Time: clk.now(), Provider: "A", Status: 200, Cost: 2, Priced: true})
	day, month, life := l.Totals("A")
	if day.CostUSD != 2 || month.CostUSD != 3.5 || life.Requests != 1 {
		t.Errorf("after a new record: day %+v, month %+v, since open %+v", day, month, life)
	}
	dayEnd, monthEnd := l.Windows()
	if !dayEnd.Equal(time.Date(2026, 12, 17, 0, 0, 0, 0, utc)) || !monthEnd.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, utc)) {
		t.Errorf("windows end %v and %v", dayEnd, monthEnd)
	}
}

// TestLedgerInMemory: ":memory:" works and keeps nothing on disk.
func TestLedgerInMemory(t *testing.T) {
	l, err := Open(":memory:", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Add(Record{Time: time.Now(), Provider: "A", Status: 200, Tokens: Tokens{Output: 3}})
	rows, err := l.Summary(t.Context(), time.Time{}, ByProvider)
	if err != nil || len(rows) != 1 || rows[0].Output != 3 {
		t.Errorf("rows %+v, %v", rows, err)
	}
}
