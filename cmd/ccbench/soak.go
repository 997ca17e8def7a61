package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// `ccbench soak`: mixed streamed and non-streamed load on ccbalancer over
// three fake providers (two Messages API, one Chat Completions) that fail at
// random, while the configuration is rewritten and reloaded every few
// seconds (valid and invalid files) and abusive clients run beside it. It
// reports requests and their outcomes by cause, answers that looked complete
// but were not (must be 0), hangs (must be 0), and ccbalancer's resident
// memory, goroutines and open file descriptors at the start, at their peak
// and at the end.

type soakFlags struct {
	duration    time.Duration
	conc        int
	reloadEvery time.Duration
	settle      time.Duration
	ccbalancer  string
	repo        string
	out         string
}

func parseSoakFlags(args []string) (*soakFlags, error) {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	f := &soakFlags{}
	fs.DurationVar(&f.duration, "duration", 10*time.Minute, "how long the load runs")
	fs.IntVar(&f.conc, "conc", 16, "concurrent load clients")
	fs.DurationVar(&f.reloadEvery, "reload-every", 3*time.Second, "period of configuration rewrites and reloads")
	fs.DurationVar(&f.settle, "settle", 150*time.Second, "wait after the load before the end figures are read (idle upstream connections close after 90 s; the Go runtime collects at least every 2 minutes)")
	fs.StringVar(&f.ccbalancer, "ccbalancer", "", "prebuilt ccbalancer binary (default: go build from -repo)")
	fs.StringVar(&f.repo, "repo", "", "repository root to build ccbalancer from (default: found from the working directory)")
	fs.StringVar(&f.out, "o", "", "also write the Markdown report to this file")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if f.duration <= 0 || f.conc < 1 || f.reloadEvery <= 0 {
		return nil, fmt.Errorf("-duration, -conc and -reload-every must be positive")
	}
	return f, nil
}

// soakSettings are the settings of every configuration the soak writes:
// short timeouts so that faults resolve in seconds, and the resource bounds
// the abusive clients run into.
const soakSettings = `settings:
  host: 127.0.0.1
  port: 18080
  request_timeout: 3
  stream_idle_timeout: 3
  nonstream_timeout: 10
  connect_timeout: 2
  max_event_size: 1MiB
  max_body_size: 16MiB
  max_body_memory: 96MiB
  body_read_timeout: 5
  max_connections: 128
  shutdown_grace: 5
  log_level: WARNING
  log_color: false
  log_file: %q
  enable_deduplication: false
`

// soakConfig is the n-th configuration: valid ones vary the strategy, the
// cooldown, the priorities and whether the OpenAI provider is enabled;
// every fourth is invalid in a different way.
func soakConfig(n int, a, b, c, logFile string) (yaml string, valid bool) {
	strategies := []string{"priority", "round_robin", "random"}
	providers := fmt.Sprintf(`providers:
  - {name: A, type: anthropic, base_url: "http://%s", auth_type: api_key, auth_value: "sk-soak-provider-a-0123456789"}
  - {name: B, type: anthropic, base_url: "http://%s", auth_type: auth_token, auth_value: "sk-soak-provider-b-0123456789"}
  - {name: C, type: openai, base_url: "http://%s/v1", auth_value: "sk-soak-provider-c-0123456789", enabled: %v}
`, a, b, c, n%5 != 2)
	order := [][3]int{{1, 2, 3}, {3, 1, 2}, {2, 3, 1}}[n%3]
	routes := fmt.Sprintf(`model_routes:
  "*sonnet*":
    - {provider: A, model: passthrough, priority: %d}
    - {provider: B, model: passthrough, priority: %d}
    - {provider: C, model: gpt-soak, priority: %d}
`, order[0], order[1], order[2])
	settings := fmt.Sprintf(soakSettings, logFile) + fmt.Sprintf("  selection_strategy: %s\n  failure_cooldown: %d\n", strategies[n%3], 1+n%3)
	switch {
	case n%4 != 3:
		return providers + routes + settings, true
	case n%12 == 3:
		return providers + routes + settings + "  prioirty: 1\n", false // unknown key
	case n%12 == 7:
		return providers + strings.Replace(routes, "provider: B", "provider: Nobody", 1) + settings, false
	default:
		return providers + routes[:len(routes)/2], false // cut mid-file
	}
}

