package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
)

// Target names as they appear in the tables.
const (
	nameDirect     = "DIRECT"
	nameBare       = "BARE"
	nameBareFD     = "BARE-FD"
	nameBareBuf    = "BARE-BUF"
	nameBareCheck  = "BARE-CHECK"
	nameCCBalancer = "CCBALANCER"
	// nameCCBOpenAI is ccbalancer routing to OpenAI-compatible providers: the
	// same fake upstream, spoken to in Chat Completions, so every request and
	// answer is converted.
	nameCCBOpenAI = "CCB-OPENAI"
)

// runFlags are the settings of one `ccbench run`.
type runFlags struct {
	quick       bool
	rounds      int
	window      time.Duration
	warmup      time.Duration
	maxRequests int
	conc        []int
	scenarios   []string
	targets     []string
	events      int
	gap         time.Duration
	soak        int
	soakConc    int
	soakEvents  int
	soakGap     time.Duration
	soakMax     time.Duration
	soakTargets []string
	startupRuns int
	ccbalancer  string
	repo        string
	model       string
	logLevel    string
	usageDB     string
	pin         string
	out         string
	commandLine string
	loadCPUs    string // from pin
	proxyCPUs   string // from pin
}

func parseRunFlags(args []string) (*runFlags, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	f := &runFlags{}
	var conc, scen, targets, soakTargets string
	fs.BoolVar(&f.quick, "quick", false, "short run: 0.5s windows, 2,000-stream soak, 3 start-ups")
	fs.IntVar(&f.rounds, "rounds", 3, "rounds of A B C alternation per cell")
	fs.DurationVar(&f.window, "window", 3*time.Second, "length of one load window")
	fs.DurationVar(&f.warmup, "warmup", 500*time.Millisecond, "warm-up per target before a cell's first round")
	fs.IntVar(&f.maxRequests, "max-requests", 200000, "cap on requests per window")
	fs.StringVar(&conc, "conc", "1,16,64", "concurrency levels")
	fs.StringVar(&scen, "scenarios", "small,large,stream", "scenarios: small (2 KB), large (~90 KB), stream (2 KB, SSE)")
	fs.StringVar(&targets, "targets", "direct,bare,ccbalancer", "targets in alternation order (also: bare-fd = bare with full duplex, bare-buf = bare reading the whole body first, bare-check = bare-buf refusing malformed JSON, ccbalancer-openai = ccbalancer converting to Chat Completions)")
	fs.IntVar(&f.events, "events", 20, "text deltas per stream in the stream scenario")
	fs.DurationVar(&f.gap, "gap", time.Millisecond, "pause between deltas in the stream scenario")
	fs.IntVar(&f.soak, "soak", 100000, "streams per target in the truncation soak (0: skip)")
	fs.IntVar(&f.soakConc, "soak-conc", 64, "concurrency of the soak")
	fs.IntVar(&f.soakEvents, "soak-events", 5, "text deltas per soak stream")
	fs.DurationVar(&f.soakGap, "soak-gap", time.Millisecond, "pause between deltas in the soak")
	fs.DurationVar(&f.soakMax, "soak-max", 5*time.Minute, "time limit per soak target")
	fs.StringVar(&soakTargets, "soak-targets", "bare,bare-fd,ccbalancer", "targets of the soak")
	fs.IntVar(&f.startupRuns, "startup-runs", 9, "start-ups of ccbalancer to time (median reported)")
	fs.StringVar(&f.ccbalancer, "ccbalancer", "", "prebuilt ccbalancer binary (default: go build from -repo)")
	fs.StringVar(&f.repo, "repo", "", "repository root to build ccbalancer from (default: found from the working directory)")
	fs.StringVar(&f.model, "model", "", "route model for ccbalancer (default passthrough: the body is forwarded as is)")
	fs.StringVar(&f.logLevel, "log-level", "INFO", "ccbalancer's log_level")
	fs.StringVar(&f.usageDB, "usage-db", "", `ccbalancer's usage_db: "off", or "" for a ledger in the run's temporary directory (never the user's)`)
	fs.StringVar(&f.pin, "pin", "", `CPU pinning "LOAD/PROXY", e.g. "0/1": load client and upstream on LOAD, proxies on PROXY (taskset)`)
	fs.StringVar(&f.out, "o", "", "also write the Markdown report to this file")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if f.quick {
		set := map[string]bool{}
		fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
		if !set["window"] {
			f.window = 500 * time.Millisecond
		}
		if !set["warmup"] {
			f.warmup = 150 * time.Millisecond
		}
		if !set["soak"] {
			f.soak = 2000
		}
		if !set["startup-runs"] {
			f.startupRuns = 3
		}
	}
	var err error
	if f.conc, err = parseInts(conc); err != nil {
		return nil, fmt.Errorf("-conc: %w", err)
	}
	f.scenarios = splitList(scen)
	f.targets = splitList(targets)
	f.soakTargets = splitList(soakTargets)
	if f.rounds < 1 || f.window <= 0 {
		return nil, fmt.Errorf("-rounds and -window must be positive")
	}
	if f.pin != "" {
		var ok bool
		if f.loadCPUs, f.proxyCPUs, ok = strings.Cut(f.pin, "/"); !ok || f.loadCPUs == "" || f.proxyCPUs == "" {
			return nil, fmt.Errorf(`-pin %q: want "LOAD/PROXY" CPU lists, e.g. "0/1"`, f.pin)
		}
	}
	f.commandLine = "ccbench run " + strings.Join(args, " ")
	return f, nil
}

