package config

import (
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// legacyEnv provides the variables the original-project test files use.
var legacyEnv = env(map[string]string{
	"ANYROUTER_TOKEN": "tok-any", "OPENROUTER_API_KEY": "sk-or", "ANTHROPIC_API_KEY": "sk-ant", "GAC_KEY": "sk-gac",
})

// ignoredCounts counts the "ignored" warnings per field.
func ignoredCounts(warnings []string) map[string]int {
	counts := map[string]int{}
	for _, w := range warnings {
		if i := strings.Index(w, ": ignored"); i >= 0 {
			counts[w[strings.Index(w, ": ")+2:i]]++
		}
	}
	return counts
}

func parseFile(t *testing.T, path string) *Config {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(path, data, legacyEnv)
	if err != nil {
		t.Fatalf("%s does not load:\n%v", path, err)
	}
	return cfg
}

func TestLegacyFileLoads(t *testing.T) {
	cfg := parseFile(t, "testdata/legacy.yaml")

	wantSettings := Defaults()
	wantSettings.SelectionStrategy = StrategyRoundRobin
	wantSettings.FailureCooldown = 180 * time.Second
	wantSettings.NonstreamTimeout = 120 * time.Second  // timeouts.non_streaming.read_timeout
	wantSettings.StreamIdleTimeout = 300 * time.Second // timeouts.streaming.read_timeout
	wantSettings.ConnectTimeout = 30 * time.Second     // timeouts.*.connect_timeout
	wantSettings.LogLevel = slog.LevelWarn
	wantSettings.LogColor = false
	wantSettings.LogFile = "logs/logs.jsonl" // log_file_path
	wantSettings.EnableDeduplication = false // deduplication.enabled
	wantSettings.Port = 9090
	if diff := cmp.Diff(wantSettings, cfg.Settings); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}

	wantRoutes := []Route{
		{Pattern: "*sonnet*", Line: 37, Entries: []RouteEntry{
			{Provider: "GAC", Model: Passthrough, Priority: 1},
			{Provider: "AnyRouter", Model: Passthrough, Priority: 3},
			{Provider: "OpenRouter", Model: "google/gemini-2.5-pro", Priority: 4},
		}},
		{Pattern: "*opus*", Line: 51, Entries: []RouteEntry{{Provider: "GAC", Model: Passthrough, Priority: 1}}},
		{Pattern: "*haiku*", Line: 60, Entries: []RouteEntry{
			{Provider: "AnyRouter", Model: Passthrough, Priority: 1},
			{Provider: "OpenRouter", Model: "anthropic/claude-3.5-haiku", Priority: 2},
		}},
	}
	if diff := cmp.Diff(wantRoutes, cfg.Routes); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	if got := cfg.Providers[1].BaseURL; got != "https://gaccode.com/claudecode" {
		t.Errorf("base_url = %q, want the trailing slash removed", got)
	}

	// Each ignored key is reported exactly once, however often it appears.
	counts := ignoredCounts(cfg.Warnings)
	for _, key := range []string{
		"providers[].streaming_mode", "settings.idle_recovery_interval", "settings.failover_http_codes",
		"settings.failover_error_types", "settings.app_version", "settings.oauth",
		"settings.testing", "settings.sticky_provider_duration", "settings.unhealthy_threshold",
		"settings.timeouts.streaming.pool_timeout", "settings.timeouts.caching", "settings.deduplication.sse_error_cleanup_delay",
	} {
		if counts[key] != 1 {
			t.Errorf("%s reported %d times as ignored, want once", key, counts[key])
		}
	}
	for _, mapped := range []string{"settings.log_file_path", "settings.timeouts.streaming.read_timeout", "settings.deduplication.enabled", "settings.timeouts.non_streaming.connect_timeout"} {
		if counts[mapped] != 0 {
			t.Errorf("%s is mapped but reported as ignored", mapped)
		}
	}
}

