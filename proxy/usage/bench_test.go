package usage

import (
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkLedger is the whole cost of one record: Add on the request's
// goroutine, and its share of a batched write (a Flush every 256 records,
// so that none is dropped for a full queue).
func BenchmarkLedger(b *testing.B) {
	l, err := Open(filepath.Join(b.TempDir(), "usage.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	r := Record{Route: "*sonnet*", Provider: "primary", ModelAsked: "claude-sonnet-5", ModelSent: "claude-sonnet-5",
		Stream: true, Status: 200, Tokens: Tokens{Input: 1200, Output: 300, CacheRead: 40000, CacheWrite: 900},
		TTFB: 300 * time.Millisecond, Took: 4 * time.Second, Cost: 0.0123, Priced: true}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		r.Time = time.Now()
		l.Add(r)
		if n++; n%256 == 0 {
			l.Flush()
		}
	}
	l.Flush()
	if d := l.dropped.Load(); d > 0 {
		b.Fatalf("%d records dropped", d)
	}
}

// BenchmarkAdd is the part a request pays itself: the running totals and
// the hand-off to the ledger's goroutine.
func BenchmarkAdd(b *testing.B) {
	l, err := Open(filepath.Join(b.TempDir(), "usage.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	r := Record{Provider: "primary", Status: 200, Tokens: Tokens{Input: 1200, Output: 300}, Cost: 0.01, Priced: true}
	b.ReportAllocs()
	for b.Loop() {
		r.Time = time.Now()
		l.totals.add(l, r)
	}
}
