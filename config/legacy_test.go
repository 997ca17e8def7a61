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
	"ANYROUTER_TOKEN": "tok-any", "OPENROUTER_API_KEY": "sk-or", "ANTHROPIC_API_KEY": "sk-ant",
})

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
	counts := map[string]int{}
	for _, w := range cfg.Warnings {
		if i := strings.Index(w, ": ignored"); i >= 0 {
			field := w[strings.Index(w, ": ")+2 : i]
			counts[field]++
		}
	}
	for _, key := range []string{
		"providers[].streaming_mode", "settings.idle_recovery_interval", "settings.failover_http_codes",
		"settings.failover_error_types", "settings.app_name", "settings.app_version", "settings.oauth",
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
		`p.yaml:7: settings.log_file_path: ignored: settings.log_file is also set`,
	}
	if diff := cmp.Diff(want, cfg.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
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