func TestLegacyOwnKeysWin(t *testing.T) {
	cfg := mustParse(t, okProvider+`settings:
  timeouts:
    streaming: {read_timeout: 300, connect_timeout: 7}
  stream_idle_timeout: 60
  log_file_path: old.jsonl
  log_file: new.jsonl
  deduplication: {enabled: false}
  enable_deduplication: true
`, testEnv)
	s := cfg.Settings
	if s.StreamIdleTimeout != time.Minute || s.ConnectTimeout != 7*time.Second || s.LogFile != "new.jsonl" || !s.EnableDeduplication {
		t.Errorf("settings = %+v, want stream_idle_timeout 1m, connect_timeout 7s, log_file new.jsonl, dedup on", s)
	}
	want := []string{
		`p.yaml:1: model_routes: no routes: every request will fail until model_routes is set`,
		`p.yaml:5: settings.timeouts.streaming.read_timeout: ignored: settings.stream_idle_timeout is also set`,
		`p.yaml:7: settings.log_file_path: ignored: settings.log_file is also set`,
		`p.yaml:9: settings.deduplication.enabled: ignored: settings.enable_deduplication is also set`,
	}
	if diff := cmp.Diff(want, cfg.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// TestLegacyHeadersYield: a provider's own headers win over referrer_url and
// app_name, and only openai providers get them.
func TestLegacyHeadersYield(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, `providers:
  - {name: OR, type: openai, base_url: "https://or.example/v1", auth_value: k, headers: {X-Title: Mine}}
  - {name: A, type: anthropic, base_url: "https://a.example", auth_value: k}
settings:
  app_name: Theirs
  referrer_url: "https://r.example"
`, testEnv)
	want := map[string]string{"X-Title": "Mine", "Http-Referer": "https://r.example"}
	if diff := cmp.Diff(want, cfg.Providers[0].Headers); diff != "" {
		t.Errorf("openai headers (-want +got):\n%s", diff)
	}
	if cfg.Providers[1].Headers != nil {
		t.Errorf("anthropic headers = %v, want none", cfg.Providers[1].Headers)
	}
}

func TestLegacyBigSmallModels(t *testing.T) {
	cfg := parseFile(t, "testdata/legacy_v1.yaml")
	want := []Route{
		{Pattern: "*haiku*", Line: 10, Entries: []RouteEntry{
			{Provider: "anthropic_official", Model: "claude-3-5-haiku-20241022", Priority: 1},
			{Provider: "openrouter", Model: "google/gemini-2.0-flash-lite-001", Priority: 2},
		}},
		{Pattern: "*", Line: 9, Entries: []RouteEntry{
			{Provider: "anthropic_official", Model: "claude-sonnet-4-20250514", Priority: 1},
			{Provider: "openrouter", Model: "google/gemini-2.5-pro-preview", Priority: 2},
		}},
	}
	if diff := cmp.Diff(want, cfg.Routes); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	if cfg.Settings.RequestTimeout != 30*time.Second || cfg.Settings.FailureCooldown != time.Minute {
		t.Errorf("settings = %+v", cfg.Settings)
	}

	// With model_routes present, big_model and small_model are reported as ignored.
	cfg = mustParse(t, "providers:\n  - {name: A, type: anthropic, base_url: \"https://a.example\", auth_value: k, big_model: x, small_model: y}\n"+
		"  - {name: B, type: anthropic, base_url: \"https://b.example\", auth_value: k, big_model: x}\n"+
		"model_routes:\n  \"*\": [{provider: A}]\n", testEnv)
	wantWarns := []string{
		`p.yaml:2: providers[].big_model: ignored (a setting of the original project that ccbalancer does not use)`,
		`p.yaml:2: providers[].small_model: ignored (a setting of the original project that ccbalancer does not use)`,
	}
	if diff := cmp.Diff(wantWarns, cfg.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// TestLegacyV05FileLoads: a file of the original project's v0.5 loads as the
// README promises, its settings mapped where they mean something here.
func TestLegacyV05FileLoads(t *testing.T) {
	t.Parallel()
	cfg := parseFile(t, "testdata/legacy_v05.yaml")

	want := Defaults()
	want.FailureCooldown = 120 * time.Second
	want.RequestTimeout = 60 * time.Second
	want.StreamIdleTimeout = 90 * time.Second // streaming_activity_timeout (listed before timeouts.streaming.read_timeout)
	want.NonstreamTimeout = 300 * time.Second // timeouts.non_streaming.read_timeout
	want.ConnectTimeout = 15 * time.Second    // timeouts.*.connect_timeout
	want.LogFile = "logs/balancer.jsonl"      // log_file_path
	want.Port = 8090
	if diff := cmp.Diff(want, cfg.Settings); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}

	// v0.5 sent referrer_url and app_name to OpenAI-compatible providers.
	var headers []map[string]string
	for _, p := range cfg.Providers {
		headers = append(headers, p.Headers)
	}
	wantHeaders := []map[string]string{nil, nil, {"Http-Referer": "https://balancer.example.org", "X-Title": "My Claude Balancer"}}
	if diff := cmp.Diff(wantHeaders, headers); diff != "" {
		t.Errorf("provider headers (-want +got):\n%s", diff)
	}

	counts := ignoredCounts(cfg.Warnings)
	wantIgnored := map[string]int{
		"providers[].streaming_mode": 1, "settings.idle_recovery_interval": 1, "settings.app_version": 1,
		"settings.providers_config_path": 1, "settings.reload": 1, "settings.reload_includes": 1,
		"settings.streaming_timeout": 1, "settings.timeouts.non_streaming.pool_timeout": 1,
		"settings.timeouts.streaming.pool_timeout": 1, "settings.timeouts.streaming.chunk_timeout": 1,
		"settings.timeouts.streaming.first_chunk_timeout": 1, "settings.timeouts.streaming.processing_timeout": 1,
		"settings.timeouts.caching": 1, "settings.timeouts.health_check": 1, "settings.timeouts.client_disconnect": 1,
		"settings.failover_error_types": 1, "settings.failover_http_codes": 1, "settings.oauth": 1,
		"settings.deduplication.include_max_tokens_in_signature": 1, "settings.testing": 1,
	}
	if diff := cmp.Diff(wantIgnored, counts); diff != "" {
		t.Errorf("keys reported as ignored (-want +got):\n%s\nall warnings:\n%s", diff, strings.Join(cfg.Warnings, "\n"))
	}
}

// TestLegacyV05Keys: every settings key the original project's v0.5 read, and
// those its README documented, loads on its own: mapped to its meaning here,
// or reported once as ignored.
func TestLegacyV05Keys(t *testing.T) {
	t.Parallel()
	const head = "providers:\n  - {name: OR, type: openai, base_url: \"https://or.example/api/v1\", auth_value: k}\n" +
		"  - {name: A, type: anthropic, base_url: \"https://a.example\", auth_value: k}\nsettings:\n"
	tests := []struct {
		yaml    string
		mapped  func(s *Settings) // the change from Defaults
		headers map[string]string // of the openai provider
		ignored string            // the field reported as ignored
	}{
		{yaml: "selection_strategy: random", mapped: func(s *Settings) { s.SelectionStrategy = StrategyRandom }},
		{yaml: "failure_cooldown: 61", mapped: func(s *Settings) { s.FailureCooldown = 61 * time.Second }},
		{yaml: "request_timeout: 62", mapped: func(s *Settings) { s.RequestTimeout = 62 * time.Second }},
		{yaml: "log_level: DEBUG", mapped: func(s *Settings) { s.LogLevel = slog.LevelDebug }},
		{yaml: "log_color: false", mapped: func(s *Settings) { s.LogColor = false }},
		{yaml: "log_file_path: x.jsonl", mapped: func(s *Settings) { s.LogFile = "x.jsonl" }},
		{yaml: "host: localhost", mapped: func(s *Settings) { s.Host = "localhost" }},
		{yaml: "port: 8082", mapped: func(s *Settings) { s.Port = 8082 }},
		{yaml: "streaming_activity_timeout: 63", mapped: func(s *Settings) { s.StreamIdleTimeout = 63 * time.Second }},
		{yaml: "timeouts: {streaming: {read_timeout: 64}}", mapped: func(s *Settings) { s.StreamIdleTimeout = 64 * time.Second }},
		{yaml: "timeouts: {streaming: {connect_timeout: 5}}", mapped: func(s *Settings) { s.ConnectTimeout = 5 * time.Second }},
		{yaml: "timeouts: {non_streaming: {read_timeout: 65}}", mapped: func(s *Settings) { s.NonstreamTimeout = 65 * time.Second }},
		{yaml: "timeouts: {non_streaming: {connect_timeout: 6}}", mapped: func(s *Settings) { s.ConnectTimeout = 6 * time.Second }},
		{yaml: "deduplication: {enabled: false}", mapped: func(s *Settings) { s.EnableDeduplication = false }},
		{yaml: "cooldown_seconds: 66", mapped: func(s *Settings) { s.FailureCooldown = 66 * time.Second }},
		{yaml: "timeout_seconds: 67", mapped: func(s *Settings) { s.RequestTimeout = 67 * time.Second }},
		{yaml: "max_cache_size: 68", mapped: func(s *Settings) { s.CacheSizeLimit = 68 }},
		{yaml: "cache_ttl_seconds: 69", mapped: func(s *Settings) { s.CacheTTL = 69 * time.Second }},
		{yaml: "referrer_url: \"https://me.example\"", headers: map[string]string{"Http-Referer": "https://me.example"}},
		{yaml: "app_name: \"Balancer\"", headers: map[string]string{"X-Title": "Balancer"}},
		{yaml: "app_version: \"0.5.0\"", ignored: "settings.app_version"},
		{yaml: "providers_config_path: providers.yaml", ignored: "settings.providers_config_path"},
		{yaml: "reload: true", ignored: "settings.reload"},
		{yaml: "reload_includes: [\"*.py\"]", ignored: "settings.reload_includes"},
		{yaml: "streaming_timeout: 120", ignored: "settings.streaming_timeout"},
		{yaml: "idle_recovery_interval: 300", ignored: "settings.idle_recovery_interval"},
		{yaml: "failover_error_types: [timeout_error]", ignored: "settings.failover_error_types"},
		{yaml: "failover_http_codes: [502]", ignored: "settings.failover_http_codes"},
		{yaml: "timeouts: {non_streaming: {pool_timeout: 30}}", ignored: "settings.timeouts.non_streaming.pool_timeout"},
		{yaml: "timeouts: {streaming: {first_chunk_timeout: 30}}", ignored: "settings.timeouts.streaming.first_chunk_timeout"},
		{yaml: "timeouts: {streaming: {chunk_timeout: 30}}", ignored: "settings.timeouts.streaming.chunk_timeout"},
		{yaml: "timeouts: {streaming: {processing_timeout: 10}}", ignored: "settings.timeouts.streaming.processing_timeout"},
		{yaml: "timeouts: {caching: {deduplication_timeout: 300, cache_operation_timeout: 5}}", ignored: "settings.timeouts.caching"},
		{yaml: "timeouts: {health_check: {timeout: 10, connect_timeout: 5}}", ignored: "settings.timeouts.health_check"},
		{yaml: "timeouts: {client_disconnect: {check_interval: 5}}", ignored: "settings.timeouts.client_disconnect"},
		{yaml: "oauth: {enable_persistence: true, service_name: x, proxy: \"http://127.0.0.1:1\", enable_auto_refresh: true}", ignored: "settings.oauth"},
		{yaml: "deduplication: {include_max_tokens_in_signature: true}", ignored: "settings.deduplication.include_max_tokens_in_signature"},
		{yaml: "testing: {simulate_delay: true, delay_seconds: 70, delay_trigger_keywords: [x]}", ignored: "settings.testing"},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			t.Parallel()
			cfg := mustParse(t, head+"  "+tt.yaml+"\n", testEnv)
			want := Defaults()
			if tt.mapped != nil {
				tt.mapped(&want)
			}
			if diff := cmp.Diff(want, cfg.Settings); diff != "" {
				t.Errorf("settings (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.headers, cfg.Providers[0].Headers); diff != "" {
				t.Errorf("openai provider headers (-want +got):\n%s", diff)
			}
			if cfg.Providers[1].Headers != nil {
				t.Errorf("anthropic provider headers = %v, want none", cfg.Providers[1].Headers)
			}
			var wantWarns []string
			if tt.ignored != "" {
				wantWarns = []string{"p.yaml:5: " + tt.ignored + ": ignored (a setting of the original project that ccbalancer does not use)"}
			}
			if diff := cmp.Diff(wantWarns, filterWarnings(cfg.Warnings, "ignored")); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}