func splitList(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, strings.ToLower(v))
		}
	}
	return out
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, v := range splitList(s) {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", v)
		}
		out = append(out, n)
	}
	return out, nil
}

// target is one thing the load is sent to.
type target struct {
	Name   string
	URL    string // messages endpoint, with ?beta=true as Claude Code sends it
	Proc   *proc  // the proxy process; nil for DIRECT
	Client *http.Client
}

// cell is one scenario at one concurrency: a window per target per round.
type cell struct {
	Scenario string
	Conc     int
	Windows  map[string][]window // by target name, in round order
}

// results is everything a run measured.
type results struct {
	Started    time.Time
	Finished   time.Time
	Flags      *runFlags
	Targets    []string
	Cells      []cell
	IdleRSS    map[string]int64 // before any load
	AfterRSS   map[string]int64 // a few seconds after the load
	Startup    []time.Duration  // ccbalancer exec -> first accepted connect
	Soak       map[string]window
	SoakOrder  []string
	Notes      []string
	BodySizes  map[string]int
	CCBVersion string
}

func cmdRun(args []string) error {
	f, err := parseRunFlags(args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "ccbench-")
	if err != nil {
		return fmt.Errorf("making a work directory: %w", err)
	}
	defer os.RemoveAll(dir)
	res := &results{Started: time.Now(), Flags: f, IdleRSS: map[string]int64{}, AfterRSS: map[string]int64{},
		Soak: map[string]window{}, BodySizes: map[string]int{}}

	if f.loadCPUs != "" {
		// Pin this process (the load client) with all its threads.
		if out, err := exec.Command("taskset", "-a", "-p", "-c", f.loadCPUs, strconv.Itoa(os.Getpid())).CombinedOutput(); err != nil {
			return fmt.Errorf("pinning the load client: %v: %s", err, out)
		}
	}
	up, err := startSelf("upstream", f.loadCPUs, "upstream", "--listen", "127.0.0.1:0",
		"--events", strconv.Itoa(f.events), "--gap", f.gap.String())
	if err != nil {
		return err
	}
	defer up.stop()
	logf("upstream on %s (pid %d)", up.Addr, up.PID())

	targets, cleanup, err := startTargets(f, up, dir, res)
	defer cleanup()
	if err != nil {
		return err
	}
	for _, t := range targets {
		if slices.Contains(f.targets, targetFlagName(t.Name)) {
			res.Targets = append(res.Targets, t.Name)
		}
	}
	scenarios := buildScenarios(f, res)
	if err := sanityCheck(ctx, targets, scenarios); err != nil {
		return err
	}
	time.Sleep(time.Second) // let start-up garbage settle before reading idle RSS
	for _, t := range targets {
		if t.Proc != nil {
			if rss, _, err := procMem(t.Proc.PID()); err == nil {
				res.IdleRSS[t.Name] = rss
			}
		}
	}

	for _, sc := range scenarios {
		for _, conc := range f.conc {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			res.Cells = append(res.Cells, runCell(ctx, f, targets, sc, conc))
		}
	}
	time.Sleep(3 * time.Second)
	for _, t := range targets {
		if t.Proc != nil {
			if rss, _, err := procMem(t.Proc.PID()); err == nil {
				res.AfterRSS[t.Name] = rss
			}
		}
	}
	if f.soak > 0 {
		runSoak(ctx, f, targets, res)
	}
	res.Finished = time.Now()
	report := renderReport(res)
	fmt.Print(report)
	if f.out != "" {
		if err := os.WriteFile(f.out, []byte(report), 0o644); err != nil {
			return fmt.Errorf("writing report: %w", err)
		}
	}
	return ctx.Err()
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "ccbench: "+format+"\n", args...)
}

