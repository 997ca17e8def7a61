package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// okProvider is a valid provider entry on one line, for cases about other parts.
const okProvider = "providers:\n  - {name: A, type: anthropic, base_url: \"https://a.example\", auth_value: \"${KEY}\"}\n"

// env is the environment the parse tests see.
func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

var testEnv = env(map[string]string{"KEY": "sk-secret-from-env", "EMPTY": ""})

// errLines returns the lines of a Parse error, failing if it is not *Errors.
func errLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var list *Errors
	if !errors.As(err, &list) {
		t.Fatalf("error is %T, want *Errors: %v", err, err)
	}
	return strings.Split(list.Error(), "\n")
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "misspelt key in a route entry",
			yaml: okProvider + "model_routes:\n  \"*\":\n    - provider: A\n      prioirty: 1\n",
			want: []string{`p.yaml:6: model_routes["*"][0].prioirty: unknown key "prioirty"`},
		},
		{
			name: "unknown top-level key",
			yaml: okProvider + "model_route: {}\n",
			want: []string{`p.yaml:3: model_route: unknown key "model_route" (expected providers, model_routes, settings or profiles)`},
		},
		{
			name: "unknown provider key",
			yaml: "providers:\n  - name: A\n    type: anthropic\n    base_url: https://a.example\n    baseurl: x\n",
			want: []string{`p.yaml:5: providers[0].baseurl: unknown key "baseurl"`},
		},
		{
			name: "missing name, type and base_url",
			yaml: "providers:\n  - auth_value: x\n",
			want: []string{
				"p.yaml:2: providers[0].name: a non-empty name is required",
				"p.yaml:2: providers[0].type: required: anthropic or openai",
				"p.yaml:2: providers[0].base_url: required: an absolute http(s) URL",
			},
		},
		{
			name: "zed is not supported",
			yaml: "providers:\n  - name: Z\n    type: zed\n    base_url: https://z.example\n",
			want: []string{`p.yaml:3: providers[0].type: type "zed" is not supported by ccbalancer: use anthropic or openai`},
		},
		{
			name: "unknown type",
			yaml: "providers:\n  - name: Z\n    type: gemini\n    base_url: https://z.example\n",
			want: []string{`p.yaml:3: providers[0].type: "gemini" is not one of anthropic, openai`},
		},
		{
			name: "base_url without scheme",
			yaml: "providers:\n  - name: A\n    type: openai\n    base_url: api.example.com/v1\n",
			want: []string{`p.yaml:4: providers[0].base_url: "api.example.com/v1" must start with http:// or https://`},
		},
		{
			name: "base_url without host",
			yaml: "providers:\n  - name: A\n    type: openai\n    base_url: \"https://\"\n",
			want: []string{`p.yaml:4: providers[0].base_url: "https://" has no host`},
		},
		{
			name: "base_url with a query",
			yaml: "providers:\n  - name: A\n    type: openai\n    base_url: \"https://a.example/v1?x=1\"\n",
			want: []string{`p.yaml:4: providers[0].base_url: "https://a.example/v1?x=1" must not have a query or fragment`},
		},
		{
			name: "bad auth_type",
			yaml: "providers:\n  - name: A\n    type: anthropic\n    base_url: https://a.example\n    auth_type: bearer\n",
			want: []string{`p.yaml:5: providers[0].auth_type: "bearer" is not one of api_key, auth_token`},
		},
		{
			name: "missing environment variable of an enabled provider",
			yaml: "providers:\n  - name: A\n    type: anthropic\n    base_url: https://a.example\n    auth_value: \"${NOPE}\"\n",
			want: []string{`p.yaml:5: providers[0].auth_value: provider "A": environment variable NOPE is not set`},
		},
		{
			name: "unterminated reference",
			yaml: "providers:\n  - name: A\n    type: anthropic\n    base_url: https://a.example\n    auth_value: \"${KEY\"\n",
			want: []string{`p.yaml:5: providers[0].auth_value: unterminated or invalid ${...} reference`},
		},
		{
			name: "proxy with an unsupported scheme",
			yaml: "providers:\n  - name: A\n    type: anthropic\n    base_url: https://a.example\n    proxy: \"ftp://user:pw@p.example\"\n",
			want: []string{`p.yaml:5: providers[0].proxy: scheme "ftp" is not one of http, https, socks5, socks5h`},
		},
		{
			name: "enabled not a bool",
			yaml: "providers:\n  - name: A\n    type: anthropic\n    base_url: https://a.example\n    enabled: maybe\n",
			want: []string{`p.yaml:5: providers[0].enabled: must be true or false`},
		},
		{
			name: "bad header name and multi-line value",
			yaml: "providers:\n  - name: A\n    type: openai\n    base_url: https://a.example\n    headers:\n      \"X Title\": x\n      X-Ok: \"a\\nb\"\n      Host: h\n",
			want: []string{
				`p.yaml:6: providers[0].headers.X Title: "X Title" is not a valid header name`,
				`p.yaml:7: providers[0].headers.X-Ok: a header value must be a single line`,
				`p.yaml:8: providers[0].headers.Host: Host is set by the proxy and cannot be configured`,
			},
		},
		{
			name: "duplicate provider name",
			yaml: "providers:\n  - {name: A, type: anthropic, base_url: \"https://a.example\"}\n  - {name: A, type: openai, base_url: \"https://b.example\"}\n",
			want: []string{`p.yaml:3: providers[1].name: duplicate provider name "A" (first at line 2)`},
		},
		{
			name: "providers not a list",
			yaml: "providers:\n  name: A\n",
			want: []string{`p.yaml:2: providers: must be a list, not a mapping`},
		},
		{
			name: "empty providers list",
			yaml: "providers: []\n",
			want: []string{`p.yaml:1: providers: at least one provider is required`},
		},
		{
			name: "no providers key",
			yaml: "settings: {port: 8081}\n",
			want: []string{`p.yaml:1: providers: at least one provider is required`},
		},
		{
			name: "empty file",
			yaml: "",
			want: []string{`p.yaml:1: the file is empty: at least one provider is required`},
		},
		{
			name: "not a mapping",
			yaml: "- a\n- b\n",
			want: []string{`p.yaml:1: must be a mapping, not a list`},
		},
		{
			name: "invalid YAML",
			yaml: okProvider + "settings: port: 1\n",
			want: []string{`p.yaml:3: invalid YAML: mapping values are not allowed in this context`},
		},
		{
			name: "provider that is not a mapping",
			yaml: "providers:\n  - GAC\n",
			want: []string{`p.yaml:2: providers[0]: must be a mapping, not a scalar`},
		},
		{
			name: "name that is not a string",
			yaml: "providers:\n  - name: {x: 1}\n    type: openai\n    base_url: https://a.example\n",
			want: []string{`p.yaml:2: providers[0].name: must be a string, not a mapping`},
		},
		{
			name: "proxy without host, header with a missing variable",
			yaml: "providers:\n  - name: A\n    type: openai\n    base_url: https://a.example\n    proxy: \"socks5://\"\n    headers: {X-Key: \"${NOPE}\"}\n",
			want: []string{
				`p.yaml:5: providers[0].proxy: the proxy URL has no host`,
				`p.yaml:6: providers[0].headers.X-Key: provider "A": environment variable NOPE is not set`,
			},
		},
		{
			name: "auth_key with a missing variable",
			yaml: okProvider + "settings:\n  auth_key: \"${NOPE}\"\n",
			want: []string{`p.yaml:4: settings.auth_key: environment variable NOPE is not set`},
		},
		{
			name: "invalid variable name",
			yaml: okProvider + "settings:\n  auth_key: \"${1X}\"\n",
			want: []string{`p.yaml:4: settings.auth_key: unterminated or invalid ${...} reference`},
		},
		{
			name: "second document",
			yaml: okProvider + "---\nproviders: []\n",
			want: []string{`p.yaml:3: only one YAML document is allowed (found a second one after ---)`},
		},
		{
			name: "duplicate key",
			yaml: okProvider + "settings:\n  port: 1\n  port: 2\n",
			want: []string{`p.yaml:5: settings.port: duplicate key "port" (first at line 4)`},
		},
		{
			name: "route naming an unknown provider",
			yaml: okProvider + "model_routes:\n  \"*sonnet*\":\n    - {provider: B, model: x}\n",
			want: []string{`p.yaml:5: model_routes["*sonnet*"][0].provider: unknown provider "B"`},
		},
		{
			name: "route entry without provider",
			yaml: okProvider + "model_routes:\n  \"*sonnet*\":\n    - {model: x}\n",
			want: []string{`p.yaml:5: model_routes["*sonnet*"][0].provider: required: the name of a provider`},
		},
		{
			name: "route with no entries",
			yaml: okProvider + "model_routes:\n  \"*sonnet*\": []\n",
			want: []string{`p.yaml:4: model_routes["*sonnet*"]: a route needs at least one entry`},
		},
		{
			name: "route entry with bad numbers",
			yaml: okProvider + "model_routes:\n  \"*\":\n    - {provider: A, priority: first, max_tokens: -5}\n",
			want: []string{
				`p.yaml:5: model_routes["*"][0].priority: must be a whole number`,
				`p.yaml:5: model_routes["*"][0].max_tokens: must be a positive number (or 0 for no limit)`,
			},
		},
		{
			name: "bad strategy",
			yaml: okProvider + "settings:\n  selection_strategy: fastest\n",
			want: []string{`p.yaml:4: settings.selection_strategy: "fastest" is not one of priority, round_robin, random`},
		},
		{
			name: "ports out of range",
			yaml: okProvider + "settings:\n  port: 0\n",
			want: []string{`p.yaml:4: settings.port: 0 is not a port between 1 and 65535`},
		},
		{
			name: "negative and malformed durations",
			yaml: okProvider + "settings:\n  failure_cooldown: -1\n  request_timeout: 10 minutes\n  cache_ttl: \"-5s\"\n  stream_idle_timeout: [1]\n",
			want: []string{
				`p.yaml:4: settings.failure_cooldown: must be greater than zero`,
				`p.yaml:5: settings.request_timeout: "10 minutes" is not a number of seconds or a duration such as "90s"`,
				`p.yaml:6: settings.cache_ttl: must not be negative (0 turns the cache off)`,
				`p.yaml:7: settings.stream_idle_timeout: must be a number of seconds or a duration such as "90s"`,
			},
		},
		{
			name: "bad sizes",
			yaml: okProvider + "settings:\n  max_body_size: 32 parsecs\n  log_max_size: 0\n",
			want: []string{
				`p.yaml:4: settings.max_body_size: "32 parsecs" must be a positive number of bytes, or a size such as "32MiB" or "32MB"`,
				`p.yaml:5: settings.log_max_size: must be a positive number of bytes, or a size such as "32MiB" or "32MB"`,
			},
		},
		{
			name: "bad log level",
			yaml: okProvider + "settings:\n  log_level: LOUD\n",
			want: []string{`p.yaml:4: settings.log_level: "LOUD" is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL`},
		},
		{
			name: "non-loopback host without auth_key",
			yaml: okProvider + "settings:\n  host: 0.0.0.0\n",
			want: []string{`p.yaml:4: settings.host: listening on "0.0.0.0" (not a loopback address) requires settings.auth_key, so that other machines cannot spend your keys`},
		},
		{
			name: "default_route naming no route",
			yaml: okProvider + "model_routes:\n  \"*sonnet*\": [{provider: A}]\nsettings:\n  default_route: \"*opus*\"\n",
			want: []string{`p.yaml:6: settings.default_route: "*opus*" is not the pattern of a route in model_routes`},
		},
		{
			name: "bad origin",
			yaml: okProvider + "settings:\n  allowed_origins: [\"https://ok.example\", \"https://x.example/path\", \"*\"]\n",
			want: []string{
				`p.yaml:4: settings.allowed_origins[1]: "https://x.example/path" is not an origin such as https://example.com or http://localhost:3000`,
				`p.yaml:4: settings.allowed_origins[2]: "*" is not an origin such as https://example.com or http://localhost:3000`,
			},
		},
		{
			name: "unknown settings key",
			yaml: okProvider + "settings:\n  listen: 127.0.0.1:9000\n",
			want: []string{`p.yaml:4: settings.listen: unknown key "listen"`},
		},
		{
			name: "mapped legacy timeout with a bad value",
			yaml: okProvider + "settings:\n  timeouts:\n    streaming:\n      read_timeout: soon\n",
			want: []string{`p.yaml:6: settings.timeouts.streaming.read_timeout: "soon" is not a number of seconds or a duration such as "90s"`},
		},
		{
			name: "legacy header setting on two lines",
			yaml: okProvider + "settings:\n  referrer_url: \"https://a.example\\r\\nX-Evil: 1\"\n",
			want: []string{`p.yaml:4: settings.referrer_url: must be a single line (it is sent as the Http-Referer header)`},
		},
		{
			name: "mapped legacy key with a bad value",
			yaml: okProvider + "settings:\n  max_cache_size: lots\n  streaming_activity_timeout: 0\n",
			want: []string{
				`p.yaml:4: settings.max_cache_size: must be a whole number`,
				`p.yaml:5: settings.streaming_activity_timeout: must be greater than zero`,
			},
		},
		{
			name: "every problem of a file, in file order",
			yaml: `providers:
  - name: A
    type: zed
    base_url: https://a.example
  - name: B
    type: openai
    base_url: ftp://b.example
    auth_value: "${MISSING}"
    prioirty: 2
model_routes:
  "*sonnet*":
    - {provider: C}
settings:
  port: 99999
  selection_strategy: best
`,
			want: []string{
				`p.yaml:3: providers[0].type: type "zed" is not supported by ccbalancer: use anthropic or openai`,
				`p.yaml:7: providers[1].base_url: "ftp://b.example" must start with http:// or https://`,
				`p.yaml:8: providers[1].auth_value: provider "B": environment variable MISSING is not set`,
				`p.yaml:9: providers[1].prioirty: unknown key "prioirty"`,
				`p.yaml:12: model_routes["*sonnet*"][0].provider: unknown provider "C"`,
				`p.yaml:14: settings.port: 99999 is not a port between 1 and 65535`,
				`p.yaml:15: settings.selection_strategy: "best" is not one of priority, round_robin, random`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Parse("p.yaml", []byte(tt.yaml), testEnv)
			if err == nil {
				t.Fatalf("Parse succeeded, want errors; config: %+v", cfg)
			}
			if cfg != nil {
				t.Errorf("Parse returned a config along with errors")
			}
			if diff := cmp.Diff(tt.want, errLines(t, err)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNonPositiveDurations: a zero or negative timeout fails every request
// and a zero cooldown never rests a failing provider, so each is refused with
// its line, whatever key (the original project's included) or spelling sets
// it. cache_ttl is the exception: 0 turns the cache off.
func TestNonPositiveDurations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, settings string
		want           []string // nil: loads
	}{
		{"request_timeout 0", "  request_timeout: 0\n", []string{`p.yaml:4: settings.request_timeout: must be greater than zero`}},
		{"stream_idle_timeout 0s", "  stream_idle_timeout: \"0s\"\n", []string{`p.yaml:4: settings.stream_idle_timeout: must be greater than zero`}},
		{"connect_timeout 0.0", "  connect_timeout: 0.0\n", []string{`p.yaml:4: settings.connect_timeout: must be greater than zero`}},
		{"nonstream_timeout 0ms", "  nonstream_timeout: 0ms\n", []string{`p.yaml:4: settings.nonstream_timeout: must be greater than zero`}},
		{"failure_cooldown negative", "  failure_cooldown: -90\n", []string{`p.yaml:4: settings.failure_cooldown: must be greater than zero`}},
		{"request_timeout rounds to zero", "  request_timeout: 1e-12\n", []string{`p.yaml:4: settings.request_timeout: must be greater than zero`}},
		{"request_timeout negative duration", "  request_timeout: -1m\n", []string{`p.yaml:4: settings.request_timeout: must be greater than zero`}},
		{"legacy streaming read_timeout 0", "  timeouts:\n    streaming:\n      read_timeout: 0\n",
			[]string{`p.yaml:6: settings.timeouts.streaming.read_timeout: must be greater than zero`}},
		{"legacy non_streaming timeouts", "  timeouts:\n    non_streaming:\n      connect_timeout: -1\n      read_timeout: 0s\n", []string{
			`p.yaml:6: settings.timeouts.non_streaming.connect_timeout: must be greater than zero`,
			`p.yaml:7: settings.timeouts.non_streaming.read_timeout: must be greater than zero`,
		}},
		{"legacy v0.5 timeouts", "  cooldown_seconds: 0\n  timeout_seconds: -1\n  streaming_activity_timeout: 0s\n", []string{
			`p.yaml:4: settings.cooldown_seconds: must be greater than zero`,
			`p.yaml:5: settings.timeout_seconds: must be greater than zero`,
			`p.yaml:6: settings.streaming_activity_timeout: must be greater than zero`,
		}},
		{"shutdown_grace 0", "  shutdown_grace: 0\n", []string{`p.yaml:4: settings.shutdown_grace: must be greater than zero`}},
		{"body_read_timeout negative", "  body_read_timeout: -5s\n", []string{`p.yaml:4: settings.body_read_timeout: must be greater than zero`}},
		{"cache_ttl 0 is off", "  cache_ttl: 0\n", nil},
		{"legacy cache_ttl_seconds 0 is off", "  cache_ttl_seconds: 0\n", nil},
		{"cache_ttl negative", "  cache_ttl: -1\n", []string{`p.yaml:4: settings.cache_ttl: must not be negative (0 turns the cache off)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Parse("p.yaml", []byte(okProvider+"settings:\n"+tt.settings), testEnv)
			if diff := cmp.Diff(tt.want, errLines(t, err)); diff != "" {
				t.Fatalf("errors (-want +got):\n%s", diff)
			}
			if tt.want == nil && cfg.Settings.CacheTTL != 0 {
				t.Errorf("cache_ttl = %v, want 0", cfg.Settings.CacheTTL)
			}
		})
	}
}

func TestErrorsUnwrap(t *testing.T) {
	_, err := Parse("p.yaml", []byte("providers: []\nextra: 1\n"), testEnv)
	var one *Error
	if !errors.As(err, &one) {
		t.Fatalf("errors.As(*Error) failed on %v", err)
	}
	want := Error{File: "p.yaml", Line: 1, Field: "providers", Msg: "at least one provider is required"}
	if diff := cmp.Diff(want, *one); diff != "" {
		t.Errorf("first error (-want +got):\n%s", diff)
	}
}

// TestResourceLimits: the bounds on connections and body memory are read,
// checked against each other, and follow max_body_size when left unset.
func TestResourceLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, settings string
		memory         int64
		conns          int
		want           []string
	}{
		{"defaults", "  port: 8080\n", 256 << 20, 256, nil},
		{"set", "  max_body_memory: 1GiB\n  max_connections: 32\n", 1 << 30, 32, nil},
		{"memory follows a larger max_body_size", "  max_body_size: 512MiB\n", 512 << 20, 256, nil},
		{"memory below max_body_size", "  max_body_size: 64MiB\n  max_body_memory: 16MiB\n", 0, 0, []string{
			`p.yaml:5: settings.max_body_memory: 16777216 bytes is less than max_body_size (67108864 bytes): a body of the largest size allowed could never be held`}},
		{"no connections", "  max_connections: 0\n", 0, 0, []string{
			`p.yaml:4: settings.max_connections: 0 is not a number of connections between 1 and 1048576`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Parse("p.yaml", []byte(okProvider+"settings:\n"+tt.settings), testEnv)
			if diff := cmp.Diff(tt.want, errLines(t, err)); diff != "" || tt.want != nil {
				if diff != "" {
					t.Errorf("errors (-want +got):\n%s", diff)
				}
				return
			}
			if cfg.Settings.MaxBodyMemory != tt.memory || cfg.Settings.MaxConnections != tt.conns {
				t.Errorf("max_body_memory %d, max_connections %d; want %d, %d", cfg.Settings.MaxBodyMemory, cfg.Settings.MaxConnections, tt.memory, tt.conns)
			}
		})
	}
}
