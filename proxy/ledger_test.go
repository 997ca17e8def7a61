package proxy

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/internal/fake"
	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
	"github.com/ccbalancer/ccbalancer/proxy/health"
	"github.com/ccbalancer/ccbalancer/proxy/usage"
)

func (e *env) getJSON(path string, v any) {
	e.t.Helper()
	resp, err := e.client.Get(e.front.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		e.t.Fatalf("GET %s: %v: %s", path, err, b)
	}
}

func (e *env) usage(query string) UsageReport {
	e.t.Helper()
	var rep UsageReport
	e.getJSON("/usage?"+query, &rep)
	return rep
}

// ledgerEnv is a proxy with a usage ledger at path: routes *sonnet* → A
// (anthropic, priced on the provider), *opus* → O (openai, priced on the
// route entry, model mapped), *haiku* → Flaky (always 529) then B.
func ledgerEnv(t *testing.T, path string, o *fake.OpenAI) *env {
	t.Helper()
	oSrv := httptest.NewServer(o)
	t.Cleanup(oSrv.Close)
	return newEnvOpts(t, func(c *config.Config) {
		c.Providers[0].Prices = &config.Prices{Input: 3, Output: 15, CacheRead: 0.3, CacheWrite: 3.75}
		c.Providers[2].Prices = &config.Prices{Input: 0.8, Output: 4}
		c.Providers = append(c.Providers, config.Provider{Name: "O", Type: config.TypeOpenAI, BaseURL: oSrv.URL, AuthValue: "sk-o", Enabled: true})
		c.Routes = []config.Route{
			{Pattern: "*sonnet*", Entries: []config.RouteEntry{{Provider: "A", Model: config.Passthrough, Priority: 1}}},
			{Pattern: "*opus*", Entries: []config.RouteEntry{{Provider: "O", Model: "gpt-x", Priority: 1, Prices: &config.Prices{Input: 1, Output: 2}}}},
			{Pattern: "*haiku*", Entries: []config.RouteEntry{{Provider: "Flaky", Model: config.Passthrough, Priority: 1}, {Provider: "B", Model: config.Passthrough, Priority: 2}}},
		}
	}, Options{UsagePath: path}, ups("A", "Flaky", "B")...)
}