// startTargets starts the proxies named in -targets and -soak-targets.
func startTargets(f *runFlags, up *proc, dir string, res *results) ([]target, func(), error) {
	var procs []*proc
	cleanup := func() {
		for _, p := range procs {
			p.stop()
		}
	}
	want := map[string]bool{}
	for _, n := range append(slices.Clone(f.targets), f.soakTargets...) {
		want[n] = true
	}
	var targets []target
	add := func(name, addr string, p *proc) {
		targets = append(targets, target{Name: name, URL: "http://" + addr + "/v1/messages?beta=true", Proc: p,
			Client: newLoadClient(slices.Max(append(slices.Clone(f.conc), f.soakConc)))})
	}
	for _, n := range orderTargets(want, f.targets) {
		switch n {
		case "direct":
			add(nameDirect, up.Addr, nil)
		case "bare", "bare-fd", "bare-buf", "bare-check":
			name, extra := nameBare, []string{}
			switch n {
			case "bare-fd":
				name, extra = nameBareFD, []string{"--full-duplex"}
			case "bare-buf":
				name, extra = nameBareBuf, []string{"--buffer-body"}
			case "bare-check":
				name, extra = nameBareCheck, []string{"--validate"}
			}
			p, err := startSelf(name, f.proxyCPUs, "bare", append([]string{"--listen", "127.0.0.1:0", "--upstream", "http://" + up.Addr}, extra...)...)
			if err != nil {
				return nil, cleanup, err
			}
			procs = append(procs, p)
			add(name, p.Addr, p)
			logf("%s on %s (pid %d)", name, p.Addr, p.PID())
		case "ccbalancer", "ccbalancer-openai":
			name, kind := nameCCBalancer, config.TypeAnthropic
			if n == "ccbalancer-openai" {
				name, kind = nameCCBOpenAI, config.TypeOpenAI
			}
			p, err := startCCB(f, up, dir, res, kind)
			if err != nil {
				res.Notes = append(res.Notes, name+" not measured: "+err.Error())
				logf("%s not measured: %v", name, err)
				continue
			}
			procs = append(procs, p)
			add(name, p.Addr, p)
			logf("%s on %s (pid %d)", name, p.Addr, p.PID())
		default:
			return nil, cleanup, fmt.Errorf("unknown target %q (want direct, bare, bare-fd, bare-buf, bare-check, ccbalancer, ccbalancer-openai)", n)
		}
	}
	return targets, cleanup, nil
}

// orderTargets lists the wanted targets: -targets order first, then soak-only ones.
func orderTargets(want map[string]bool, order []string) []string {
	out := slices.Clone(order)
	for _, n := range []string{"direct", "bare", "bare-fd", "bare-buf", "bare-check", "ccbalancer", "ccbalancer-openai"} {
		if want[n] && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// startCCB builds (or takes) the ccbalancer binary, times its start-ups (for the
// anthropic configuration), and leaves one instance running for the load, its
// providers of the given type.
func startCCB(f *runFlags, up *proc, dir string, res *results, kind config.ProviderType) (*proc, error) {
	bin, err := ccbBinary(f, dir, res)
	if err != nil {
		return nil, err
	}
	usageDB := f.usageDB
	if usageDB == "" {
		usageDB = filepath.Join(dir, "usage-"+string(kind)+".db")
	}
	cfg, err := writeConfig(dir, up.Addr, f.model, f.logLevel, kind, usageDB)
	if err != nil {
		return nil, err
	}
	stderrLog := filepath.Join(dir, "ccbalancer-"+string(kind)+".stderr")
	if kind == config.TypeAnthropic {
		for range f.startupRuns {
			// Unpinned: taskset's own exec would be counted otherwise.
			p, d, err := startCCBalancer(bin, "", cfg, stderrLog)
			if err != nil {
				return nil, fmt.Errorf("%w: %s", err, tail(stderrLog))
			}
			res.Startup = append(res.Startup, d)
			p.stop()
		}
	}
	p, _, err := startCCBalancer(bin, f.proxyCPUs, cfg, stderrLog)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, tail(stderrLog))
	}
	return p, nil
}

// ccbBinary returns the ccbalancer binary: -ccbalancer, or one built from the
// repository once per run.
func ccbBinary(f *runFlags, dir string, res *results) (string, error) {
	bin := f.ccbalancer
	if bin == "" {
		bin = filepath.Join(dir, "ccbalancer")
		if _, err := os.Stat(bin); err == nil {
			return bin, nil
		}
	}
	if f.ccbalancer == "" {
		repo := f.repo
		if repo == "" {
			var err error
			if repo, err = findRepo(); err != nil {
				return "", err
			}
		}
		logf("building ccbalancer from %s", repo)
		cmd := exec.Command("go", "build", "-o", bin, ".")
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build: %v: %s", err, strings.TrimSpace(string(out)))
		}
	}
	if out, err := exec.Command(bin, "version").Output(); err == nil {
		res.CCBVersion = strings.TrimSpace(string(out))
	}
	return bin, nil
}

