package main

import (
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// cellStat is one target's figures in one cell: medians over the rounds.
type cellStat struct {
	RPS       float64
	VsBare    float64 // RPS / BARE's RPS, median of per-round ratios; 0 if no BARE
	P50, P99  time.Duration
	Added50   time.Duration // p50 - DIRECT's p50, median of per-round differences
	TTFB50    time.Duration
	AddedTTFB time.Duration
	Errors    errorCounts // summed over rounds
	CPUPerReq time.Duration
	PeakRSS   int64 // max over rounds
	Bunched   int   // summed over rounds
	HasDirect bool
}

func medianDur(xs []time.Duration) time.Duration {
	f := make([]float64, len(xs))
	for i, x := range xs {
		f[i] = float64(x)
	}
	return time.Duration(median(f))
}

// stat folds a cell's rounds for one target. Differences and ratios are taken within
// a round first, then the median is taken, so noise common to a round cancels out.
func (c cell) stat(name string) cellStat {
	ws := c.Windows[name]
	direct, bare := c.Windows[nameDirect], c.Windows[nameBare]
	var s cellStat
	var rps, ratio []float64
	var p50, p99, ttfb, add50, addTTFB, cpu []time.Duration
	for i, w := range ws {
		rps = append(rps, w.RPS())
		p50 = append(p50, percentile(w.Latency, 0.5))
		p99 = append(p99, percentile(w.Latency, 0.99))
		ttfb = append(ttfb, percentile(w.TTFB, 0.5))
		if i < len(direct) {
			add50 = append(add50, percentile(w.Latency, 0.5)-percentile(direct[i].Latency, 0.5))
			addTTFB = append(addTTFB, percentile(w.TTFB, 0.5)-percentile(direct[i].TTFB, 0.5))
		}
		if i < len(bare) && bare[i].RPS() > 0 {
			ratio = append(ratio, w.RPS()/bare[i].RPS())
		}
		if w.CPUPerRequest() > 0 {
			cpu = append(cpu, w.CPUPerRequest())
		}
		s.Errors.add(w.Errors)
		s.Bunched += w.Bunched
		s.PeakRSS = max(s.PeakRSS, w.PeakRSS)
	}
	s.RPS, s.VsBare = median(rps), median(ratio)
	s.P50, s.P99, s.TTFB50 = medianDur(p50), medianDur(p99), medianDur(ttfb)
	s.Added50, s.AddedTTFB, s.CPUPerReq = medianDur(add50), medianDur(addTTFB), medianDur(cpu)
	s.HasDirect = len(add50) > 0
	return s
}

// ratio is a's throughput over b's in one cell: the median of per-round
// ratios, 0 when either was not measured.
func (c cell) ratio(a, b string) float64 {
	wa, wb := c.Windows[a], c.Windows[b]
	var rs []float64
	for i := range min(len(wa), len(wb)) {
		if wb[i].RPS() > 0 {
			rs = append(rs, wa[i].RPS()/wb[i].RPS())
		}
	}
	if len(rs) == 0 {
		return 0
	}
	return median(rs)
}

// fmtDur prints a duration in µs below 10 ms, else in ms.
func fmtDur(d time.Duration) string {
	if d < 0 {
		return "-" + fmtDur(-d)
	}
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%d µs", d.Microseconds())
	}
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

func fmtAdded(d time.Duration) string {
	if d >= 0 {
		return "+" + fmtDur(d)
	}
	return fmtDur(d)
}

func mib(b int64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

func fmtErrors(e errorCounts) string {
	if e.Total() == 0 {
		return "0"
	}
	var parts []string
	for _, p := range []struct {
		n    int
		name string
	}{{e.Status, "non-200"}, {e.Transport, "transport"}, {e.Cut, "cut"}, {e.NoStop, "no message_stop"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.name))
		}
	}
	return strings.Join(parts, ", ")
}

// machine describes the host for the report header.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("nproc %d, %s, Linux %s, %s", runtime.NumCPU(), model, strings.TrimSpace(string(kernel)), runtime.Version())
}