// writeAtomic replaces path's content as editors that save by rename do.
func writeAtomic(path, content string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func cmdSoak(args []string) error {
	f, err := parseSoakFlags(args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "ccbench-soak-")
	if err != nil {
		return fmt.Errorf("making a work directory: %w", err)
	}
	defer os.RemoveAll(dir)

	provs := []*soakProvider{{name: "A", wire: "anthropic"}, {name: "B", wire: "anthropic"}, {name: "C", wire: "openai"}}
	var addrs []string
	for _, p := range provs {
		s := httptest.NewServer(p)
		defer s.Close()
		addrs = append(addrs, strings.TrimPrefix(s.URL, "http://"))
	}
	bin, version, err := soakBinary(f, dir)
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(dir, "providers.yaml")
	logFile := filepath.Join(dir, "logs.jsonl")
	yaml, _ := soakConfig(0, addrs[0], addrs[1], addrs[2], logFile)
	if err := writeAtomic(cfgPath, yaml); err != nil {
		return err
	}
	stderrLog := filepath.Join(dir, "ccbalancer.stderr")
	p, _, err := startCCBalancer(bin, "", cfgPath, stderrLog)
	if err != nil {
		return fmt.Errorf("%w: %s", err, tail(stderrLog))
	}
	defer p.stop()
	base := "http://" + p.Addr
	logf("soak: ccbalancer (pid %d) on %s, %d clients for %s", p.PID(), p.Addr, f.conc, f.duration)

	res := &soakResults{Flags: f, Version: version, Started: time.Now(), Outcomes: map[string]int{}, Abuse: map[string]int{},
		AbuseLongest: map[string]time.Duration{}, Reloads: map[string]int{}}
	mon := &monitor{pid: p.PID(), base: base}
	// The start figures are taken once each kind of request has been
	// served (the token tables load on the first count_tokens and stay).
	if err := warmUp(base); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	res.Start = mon.sample()

	loadCtx, endLoad := context.WithTimeout(ctx, f.duration)
	defer endLoad()
	var wg sync.WaitGroup
	clients := newLoadClient(f.conc)
	for i := range f.conc {
		wg.Go(func() { runLoad(loadCtx, clients, base, uint64(i), res) })
	}
	for _, a := range abusers {
		wg.Go(func() { a.run(loadCtx, p.Addr, res) })
	}
	wg.Go(func() { reloadLoop(loadCtx, f.reloadEvery, base, cfgPath, addrs, logFile, res) })
	wg.Go(func() { mon.watch(loadCtx, time.Second) })
	wg.Wait()
	res.LoadEnded = time.Now()
	clients.CloseIdleConnections()
	logf("soak: load over; %s to settle", f.settle)
	select {
	case <-time.After(f.settle):
	case <-ctx.Done():
	}
	res.End = mon.sample()
	res.Peak = mon.peak
	res.Peak.max(res.End)
	for _, pr := range provs {
		for k := range faultCount {
			res.Faults[k] += pr.faults[k].Load()
		}
	}
	report := renderSoak(res)
	fmt.Print(report)
	if f.out != "" {
		if err := os.WriteFile(f.out, []byte(report), 0o644); err != nil {
			return fmt.Errorf("writing report: %w", err)
		}
	}
	if res.FalseComplete > 0 || res.Hangs > 0 {
		return fmt.Errorf("%d answers looked complete but were not, %d hung", res.FalseComplete, res.Hangs)
	}
	return ctx.Err()
}

// warmUp sends one count_tokens request and one messages request.
func warmUp(base string) error {
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Post(base+"/v1/messages/count_tokens", "application/json",
		strings.NewReader(`{"model":"claude-sonnet-5","messages":[{"role":"user","content":"warm up"}]}`))
	if err != nil {
		return fmt.Errorf("warm-up count_tokens: %w", err)
	}
	resp.Body.Close()
	if out := soakRequest(c, base, clientHeaders(), 0, true, false); out != outComplete {
		// Providers fail at random: one failure is no reason to stop.
		logf("soak: warm-up request: %s", out)
	}
	return nil
}

// soakBinary builds ccbalancer (or takes -ccbalancer) and returns its path
// and version line.
func soakBinary(f *soakFlags, dir string) (bin, version string, err error) {
	bin = f.ccbalancer
	if bin == "" {
		repo := f.repo
		if repo == "" {
			if repo, err = findRepo(); err != nil {
				return "", "", err
			}
		}
		bin = filepath.Join(dir, "ccbalancer")
		logf("building ccbalancer from %s", repo)
		cmd := exec.Command("go", "build", "-o", bin, ".")
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("go build: %v: %s", err, strings.TrimSpace(string(out)))
		}
	}
	out, _ := exec.Command(bin, "version").Output()
	return bin, strings.TrimSpace(string(out)), nil
}

// reloadLoop rewrites the configuration and asks for a reload every period:
// a valid file must load, an invalid one must be refused while the old one
// keeps serving.
func reloadLoop(ctx context.Context, every time.Duration, base, path string, addrs []string, logFile string, res *soakResults) {
	c := &http.Client{Timeout: 10 * time.Second}
	t := time.NewTicker(every)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		yaml, valid := soakConfig(n, addrs[0], addrs[1], addrs[2], logFile)
		if err := writeAtomic(path, yaml); err != nil {
			res.count(&res.Reloads, "write failed")
			continue
		}
		resp, err := c.Post(base+"/providers/reload", "application/json", nil)
		switch {
		case err != nil:
			res.count(&res.Reloads, "no answer")
		case valid && resp.StatusCode == 200:
			res.count(&res.Reloads, "valid, loaded")
		case !valid && resp.StatusCode == http.StatusUnprocessableEntity:
			res.count(&res.Reloads, "invalid, refused (old one kept)")
		default:
			res.count(&res.Reloads, fmt.Sprintf("unexpected: valid=%v got %d", valid, resp.StatusCode))
		}
		if resp != nil {
			resp.Body.Close()
		}
	}
}

// dialLoopback dials ccbalancer's address.
func dialLoopback(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	return d.DialContext(ctx, "tcp", addr)
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