// tail returns the last lines of a log file, for error messages.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 600 {
		b = b[len(b)-600:]
	}
	return strings.TrimSpace(string(b))
}

// findRepo walks up from the working directory to the directory holding go.mod.
func findRepo() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the repository: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("finding the repository: no go.mod above the working directory (use -repo or -ccbalancer)")
		}
		d = parent
	}
}

func buildScenarios(f *runFlags, res *results) []scenario {
	const model = "claude-sonnet-5"
	var out []scenario
	for _, name := range f.scenarios {
		var sc scenario
		switch name {
		case "small":
			sc = scenario{Name: "small", Body: buildBody(bodySmall, false, model)}
		case "large":
			sc = scenario{Name: "large", Body: buildBody(bodyLarge, false, model)}
		case "stream":
			sc = scenario{Name: fmt.Sprintf("stream(%dx%s)", f.events, f.gap), Body: buildBody(bodySmall, true, model), Stream: true, Events: f.events, Gap: f.gap}
		default:
			logf("unknown scenario %q skipped", name)
			continue
		}
		res.BodySizes[sc.Name] = len(sc.Body)
		out = append(out, sc)
	}
	return out
}

// sanityCheck sends one request of each scenario to each target and fails the run if
// any is not a clean 200, so that a broken set-up is not measured as a fast one.
func sanityCheck(ctx context.Context, targets []target, scenarios []scenario) error {
	for _, t := range targets {
		for _, sc := range scenarios {
			_, _, res, body := doRequest(ctx, t.Client, t.URL, sc.header(), sc, nil)
			if res != outcomeOK {
				return fmt.Errorf("sanity check: %s %s: outcome %d: %.300s", t.Name, sc.Name, res, body)
			}
		}
	}
	return nil
}

// runCell measures one scenario at one concurrency: a warm-up per target, then rounds
// of one window per target in alternation.
func runCell(ctx context.Context, f *runFlags, targets []target, sc scenario, conc int) cell {
	c := cell{Scenario: sc.Name, Conc: conc, Windows: map[string][]window{}}
	var measured []target
	for _, t := range targets {
		if slices.Contains(f.targets, targetFlagName(t.Name)) {
			measured = append(measured, t)
			runWindow(ctx, t.Client, t.URL, sc, conc, f.warmup, f.maxRequests)
		}
	}
	for round := range f.rounds {
		for _, t := range measured {
			var cpu0 time.Duration
			if t.Proc != nil {
				_ = resetPeakRSS(t.Proc.PID())
				cpu0, _ = procCPU(t.Proc.PID())
			}
			w := runWindow(ctx, t.Client, t.URL, sc, conc, f.window, f.maxRequests)
			if t.Proc != nil {
				if cpu1, err := procCPU(t.Proc.PID()); err == nil {
					w.CPU = cpu1 - cpu0
				}
				if _, hwm, err := procMem(t.Proc.PID()); err == nil {
					w.PeakRSS = hwm
				}
			}
			c.Windows[t.Name] = append(c.Windows[t.Name], w)
			logf("%-14s c=%-3d round %d %-10s %8.0f req/s p50 %-9s errors %d", sc.Name, conc, round+1, t.Name,
				w.RPS(), percentile(w.Latency, 0.5).Round(time.Microsecond), w.Errors.Total())
		}
	}
	return c
}

func targetFlagName(name string) string {
	switch name {
	case nameDirect:
		return "direct"
	case nameBare:
		return "bare"
	case nameBareFD:
		return "bare-fd"
	case nameBareBuf:
		return "bare-buf"
	case nameBareCheck:
		return "bare-check"
	case nameCCBOpenAI:
		return "ccbalancer-openai"
	default:
		return "ccbalancer"
	}
}

// runSoak sends -soak streams through each soak target and counts every stream that
// did not end with message_stop.
func runSoak(ctx context.Context, f *runFlags, targets []target, res *results) {
	sc := scenario{Name: "soak", Body: buildBody(bodySmall, true, "claude-sonnet-5"), Stream: true, Events: f.soakEvents, Gap: f.soakGap}
	for _, t := range targets {
		if !slices.Contains(f.soakTargets, targetFlagName(t.Name)) || ctx.Err() != nil {
			continue
		}
		logf("soak: %d streams through %s", f.soak, t.Name)
		w := runWindow(ctx, t.Client, t.URL, sc, f.soakConc, f.soakMax, f.soak)
		res.Soak[t.Name] = w
		res.SoakOrder = append(res.SoakOrder, t.Name)
		logf("soak %s: %d ok, %+v in %s", t.Name, w.Requests, w.Errors, w.Elapsed.Round(time.Millisecond))
	}
}
