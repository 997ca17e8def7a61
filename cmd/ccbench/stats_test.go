package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ms(ns ...int) []time.Duration {
	out := make([]time.Duration, len(ns))
	for i, n := range ns {
		out[i] = time.Duration(n) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", ms(7), 0.99, 7 * time.Millisecond},
		{"median of odd count", ms(1, 2, 3, 4, 5), 0.5, 3 * time.Millisecond},
		{"median of even count is the lower middle", ms(1, 2, 3, 4), 0.5, 2 * time.Millisecond},
		{"p99 of 100 is the 99th", ms(seq(100)...), 0.99, 99 * time.Millisecond},
		{"p99 of 10 is the largest", ms(seq(10)...), 0.99, 10 * time.Millisecond},
		{"p100", ms(1, 2, 3), 1, 3 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.q); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.sorted, tt.q, got, tt.want)
			}
		})
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

func TestMedian(t *testing.T) {
	tests := []struct {
		xs   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{5}, 5},
		{[]float64{9, 1, 5}, 5},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		in := append([]float64(nil), tt.xs...)
		if got := median(tt.xs); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.xs, got, tt.want)
		}
		if diff := cmp.Diff(in, tt.xs); diff != "" {
			t.Errorf("median modified its input (-want +got):\n%s", diff)
		}
	}
}

// TestCellStat checks that differences and ratios are taken within each round before
// the median: a slow round for every target must not show up as added latency.
func TestCellStat(t *testing.T) {
	win := func(rps float64, p50 time.Duration) window {
		return window{Requests: int(rps), Elapsed: time.Second, Latency: []time.Duration{p50}, TTFB: []time.Duration{p50 / 2}}
	}
	c := cell{Scenario: "small", Conc: 1, Windows: map[string][]window{
		nameDirect:     {win(1000, 100*time.Microsecond), win(500, 900*time.Microsecond), win(1000, 100*time.Microsecond)},
		nameBare:       {win(800, 150*time.Microsecond), win(400, 950*time.Microsecond), win(800, 150*time.Microsecond)},
		nameCCBalancer: {win(760, 160*time.Microsecond), win(380, 960*time.Microsecond), win(760, 160*time.Microsecond)},
	}}
	got := c.stat(nameCCBalancer)
	if got.Added50 != 60*time.Microsecond {
		t.Errorf("Added50 = %v, want 60µs", got.Added50)
	}
	if got.VsBare != 0.95 {
		t.Errorf("VsBare = %v, want 0.95", got.VsBare)
	}
	if got.P50 != 160*time.Microsecond {
		t.Errorf("P50 = %v, want 160µs", got.P50)
	}
}
