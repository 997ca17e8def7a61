package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// resources are ccbalancer's figures at one moment.
type resources struct {
	RSS        int64 // resident set, bytes
	HeapInUse  int64 // Go heap spans in use, bytes
	Goroutines int
	FDs        int // open file descriptors
}

func (r *resources) max(o resources) {
	r.RSS = max(r.RSS, o.RSS)
	r.HeapInUse = max(r.HeapInUse, o.HeapInUse)
	r.Goroutines = max(r.Goroutines, o.Goroutines)
	r.FDs = max(r.FDs, o.FDs)
}

// monitor samples a ccbalancer process: resident memory and descriptors
// from /proc, goroutines from its /metrics.
type monitor struct {
	pid  int
	base string
	mu   sync.Mutex
	peak resources
}

func (m *monitor) sample() resources {
	var r resources
	r.RSS, _, _ = procMem(m.pid)
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", m.pid)); err == nil {
		r.FDs = len(ents)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	if resp, err := c.Get(m.base + "/metrics"); err == nil {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
				r.Goroutines, _ = strconv.Atoi(strings.TrimSpace(v))
			}
			if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_heap_inuse_bytes "); ok {
				f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
				r.HeapInUse = int64(f)
			}
		}
		resp.Body.Close()
	}
	m.mu.Lock()
	m.peak.max(r)
	m.mu.Unlock()
	return r
}

func (m *monitor) watch(ctx interface{ Done() <-chan struct{} }, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.sample()
		}
	}
}

func renderSoak(r *soakResults) string {
	var b strings.Builder
	f := r.Flags
	fmt.Fprintf(&b, "## Soak: %s of load, %d clients, config reloaded every %s\n\n", f.duration, f.conc, f.reloadEvery)
	fmt.Fprintf(&b, "%s; %s; `ccbench soak -duration %s -conc %d`\n\n", r.Version, machine(), f.duration, f.conc)
	fmt.Fprintf(&b, "| requests | looked complete but were not | hangs |\n|---:|---:|---:|\n| %d | %d | %d |\n\n", r.Requests, r.FalseComplete, r.Hangs)
	b.WriteString("| outcome of a load request | count |\n|---|---:|\n")
	for _, k := range sortedKeys(r.Outcomes) {
		fmt.Fprintf(&b, "| %s | %d |\n", k, r.Outcomes[k])
	}
	b.WriteString("\n| fault injected by the providers | count |\n|---|---:|\n")
	for k, n := range r.Faults {
		fmt.Fprintf(&b, "| %s | %d |\n", faultNames[k], n)
	}
	b.WriteString("\n| configuration reload | count |\n|---|---:|\n")
	for _, k := range sortedKeys(r.Reloads) {
		fmt.Fprintf(&b, "| %s | %d |\n", k, r.Reloads[k])
	}
	b.WriteString("\n| abusive client: outcome | count | longest |\n|---|---:|---:|\n")
	for _, k := range sortedKeys(r.Abuse) {
		fmt.Fprintf(&b, "| %s | %d | %s |\n", k, r.Abuse[k], r.AbuseLongest[k].Round(10*time.Millisecond))
	}
	fmt.Fprintf(&b, "\n| ccbalancer | start | peak | end (%s after the load) |\n|---|---:|---:|---:|\n", f.settle)
	fmt.Fprintf(&b, "| resident memory | %s | %s | %s |\n", mib(r.Start.RSS), mib(r.Peak.RSS), mib(r.End.RSS))
	fmt.Fprintf(&b, "| Go heap in use | %s | %s | %s |\n", mib(r.Start.HeapInUse), mib(r.Peak.HeapInUse), mib(r.End.HeapInUse))
	fmt.Fprintf(&b, "| goroutines | %d | %d | %d |\n", r.Start.Goroutines, r.Peak.Goroutines, r.End.Goroutines)
	fmt.Fprintf(&b, "| open file descriptors | %d | %d | %d |\n", r.Start.FDs, r.Peak.FDs, r.End.FDs)
	return b.String()
}
