package config

import (
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// mustParse parses yaml and fails the test on error.
func mustParse(t *testing.T, yaml string, lookup func(string) (string, bool)) *Config {
	t.Helper()
	cfg, err := Parse("p.yaml", []byte(yaml), lookup)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return cfg
}

func TestParseWholeFile(t *testing.T) {
	const yaml = `providers:
  - name: GAC
    type: anthropic
    base_url: "https://gac.example/claudecode//"
    auth_type: auth_token
    auth_value: "${KEY}"
    proxy: "socks5h://127.0.0.1:1080"
  - name: OpenRouter
    type: openai
    base_url: https://openrouter.ai/api/v1
    auth_value: passthrough
    headers: {X-Title: ccbalancer, http-referer: "https://x.example"}
  - name: Off
    type: anthropic
    base_url: https://off.example
    auth_value: "${NOT_SET}"
    enabled: false
model_routes:
  claude-exact:
    - {provider: GAC, model: passthrough, priority: 5}
  "*sonnet*":
    - provider: GAC
      model: passthrough
    - provider: Off
      model: x
    - provider: OpenRouter
      model: google/gemini-2.5-pro
      max_tokens: 8192
  "*opus*":
    - {provider: Off}
settings:
  selection_strategy: ROUND_ROBIN
  failure_cooldown: "2m"
  request_timeout: 30
  stream_idle_timeout: 1.5
  connect_timeout: 5s
  host: 0.0.0.0
  port: 9000
  log_level: warning
  log_color: false
  log_file: ccb.jsonl
  log_max_size: 1MiB
  enable_deduplication: no
  cache_ttl: 0
  cache_size_limit: 10
  cache_max_size: 2MiB
  default_route: "*sonnet*"
  auth_key: "${KEY}"
  allowed_origins: ["http://localhost:3000/", "https://app.example"]
  max_body_size: 64MB
  nonstream_timeout: 5m
  max_event_size: 1MiB
  quota_near_limit: "80%"
  probe_interval: 2m
  max_body_memory: 128MiB
  body_read_timeout: 20s
  max_connections: 64
  shutdown_grace: 45
`
	got := mustParse(t, yaml, testEnv)
	want := &Config{
		Path: "p.yaml",
		Providers: []Provider{
			{Name: "GAC", Type: TypeAnthropic, BaseURL: "https://gac.example/claudecode", AuthType: AuthAuthToken,
				AuthValue: "sk-secret-from-env", Enabled: true, Proxy: "socks5h://127.0.0.1:1080", Line: 2},
			{Name: "OpenRouter", Type: TypeOpenAI, BaseURL: "https://openrouter.ai/api/v1", AuthType: AuthAPIKey,
				AuthValue: Passthrough, Enabled: true, Line: 8,
				Headers: map[string]string{"X-Title": "ccbalancer", "Http-Referer": "https://x.example"}},
			{Name: "Off", Type: TypeAnthropic, BaseURL: "https://off.example", AuthType: AuthAPIKey, Line: 13},
		},
		Routes: []Route{
			{Pattern: "claude-exact", Line: 19, Entries: []RouteEntry{{Provider: "GAC", Model: Passthrough, Priority: 5}}},
			{Pattern: "*sonnet*", Line: 21, Entries: []RouteEntry{
				{Provider: "GAC", Model: Passthrough, Priority: 1},
				{Provider: "OpenRouter", Model: "google/gemini-2.5-pro", Priority: 3, MaxTokens: 8192},
			}},
			{Pattern: "*opus*", Line: 29},
		},
		Settings: Settings{
			SelectionStrategy:   StrategyRoundRobin,
			FailureCooldown:     2 * time.Minute,
			RequestTimeout:      30 * time.Second,
			StreamIdleTimeout:   1500 * time.Millisecond,
			ConnectTimeout:      5 * time.Second,
			Host:                "0.0.0.0",
			Port:                9000,
			LogLevel:            slog.LevelWarn,
			LogColor:            false,
			LogFile:             "ccb.jsonl",
			LogMaxBytes:         1 << 20,
			EnableDeduplication: false,
			CacheTTL:            0,
			CacheSizeLimit:      10,
			CacheMaxBytes:       2 << 20,
			UsageRetention:      90 * 24 * time.Hour,
			DefaultRoute:        "*sonnet*",
			AuthKey:             "sk-secret-from-env",
			AllowedOrigins:      []string{"http://localhost:3000", "https://app.example"},
			MaxBodyBytes:        64_000_000,
			NonstreamTimeout:    5 * time.Minute,
			MaxEventBytes:       1 << 20,
			QuotaNearLimit:      0.8,
			ProbeInterval:       2 * time.Minute,
			MaxBodyMemory:       128 << 20,
			BodyReadTimeout:     20 * time.Second,
			MaxConnections:      64,
			ShutdownGrace:       45 * time.Second,
		},
		Warnings: []string{
			`p.yaml:16: providers[2].auth_value: provider "Off": environment variable NOT_SET is not set (the provider is disabled)`,
			`p.yaml:24: model_routes["*sonnet*"][1].provider: provider "Off" is disabled: entry skipped`,
			`p.yaml:29: model_routes["*opus*"]: no enabled provider left: requests for this route will fail`,
			`p.yaml:30: model_routes["*opus*"][0].provider: provider "Off" is disabled: entry skipped`,
		},
	}
	// Secrets compare by value: Reveal is what the proxy uses.
	if diff := cmp.Diff(want, got, cmp.Transformer("reveal", Secret.Reveal)); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestParseMinimalUsesDefaults(t *testing.T) {
	got := mustParse(t, okProvider+"model_routes:\n  \"*\": [{provider: A}]\nsettings:\n", testEnv)
	if diff := cmp.Diff(Defaults(), got.Settings); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
	if len(got.Warnings) != 0 {
		t.Errorf("warnings = %q, want none", got.Warnings)
	}
}

func TestParseAuthValue(t *testing.T) {
	tests := []struct {
		name      string
		value     string
		enabled   string
		want      string
		wantWarns []string
	}{
		{name: "whole variable", value: `"${KEY}"`, want: "sk-secret-from-env"},
		{name: "variable inside text", value: `"Bearer-${KEY}-x"`, want: "Bearer-sk-secret-from-env-x"},
		{name: "bare dollar is literal", value: `"pa$$word$KEY"`, want: "pa$$word$KEY"},
		{name: "passthrough", value: "passthrough", want: Passthrough},
		{name: "plain text", value: "sk-plain", want: "sk-plain"},
		{name: "empty variable", value: `"${EMPTY}"`, want: "",
			wantWarns: []string{`p.yaml:5: providers[0].auth_value: provider "A" has no credential: requests are sent without one`}},
		{name: "empty string", value: `""`, want: "",
			wantWarns: []string{`p.yaml:5: providers[0].auth_value: provider "A" has no credential: requests are sent without one`}},
		{name: "missing variable, disabled provider", value: `"${NOPE}"`, enabled: "false", want: "",
			wantWarns: []string{`p.yaml:5: providers[0].auth_value: provider "A": environment variable NOPE is not set (the provider is disabled)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			enabled := tt.enabled
			if enabled == "" {
				enabled = "true"
			}
			yaml := "providers:\n  - name: A\n    type: anthropic\n    base_url: https://a.example\n    auth_value: " + tt.value + "\n    enabled: " + enabled + "\n"
			cfg := mustParse(t, yaml, testEnv)
			if got := cfg.Providers[0].AuthValue.Reveal(); got != tt.want {
				t.Errorf("auth_value = %q, want %q", got, tt.want)
			}
			warns := filterWarnings(cfg.Warnings, "auth_value")
			if diff := cmp.Diff(tt.wantWarns, warns); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

// filterWarnings keeps the warnings mentioning s.
func filterWarnings(warns []string, s string) []string {
	var out []string
	for _, w := range warns {
		if strings.Contains(w, s) {
			out = append(out, w)
		}
	}
	return out
}

func TestParseDurations(t *testing.T) {
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"90", 90 * time.Second},
		{`"90"`, 90 * time.Second},
		{"1.5", 1500 * time.Millisecond},
		{`"90s"`, 90 * time.Second},
		{"2m30s", 150 * time.Second},
		{`"250ms"`, 250 * time.Millisecond},
		{"1h", time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			t.Parallel()
			cfg := mustParse(t, okProvider+"settings:\n  failure_cooldown: "+tt.value+"\n", testEnv)
			if got := cfg.Settings.FailureCooldown; got != tt.want {
				t.Errorf("failure_cooldown %s = %v, want %v", tt.value, got, tt.want)
			}
		})
	}
}

func TestParseSizes(t *testing.T) {
	tests := []struct {
		value string
		want  int64
	}{
		{"1048576", 1 << 20},
		{"32MiB", 32 << 20},
		{"32MB", 32_000_000},
		{`"32 mib"`, 32 << 20},
		{"512k", 512 << 10},
		{"2KB", 2000},
		{"1GiB", 1 << 30},
		{"100B", 100},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			t.Parallel()
			cfg := mustParse(t, okProvider+"settings:\n  max_body_size: "+tt.value+"\n  log_max_size: "+tt.value+"\n", testEnv)
			if got := cfg.Settings.MaxBodyBytes; got != tt.want {
				t.Errorf("max_body_size %s = %d, want %d", tt.value, got, tt.want)
			}
			if got := cfg.Settings.LogMaxBytes; got != tt.want {
				t.Errorf("log_max_size %s = %d, want %d", tt.value, got, tt.want)
			}
		})
	}
}

func TestParseLogLevels(t *testing.T) {
	tests := []struct {
		value string
		want  slog.Level
	}{
		{"DEBUG", slog.LevelDebug},
		{"info", slog.LevelInfo},
		{"Warning", slog.LevelWarn},
		{"WARN", slog.LevelWarn},
		{"error", slog.LevelError},
		{"CRITICAL", slog.LevelError},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			t.Parallel()
			cfg := mustParse(t, okProvider+"settings:\n  log_level: "+tt.value+"\n", testEnv)
			if got := cfg.Settings.LogLevel; got != tt.want {
				t.Errorf("log_level %s = %v, want %v", tt.value, got, tt.want)
			}
		})
	}
}

func TestParseHosts(t *testing.T) {
	tests := []struct {
		host    string
		wantErr bool
	}{
		{"127.0.0.1", false},
		{"localhost", false},
		{"::1", false},
		{"127.0.0.2", false},
		{"0.0.0.0", true},
		{"::", true},
		{"192.168.1.10", true},
		{"", true},
	}
	for _, tt := range tests {
		t.Run("host="+tt.host, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("p.yaml", []byte(okProvider+"settings:\n  host: "+strconv.Quote(tt.host)+"\n"), testEnv)
			if (err != nil) != tt.wantErr {
				t.Errorf("host %s: err = %v, want error %v", tt.host, err, tt.wantErr)
			}
			// With a client key every address is allowed.
			if _, err := Parse("p.yaml", []byte(okProvider+"settings:\n  auth_key: k\n  host: "+strconv.Quote(tt.host)+"\n"), testEnv); err != nil {
				t.Errorf("host %s with auth_key: %v", tt.host, err)
			}
		})
	}
}

func TestRouteEntriesFlowAndBlockAgree(t *testing.T) {
	flow := mustParse(t, okProvider+"model_routes:\n  \"*\":\n    - {provider: A, model: m, priority: 2, max_tokens: 100}\n    - {provider: A}\n", testEnv)
	block := mustParse(t, okProvider+"model_routes:\n  \"*\":\n    - provider: A\n      model: m\n      priority: 2\n      max_tokens: 100\n    - provider: A\n", testEnv)
	want := []RouteEntry{
		{Provider: "A", Model: "m", Priority: 2, MaxTokens: 100},
		{Provider: "A", Model: Passthrough, Priority: 2}, // position+1 by default
	}
	for name, cfg := range map[string]*Config{"flow": flow, "block": block} {
		if diff := cmp.Diff(want, cfg.Routes[0].Entries); diff != "" {
			t.Errorf("%s entries (-want +got):\n%s", name, diff)
		}
	}
}

func TestExampleFileParses(t *testing.T) {
	data, err := os.ReadFile("../providers.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	all := Sources{
		Env:     func(name string) (string, bool) { return "value-of-" + name, true },
		Keyring: func(name string) (string, error) { return "keyring-value-of-" + name, nil },
	}
	cfg, err := ParseWith("providers.example.yaml", data, all)
	if err != nil {
		t.Fatalf("the example does not parse:\n%v", err)
	}
	if diff := cmp.Diff(Defaults(), cfg.Settings); diff != "" {
		t.Errorf("the example's settings should be the defaults (-want +got):\n%s", diff)
	}
	var names []string
	for _, p := range cfg.Providers {
		names = append(names, string(p.Type)+":"+p.Name)
	}
	if diff := cmp.Diff([]string{"anthropic:Anthropic", "anthropic:Relay", "openai:OpenRouter"}, names); diff != "" {
		t.Errorf("providers (-want +got):\n%s", diff)
	}
	var patterns []string
	for _, r := range cfg.Routes {
		patterns = append(patterns, r.Pattern)
		if len(r.Entries) == 0 {
			t.Errorf("route %s has no entries", r.Pattern)
		}
	}
	if diff := cmp.Diff([]string{"*opus*", "*sonnet*", "*haiku*"}, patterns); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	if got := cfg.Providers[0].AuthValue.Reveal(); got != "keyring-value-of-anthropic" {
		t.Errorf("auth_value not read from the keyring: %q", got)
	}
	if got := cfg.Providers[0].Prices; got == nil || *got != (Prices{Input: 3, Output: 15, CacheRead: 0.30, CacheWrite: 3.75}) {
		t.Errorf("the example's prices: %+v", got)
	}
	if got := cfg.Providers[2].AuthValue.Reveal(); got != "value-of-OPENROUTER_API_KEY" {
		t.Errorf("auth_value not expanded from the environment: %q", got)
	}
	// With an empty keyring and environment the enabled providers' keys are
	// missing, and the messages say how to provide them.
	_, err = ParseWith("providers.example.yaml", data, Sources{Keyring: (&fakeKeyring{}).get})
	want := []string{
		"providers.example.yaml:27: providers[0].auth_value: provider \"Anthropic\": keyring entry \"anthropic\" is not stored: store it with `ccbalancer secret set anthropic`",
		`providers.example.yaml:56: providers[2].auth_value: provider "OpenRouter": environment variable OPENROUTER_API_KEY is not set`,
	}
	if diff := cmp.Diff(want, errLines(t, err)); diff != "" {
		t.Errorf("errors without environment (-want +got):\n%s", diff)
	}
}

// TestNoKeyForLocalServer: a provider on this machine without auth_value
// (Ollama, vLLM) draws no warning; one elsewhere, or an auth_value that
// came out empty, does.
func TestNoKeyForLocalServer(t *testing.T) {
	for _, tt := range []struct {
		name, provider string
		warn           bool
	}{
		{"local, no auth_value", `{name: O, type: openai, base_url: "http://127.0.0.1:11434/v1"}`, false},
		{"localhost, no auth_value", `{name: O, type: openai, base_url: "http://localhost:8000/v1"}`, false},
		{"remote, no auth_value", `{name: O, type: openai, base_url: "https://api.example.com/v1"}`, true},
		{"local, empty auth_value", `{name: O, type: openai, base_url: "http://127.0.0.1:11434/v1", auth_value: ""}`, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("p.yaml", []byte("providers:\n  - "+tt.provider+"\nmodel_routes:\n  \"*\": [{provider: O, model: m}]\n"), func(string) (string, bool) { return "", false })
			if err != nil {
				t.Fatal(err)
			}
			if got := len(cfg.Warnings) > 0 && strings.Contains(strings.Join(cfg.Warnings, "\n"), "has no credential"); got != tt.warn {
				t.Errorf("warned %v, want %v: %q", got, tt.warn, cfg.Warnings)
			}
		})
	}
}