// TestLedgerMatchesUpstreamUsage: a scripted mix of answers (both provider
// types, streamed and not, a failover, a refusal) is recorded with exactly
// the tokens the fake upstreams reported, costs from the configured
// prices, in /usage, /providers and /metrics; the records survive a
// restart.
func TestLedgerMatchesUpstreamUsage(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	o := fake.NewOpenAI("O")
	e := ledgerEnv(t, path, o)
	a := e.ups["A"]
	a.SetScript(func(n int, _ *http.Request) fake.Reply {
		switch n {
		case 1:
			return fake.Reply{Usage: &fake.Usage{Input: 100, Output: 50, CacheRead: 1000, CacheWrite: 200}}
		case 2:
			return fake.Reply{Usage: &fake.Usage{Input: 10, Output: 5}}
		}
		return fake.Reply{Mode: fake.Status, Status: 400, Message: "prompt is too long"}
	})
	o.SetScript(func(n int, _ map[string]any) fake.ChatReply {
		if n == 1 {
			return fake.ChatReply{Usage: &fake.ChatUsage{Prompt: 300, Completion: 40, Cached: 100}}
		}
		return fake.ChatReply{Usage: &fake.ChatUsage{Prompt: 30, Completion: 4}}
	})
	e.ups["Flaky"].Always(fake.Reply{Mode: fake.Status, Status: 529})
	e.ups["B"].Always(fake.Reply{Usage: &fake.Usage{Input: 7, Output: 3}})
	for i, r := range []struct {
		model  string
		stream bool
		status int
	}{
		{"claude-sonnet-5", true, 200}, {"claude-sonnet-5", false, 200}, {"claude-opus-4", true, 200},
		{"claude-opus-4", false, 200}, {"claude-haiku-4-5", true, 200}, {"claude-sonnet-4", false, 400},
	} {
		a := get(t, e.ask(t.Context(), claudeBody(r.model, r.stream)))
		if a.status != r.status || a.readErr != nil {
			t.Fatalf("request %d (%s): %d %v %s", i+1, r.model, a.status, a.readErr, a.body)
		}
	}
	e.waitIdle()

	costA := (110*3 + 55*15 + 1000*0.3 + 200*3.75) / 1e6
	costO := (230*1 + 44*2) / 1e6
	costB := (7*0.8 + 3*4) / 1e6
	want := []usage.Row{
		{Key: "A", Requests: 3, Errors: 1, Input: 110, Output: 55, CacheRead: 1000, CacheWrite: 200, CostUSD: costA},
		{Key: "B", Requests: 1, Input: 7, Output: 3, CostUSD: costB},
		{Key: "O", Requests: 2, Input: 230, Output: 44, CacheRead: 100, CostUSD: costO},
	}
	approx := cmpopts.EquateApprox(0, 1e-12)
	rep := e.usage("since=1h&by=provider")
	if diff := cmp.Diff(want, rep.Rows, approx); diff != "" {
		t.Errorf("/usage by provider (-want +got):\n%s", diff)
	}
	if rep.Total.Requests != 6 || math.Abs(rep.Total.CostUSD-(costA+costO+costB)) > 1e-12 {
		t.Errorf("total %+v", rep.Total)
	}
	byModel := e.usage("by=model")
	var models []string
	for _, r := range byModel.Rows {
		models = append(models, fmt.Sprintf("%s=%d", r.Key, r.Requests))
	}
	if got := strings.Join(models, " "); got != "claude-haiku-4-5=1 claude-sonnet-4=1 claude-sonnet-5=2 gpt-x=2" {
		t.Errorf("by model: %s", got)
	}

	var provs struct {
		Providers []struct {
			Name  string     `json:"name"`
			Today *todayJSON `json:"today"`
		} `json:"providers"`
	}
	e.getJSON("/providers", &provs)
	for _, p := range provs.Providers {
		if p.Name == "A" && (p.Today == nil || p.Today.Requests != 3 || p.Today.Tokens != 1365 || math.Abs(p.Today.CostUSD-costA) > 1e-12) {
			t.Errorf("/providers today for A: %+v", p.Today)
		}
	}
	resp, err := e.client.Get(e.front.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	series := map[string]float64{}
	for _, name := range []string{"ccbalancer_provider_tokens_total", "ccbalancer_provider_cost_usd_total"} {
		f := fams[name]
		if f == nil || f.GetType() != dto.MetricType_COUNTER {
			t.Fatalf("no counter %s", name)
		}
		for _, m := range f.GetMetric() {
			key := name
			for _, l := range m.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			series[key] = m.GetCounter().GetValue()
		}
	}
	for key, want := range map[string]float64{
		"ccbalancer_provider_tokens_total kind=cache_read provider=A": 1000,
		"ccbalancer_provider_tokens_total kind=input provider=O":      230,
		"ccbalancer_provider_tokens_total kind=output provider=B":     3,
		"ccbalancer_provider_cost_usd_total provider=B":               costB,
		"ccbalancer_provider_cost_usd_total provider=Flaky":           0,
	} {
		if got, ok := series[key]; !ok || math.Abs(got-want) > 1e-12 {
			t.Errorf("/metrics %s = %v (present %v), want %v", key, got, ok, want)
		}
	}

	// A restart: the same database, the same figures, and today's totals.
	e.srv.Close()
	e2 := ledgerEnv(t, path, fake.NewOpenAI("O"))
	if diff := cmp.Diff(want, e2.usage("since=1h").Rows, approx); diff != "" {
		t.Errorf("/usage after a restart (-want +got):\n%s", diff)
	}
	if day, _, _ := e2.srv.ledger.Totals("A"); day.Requests != 3 || math.Abs(day.CostUSD-costA) > 1e-12 {
		t.Errorf("A's day after a restart: %+v", day)
	}
}

// TestBudget: a provider whose spend reaches its daily budget leaves
// rotation (one state change), the next provider serves; when every
// provider is at its budget the request gets a clear error; the window's
// reset by the ledger's clock brings the provider back.
func TestBudget(t *testing.T) {
	t.Parallel()
	// The clock is at least 12 hours ahead of real time, so that the
	// health tracker's own timer (real time) does not end the state first.
	now := time.Now().In(time.Local)
	clk := &testClock{t: time.Date(now.Year(), now.Month(), now.Day()+1, 12, 0, 0, 0, time.Local)}
	e := newEnvOpts(t, func(c *config.Config) {
		for i := range c.Providers {
			// 12 input tokens at $1000 per million: $0.012 per request.
			c.Providers[i].Prices = &config.Prices{Input: 1000}
			c.Providers[i].Budget = config.Budget{DailyUSD: 0.01}
		}
	}, Options{UsagePath: filepath.Join(t.TempDir(), "usage.db"), Now: clk.now}, ups("A", "B")...)
	events, unsub := e.srv.Subscribe()
	defer unsub()
	servedBy := func() (int, string, string) {
		a := get(t, e.ask(t.Context(), claudeBody("claude-sonnet-5", false)))
		e.waitIdle()
		return a.status, a.header.Get("X-Provider-Used"), a.body
	}
	if _, p, _ := servedBy(); p != "A" {
		t.Fatalf("first request served by %q", p)
	}
	st := e.srv.health.Status("A")
	midnight := time.Date(clk.t.Year(), clk.t.Month(), clk.t.Day()+1, 0, 0, 0, 0, time.Local)
	if st.State != health.StateBudgetReached || !st.Until.Equal(midnight) || !strings.Contains(st.Reason, "daily budget of $0.01 reached") {
		t.Fatalf("A after its budget: %+v", st)
	}
	if _, p, _ := servedBy(); p != "B" {
		t.Fatalf("second request served by %q, want B", p)
	}
	status, _, body := servedBy()
	_, msg, _ := anthropic.ParseError([]byte(body))
	if status != http.StatusPaymentRequired || !strings.Contains(msg, "A: not tried (daily budget of $0.01 reached ($0.01 spent today), back ") || !strings.Contains(msg, "B: not tried (daily budget") {
		t.Fatalf("with every provider at its budget: %d %s", status, msg)
	}
	t.Logf("the answer when every budget is spent: %s", msg)
	holds := 0
	for len(events) > 0 {
		if ev := <-events; ev.Kind == EventProviderState && ev.Provider == "A" && ev.State == health.StateBudgetReached {
			holds++
		}
	}
	if holds != 1 {
		t.Errorf("A entered budget_reached %d times, want once", holds)
	}
	clk.add(12*time.Hour + time.Second)
	if _, p, _ := servedBy(); p != "A" {
		t.Fatalf("after midnight served by %q, want A back", p)
	}
	if st := e.srv.health.Status("A"); st.State != health.StateBudgetReached {
		// The day's first request spent the new day's budget again.
		t.Errorf("A after the first request of the new day: %+v", st)
	}
}