func renderReport(r *results) string {
	var b strings.Builder
	f := r.Flags
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("## ccbench: ccbalancer vs bare ReverseProxy vs direct\n\n")
	p("- date: %s (%s)\n", r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Finished.Sub(r.Started).Round(time.Second))
	p("- machine: %s; the cores are shared with other work (builds), so read ratios within one run\n", machine())
	if r.CCBVersion != "" {
		p("- ccbalancer: %s\n", r.CCBVersion)
	}
	p("- command: `%s`\n", f.commandLine)
	var sizes []string
	for _, name := range slices.Sorted(maps.Keys(r.BodySizes)) {
		sizes = append(sizes, fmt.Sprintf("%s %d B", name, r.BodySizes[name]))
	}
	pin := "none"
	if f.pin != "" {
		pin = fmt.Sprintf("load client + upstream on CPU %s, proxies on CPU %s", f.loadCPUs, f.proxyCPUs)
	}
	p("- %d rounds of %s windows per target in alternation (%s), %s warm-up; bodies: %s; pinning: %s\n",
		f.rounds, f.window, strings.Join(r.Targets, " → "), f.warmup, strings.Join(sizes, ", "), pin)
	p("- a stream counts as *bunched* when its events reached the client in less than half the time the upstream spent producing them (buffering)\n")
	p("- latency is to the last byte; TTFB to the first body byte; `+… vs DIRECT` and `vs BARE` are per-round differences/ratios, median over rounds; CPU/req is the proxy process's utime+stime per request (10 ms tick)\n\n")

	p("| scenario | conc | target | req/s | vs BARE | p50 | p99 | +p50 vs DIRECT | TTFB p50 | +TTFB vs DIRECT | errors | CPU/req | peak RSS |\n")
	p("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|\n")
	for _, c := range r.Cells {
		stream := strings.HasPrefix(c.Scenario, "stream")
		for _, name := range r.Targets {
			if _, ok := c.Windows[name]; !ok {
				continue
			}
			s := c.stat(name)
			vsBare, added, ttfb, addedTTFB, cpu := "", "", "", "", "–"
			if name != nameBare && s.VsBare > 0 {
				vsBare = fmt.Sprintf("%.0f%%", s.VsBare*100)
			}
			if name != nameDirect && s.HasDirect {
				added = fmtAdded(s.Added50)
				if stream {
					addedTTFB = fmtAdded(s.AddedTTFB)
				}
			}
			if stream {
				ttfb = fmtDur(s.TTFB50)
			}
			if s.CPUPerReq > 0 {
				cpu = fmtDur(s.CPUPerReq)
			}
			errs := fmtErrors(s.Errors)
			if s.Bunched > 0 {
				errs += fmt.Sprintf(" (%d bunched)", s.Bunched)
			}
			p("| %s | %d | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", c.Scenario, c.Conc, name,
				s.RPS, vsBare, fmtDur(s.P50), fmtDur(s.P99), added, ttfb, addedTTFB, errs, cpu, mib(s.PeakRSS))
		}
	}

	p("\n| process | RSS idle (before load) | RSS 3 s after load | peak RSS (any cell) | peak RSS (large, c=64) |\n|---|---:|---:|---:|---:|\n")
	for _, name := range r.Targets {
		if _, ok := r.IdleRSS[name]; !ok {
			continue
		}
		var peak, peakLarge64 int64
		for _, c := range r.Cells {
			if _, ok := c.Windows[name]; !ok {
				continue
			}
			s := c.stat(name)
			peak = max(peak, s.PeakRSS)
			if c.Scenario == "large" && c.Conc == 64 {
				peakLarge64 = s.PeakRSS
			}
		}
		p("| %s | %s | %s | %s | %s |\n", name, mib(r.IdleRSS[name]), mib(r.AfterRSS[name]), mib(peak), mib(peakLarge64))
	}
	if len(r.Startup) > 0 {
		sorted := slices.Sorted(slices.Values(r.Startup))
		var all []string
		for _, d := range r.Startup {
			all = append(all, fmtDur(d))
		}
		p("\nStart-up of `ccbalancer serve` (exec to first accepted TCP connect), median of %d: **%s** (all: %s)\n",
			len(sorted), fmtDur(medianDur(sorted)), strings.Join(all, ", "))
	}

	if len(r.SoakOrder) > 0 {
		p("\nTruncation soak: %d streams of %d deltas (gap %s) per target at concurrency %d (time limit %s)\n\n",
			f.soak, f.soakEvents, f.soakGap, f.soakConc, f.soakMax)
		p("| target | streams | complete | cut (read error) | ended without message_stop | non-200 | transport | time | streams/s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, name := range r.SoakOrder {
			w := r.Soak[name]
			n := w.Requests + w.Errors.Total()
			p("| %s | %d | %d | %d | %d | %d | %d | %s | %.0f |\n", name, n, w.Requests, w.Errors.Cut, w.Errors.NoStop,
				w.Errors.Status, w.Errors.Transport, w.Elapsed.Round(time.Millisecond), float64(n)/w.Elapsed.Seconds())
		}
	}
	p("\n%s", renderTargets(r))
	for _, n := range r.Notes {
		p("\nNote: %s\n", n)
	}
	return b.String()
}

