package proxy

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ccbalancer/ccbalancer/proxy/health"
)

// The metrics of GET /metrics. Their values are read from a Snapshot at
// scrape time, so the proxy keeps no second set of counters for them.
var (
	metricRequests = prometheus.NewDesc("ccbalancer_provider_requests_total",
		"Requests the provider answered successfully.", []string{"provider"}, nil)
	metricFailures = prometheus.NewDesc("ccbalancer_provider_failures_total",
		"Attempts on the provider that failed.", []string{"provider"}, nil)
	metricHealthy = prometheus.NewDesc("ccbalancer_provider_healthy",
		"1 when the provider is enabled and healthy (in rotation), else 0.", []string{"provider"}, nil)
	metricState = prometheus.NewDesc("ccbalancer_provider_state",
		"The provider's state (healthy, cooling, rate_limited, needs_attention, budget_reached, disabled): 1 for the current state, 0 for the others.", []string{"provider", "state"}, nil)
	metricCooldown = prometheus.NewDesc("ccbalancer_provider_cooldown_seconds",
		"Seconds until the provider's state ends by itself; 0 when it has no timer.", []string{"provider"}, nil)
	metricLatencyP50 = prometheus.NewDesc("ccbalancer_provider_latency_p50_seconds",
		"Median time to response headers over the provider's last 256 requests.", []string{"provider"}, nil)
	metricLatencyP99 = prometheus.NewDesc("ccbalancer_provider_latency_p99_seconds",
		"99th percentile of the time to response headers over the provider's last 256 requests.", []string{"provider"}, nil)
	metricInFlight = prometheus.NewDesc("ccbalancer_requests_in_flight",
		"Client requests being served.", nil, nil)
	// From the usage ledger, when it is on: since the proxy started.
	metricTokens = prometheus.NewDesc("ccbalancer_provider_tokens_total",
		"Tokens in the provider's answers since start, by kind (input, output, cache_read, cache_write), from the usage ledger.",
		[]string{"provider", "kind"}, nil)
	metricCost = prometheus.NewDesc("ccbalancer_provider_cost_usd_total",
		"Cost of the provider's priced answers since start, in US dollars, from the usage ledger.", []string{"provider"}, nil)
	metricConnections = prometheus.NewDesc("ccbalancer_client_connections",
		"Open client connections (at most settings.max_connections).", nil, nil)
	metricBodyBytes = prometheus.NewDesc("ccbalancer_request_body_bytes",
		"Bytes of request bodies held (at most settings.max_body_memory).", nil, nil)
)

// newMetricsHandler serves the Prometheus exposition of s's state and of the
// Go runtime and process, each scrape reading a fresh Snapshot. The registry
// is the Server's own, not the library's global one.
func newMetricsHandler(s *Server) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		snapshotCollector{s},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// handleMetrics serves GET /metrics.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	s.metrics.ServeHTTP(w, r)
}

// snapshotCollector is a prometheus.Collector over the Server's snapshots.
type snapshotCollector struct{ s *Server }

// Describe implements prometheus.Collector.
func (c snapshotCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{metricRequests, metricFailures, metricHealthy, metricState,
		metricCooldown, metricLatencyP50, metricLatencyP99, metricInFlight, metricTokens, metricCost,
		metricConnections, metricBodyBytes} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- constMetric(d, prometheus.GaugeValue, v, labels...)
	}
	snap := c.s.Snapshot()
	for _, p := range snap.Providers {
		ch <- constMetric(metricRequests, prometheus.CounterValue, float64(p.Requests), p.Name)
		ch <- constMetric(metricFailures, prometheus.CounterValue, float64(p.Failures), p.Name)
		gauge(metricHealthy, boolValue(p.Healthy), p.Name)
		for _, st := range health.States {
			gauge(metricState, boolValue(p.State == st), p.Name, string(st))
		}
		gauge(metricCooldown, p.CooldownRemaining.Seconds(), p.Name)
		gauge(metricLatencyP50, p.LatencyP50.Seconds(), p.Name)
		gauge(metricLatencyP99, p.LatencyP99.Seconds(), p.Name)
		if l := c.s.ledger; l != nil {
			_, _, life := l.Totals(p.Name)
			for _, k := range []struct {
				kind string
				n    int64
			}{{"input", life.Input}, {"output", life.Output}, {"cache_read", life.CacheRead}, {"cache_write", life.CacheWrite}} {
				ch <- constMetric(metricTokens, prometheus.CounterValue, float64(k.n), p.Name, k.kind)
			}
			ch <- constMetric(metricCost, prometheus.CounterValue, life.CostUSD, p.Name)
		}
	}
	gauge(metricInFlight, float64(snap.InFlight))
	gauge(metricConnections, float64(snap.Connections))
	gauge(metricBodyBytes, float64(snap.BodyBytes))
}

// constMetric is prometheus.NewConstMetric, with a label value it refuses
// (not UTF-8) reported for that series alone instead of a panic.
func constMetric(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
