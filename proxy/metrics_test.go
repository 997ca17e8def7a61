package proxy

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/internal/fake"
	"github.com/ccbalancer/ccbalancer/proxy/health"
)

// TestMetrics: GET /metrics parses with the Prometheus text parser whatever
// the provider names hold (quotes, backslashes, newlines, tabs, non-ASCII),
// and its values are those of a known state: one request failed over from a
// 529 (cooling), a 401 (needs attention) and a 429 (rate limited) to a
// provider that answered, with a fifth provider disabled.
func TestMetrics(t *testing.T) {
	t.Parallel()
	names := []string{`quote "q"`, `back\slash`, "new\nline", "tab\tünïcødé ✓", `all "\` + "\n\t"}
	e := newEnv(t, func(c *config.Config) {
		for i := range c.Providers {
			c.Providers[i].AuthValue = "sk-test-key" // the default is made from the name
		}
		c.Providers[4].Enabled = false
		c.Routes[0].Entries = c.Routes[0].Entries[:4]
	}, ups(names...)...)
	e.ups[names[0]].Always(fake.Reply{Mode: fake.Status, Status: 529})
	e.ups[names[1]].Always(fake.Reply{Mode: fake.Status, Status: 401})
	e.ups[names[2]].Always(fake.Reply{Mode: fake.Status, Status: 429})
	if resp, body, err := e.send(false, nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("request: %v %v %s", resp.StatusCode, err, body)
	}

	resp, err := e.client.Get(e.front.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}

	// values returns a family's series as "label=value,...": value.
	values := func(name string, typ dto.MetricType) map[string]float64 {
		t.Helper()
		f := fams[name]
		if f == nil {
			t.Fatalf("no metric %s", name)
		}
		if f.GetType() != typ {
			t.Errorf("%s is a %v, want %v", name, f.GetType(), typ)
		}
		out := map[string]float64{}
		for _, m := range f.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "provider" {
					key = l.GetValue()
				} else {
					key += "|" + l.GetName() + "=" + l.GetValue()
				}
			}
			if typ == dto.MetricType_COUNTER {
				out[key] = m.GetCounter().GetValue()
			} else {
				out[key] = m.GetGauge().GetValue()
			}
		}
		return out
	}
	perProvider := func(vs ...float64) map[string]float64 {
		out := map[string]float64{}
		for i, v := range vs {
			out[names[i]] = v
		}
		return out
	}
	counter, gauge := dto.MetricType_COUNTER, dto.MetricType_GAUGE
	for _, tt := range []struct {
		name string
		typ  dto.MetricType
		want map[string]float64
	}{
		{"ccbalancer_provider_requests_total", counter, perProvider(0, 0, 0, 1, 0)},
		{"ccbalancer_provider_failures_total", counter, perProvider(1, 1, 1, 0, 0)},
		{"ccbalancer_provider_healthy", gauge, perProvider(0, 0, 0, 1, 0)},
		{"ccbalancer_requests_in_flight", gauge, map[string]float64{"": 0}},
	} {
		if diff := cmp.Diff(tt.want, values(tt.name, tt.typ)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}

	// One series per provider and state, 1 for the current state.
	current := []health.State{health.StateCooling, health.StateNeedsAttention, health.StateRateLimited, health.StateHealthy, health.StateDisabled}
	want := map[string]float64{}
	for i, name := range names {
		for _, st := range health.States {
			want[name+"|state="+string(st)] = boolValue(st == current[i])
		}
	}
	if diff := cmp.Diff(want, values("ccbalancer_provider_state", gauge)); diff != "" {
		t.Errorf("ccbalancer_provider_state (-want +got):\n%s", diff)
	}

	// Cooling and rate limited have a timer (failure_cooldown is a minute
	// here); needs attention, healthy and disabled have none.
	cooldown := values("ccbalancer_provider_cooldown_seconds", gauge)
	for i, name := range names {
		hasTimer := cooldown[name] > 0 && cooldown[name] <= 60
		if wantTimer := i == 0 || i == 2; hasTimer != wantTimer || (!wantTimer && cooldown[name] != 0) {
			t.Errorf("cooldown of %q (%s) = %v s", name, current[i], cooldown[name])
		}
	}
	for _, name := range []string{"ccbalancer_provider_latency_p50_seconds", "ccbalancer_provider_latency_p99_seconds"} {
		if got := values(name, gauge); len(got) != len(names) || got[names[3]] <= 0 {
			t.Errorf("%s = %v, want a series per provider and a latency for the one that answered", name, got)
		}
	}
}