// renderTargets checks the figures against the targets of issue 5.
func renderTargets(r *results) string {
	const ccb = nameCCBalancer
	if !slices.Contains(r.Targets, ccb) {
		return "Targets: not checked (CCBALANCER was not measured).\n"
	}
	var b strings.Builder
	b.WriteString("| target | measured | holds |\n|---|---|---|\n")
	row := func(what, measured string, ok bool) {
		verdict := "yes"
		if !ok {
			verdict = "**no**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", what, measured, verdict)
	}
	find := func(scen string, conc int) (cell, bool) {
		for _, c := range r.Cells {
			if (c.Scenario == scen || strings.HasPrefix(c.Scenario, scen+"(")) && c.Conc == conc {
				return c, true
			}
		}
		return cell{}, false
	}
	for _, scen := range []string{"small", "large"} {
		if c, ok := find(scen, 1); ok && len(c.Windows[nameBare]) > 0 && len(c.Windows[nameDirect]) > 0 {
			cs, bs := c.stat(ccb), c.stat(nameBare)
			limit := bs.Added50 + bs.Added50/10
			row(fmt.Sprintf("added p50, %s, c=1 ≤ BARE's + 10%%", scen),
				fmt.Sprintf("%s vs BARE %s (limit %s)", fmtAdded(cs.Added50), fmtAdded(bs.Added50), fmtAdded(limit)), cs.Added50 <= limit)
		}
	}
	for _, c := range r.Cells {
		if c.Conc < 16 || len(c.Windows[nameBare]) == 0 {
			continue
		}
		s := c.stat(ccb)
		row(fmt.Sprintf("throughput %s c=%d ≥ 90%% of BARE", c.Scenario, c.Conc), fmt.Sprintf("%.0f%%", s.VsBare*100), s.VsBare >= 0.9)
	}
	for _, c := range r.Cells {
		if !strings.HasPrefix(c.Scenario, "stream") || len(c.Windows[nameBare]) == 0 || len(c.Windows[nameDirect]) == 0 {
			continue
		}
		cs, bs := c.stat(ccb), c.stat(nameBare)
		row(fmt.Sprintf("added TTFB %s c=%d within 200 µs of BARE's", c.Scenario, c.Conc),
			fmt.Sprintf("%s vs BARE %s", fmtAdded(cs.AddedTTFB), fmtAdded(bs.AddedTTFB)), cs.AddedTTFB-bs.AddedTTFB <= 200*time.Microsecond)
	}
	for _, c := range r.Cells {
		if c.Conc < 16 || strings.HasPrefix(c.Scenario, "stream") {
			continue
		}
		if q := c.ratio(nameCCBOpenAI, ccb); q > 0 {
			row(fmt.Sprintf("OpenAI-provider throughput %s c=%d ≥ 0.8× the Anthropic-provider path", c.Scenario, c.Conc),
				fmt.Sprintf("%.2f×", q), q >= 0.8)
		}
	}
	streams, bunchedStreams := 0, 0
	for _, c := range r.Cells {
		if strings.HasPrefix(c.Scenario, "stream") {
			s := c.stat(ccb)
			for _, w := range c.Windows[ccb] {
				streams += w.Requests
			}
			bunchedStreams += s.Bunched
		}
	}
	if streams > 0 {
		row("every event forwarded as it arrives", fmt.Sprintf("%d of %d streams bunched", bunchedStreams, streams), bunchedStreams == 0)
	}
	if w, ok := r.Soak[ccb]; ok {
		n := w.Requests + w.Errors.Total()
		row(fmt.Sprintf("0 truncated streams in %d", r.Flags.soak), fmt.Sprintf("%d of %d incomplete", w.Errors.Total(), n),
			w.Errors.Total() == 0 && n >= r.Flags.soak)
	}
	var errs errorCounts
	for _, c := range r.Cells {
		errs.add(c.stat(ccb).Errors)
	}
	row("no errors under load", fmtErrors(errs), errs.Total() == 0)
	if rss := r.IdleRSS[ccb]; rss > 0 {
		row("RSS idle ≤ 15 MiB", mib(rss), rss <= 15<<20)
	}
	if c, ok := find("large", 64); ok {
		peak := c.stat(ccb).PeakRSS
		row("peak RSS at c=64, large bodies ≤ 60 MiB", mib(peak), peak > 0 && peak <= 60<<20)
	}
	if len(r.Startup) > 0 {
		m := medianDur(r.Startup)
		row("start-up to accepting connections ≤ 50 ms", fmtDur(m), m <= 50*time.Millisecond)
	}
	return b.String()
}
