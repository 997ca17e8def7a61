package main

import (
	"slices"
	"time"
)

// percentile returns the nearest-rank q-quantile (0 < q <= 1) of sorted durations,
// or 0 when there are none.
func percentile(sorted []time.Duration, q float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(q*float64(n)+0.999999999) - 1 // ceil(q*n) - 1
	rank = min(max(rank, 0), n-1)
	return sorted[rank]
}

// median returns the median of xs (the mean of the middle two for an even count),
// or 0 when there are none. xs is not modified.
func median(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// errorCounts classifies failed requests.
type errorCounts struct {
	Status    int // an answer other than 200
	Transport int // no answer at all (connect or write failure, reset before headers)
	Cut       int // the body ended with a read error (an aborted stream or response)
	NoStop    int // a stream that ended cleanly without message_stop: a silent truncation
}

// Total is the number of failed requests.
func (e errorCounts) Total() int { return e.Status + e.Transport + e.Cut + e.NoStop }

func (e *errorCounts) add(o errorCounts) {
	e.Status += o.Status
	e.Transport += o.Transport
	e.Cut += o.Cut
	e.NoStop += o.NoStop
}

// window is what one closed-loop load window against one target measured.
type window struct {
	Requests int // completed successfully
	Errors   errorCounts
	Elapsed  time.Duration
	Latency  []time.Duration // successful requests, sorted
	TTFB     []time.Duration // first body byte, successful requests, sorted
	CPU      time.Duration   // user+system time of the target's process, 0 if unknown
	PeakRSS  int64           // bytes, the process's high-water mark during the window, 0 if unknown
	Bunched  int             // complete streams whose events arrived in a burst (see bunched)
}

// RPS is successful requests per second.
func (w window) RPS() float64 {
	if w.Elapsed <= 0 {
		return 0
	}
	return float64(w.Requests) / w.Elapsed.Seconds()
}

// CPUPerRequest is the target process's CPU time per request (successful or not).
func (w window) CPUPerRequest() time.Duration {
	n := w.Requests + w.Errors.Total()
	if n == 0 || w.CPU == 0 {
		return 0
	}
	return w.CPU / time.Duration(n)
}
