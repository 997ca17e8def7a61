// Package config holds ccbalancer's configuration: the schema of providers.yaml,
// its defaults and validation, file discovery, secret handling and watching.
package config

import (
	"log/slog"
	"net"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// ProviderType says which wire format a provider speaks.
type ProviderType string

// Provider types.
const (
	TypeAnthropic ProviderType = "anthropic" // forwarded as is
	TypeOpenAI    ProviderType = "openai"    // converted to and from Chat Completions
)

// AuthType says how an anthropic provider's credential is sent upstream.
// OpenAI providers always use a Bearer token.
type AuthType string

// Auth types.
const (
	AuthAPIKey    AuthType = "api_key"    // x-api-key: <value>
	AuthAuthToken AuthType = "auth_token" // Authorization: Bearer <value>
)

// Strategy is how the entries of a route are ordered for one request.
type Strategy string

// Selection strategies.
const (
	StrategyPriority   Strategy = "priority"
	StrategyRoundRobin Strategy = "round_robin"
	StrategyRandom     Strategy = "random"
)

// Strategies lists every valid strategy, in menu order.
var Strategies = []Strategy{StrategyPriority, StrategyRoundRobin, StrategyRandom}

// Families lists the values of an openai provider's `family:` key: the
// kinds of OpenAI-compatible servers whose differences the proxy knows
// (proxy/openai's table of families; a test there keeps the two in step).
var Families = []string{"generic", "openai", "openrouter", "deepseek", "kimi", "glm", "qwen", "gemini", "mistral",
	"groq", "xai", "ollama", "vllm", "llamacpp"}

// Passthrough is the special value of RouteEntry.Model (keep the client's model)
// and of Provider.AuthValue (forward the client's own credential).
const Passthrough = "passthrough"

// Secret is a credential. It never prints: String, GoString, LogValue and
// MarshalText all redact it. Use Reveal to get the value for an upstream request.
type Secret string

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String redacts the secret.
func (s Secret) String() string {
	switch {
	case s == "":
		return ""
	case s == Passthrough:
		return Passthrough
	default:
		return "[REDACTED]"
	}
}

// GoString redacts the secret in %#v.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// LogValue redacts the secret in log/slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText redacts the secret in JSON and YAML output.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// IsPassthrough reports whether the client's own credential is to be forwarded.
func (s Secret) IsPassthrough() bool { return s == Passthrough }

// RedactURL returns raw with its user info (a password, or a token given as
// the user name) replaced: "https://[REDACTED]@host/path". Use it wherever a
// URL is shown (check, the start-up banner, /providers, the tray, logs and
// errors). It also works on text that does not parse as a URL.
func RedactURL(raw string) string {
	i := strings.Index(raw, "://") + 3
	if i < 3 {
		i = 0 // no scheme: "user:pass@host" is still user info
	}
	rest := raw[i:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if at < 0 {
		return raw
	}
	return raw[:i] + "[REDACTED]@" + rest[at+1:]
}

// Config is a whole, validated providers.yaml.
type Config struct {
	// Path is the file the config was read from ("" when built in memory).
	Path      string
	Providers []Provider
	// Routes in file order. Exact keys win over patterns; patterns are tried in this order.
	Routes   []Route
	Settings Settings
	// Profiles are named routing tables chosen per request (URL prefix
	// /p/NAME or the x-ccbalancer-profile header), in file order.
	Profiles []Profile
	// Warnings are non-fatal findings (ignored legacy keys, routes naming disabled
	// providers, world-readable file with plain-text keys), each "file:line: message".
	Warnings []string
}

// Provider is one upstream endpoint.
type Provider struct {
	Name     string
	Type     ProviderType
	BaseURL  string // without trailing slash
	AuthType AuthType
	// AuthValue is the credential after ${ENV} expansion, or Passthrough;
	// with several keys, the first of them.
	AuthValue Secret
	// Keys holds every key when auth_value is a list of two or more (used
	// in turn, each with its own state); nil otherwise.
	Keys    []Secret
	Enabled bool
	// Proxy is an optional outbound proxy URL (http, https or socks5).
	Proxy string
	// Headers are extra headers sent upstream on every request (e.g. OpenRouter's
	// HTTP-Referer and X-Title).
	Headers map[string]string
	// SecretHeaders names the Headers whose value was read from the
	// environment or the keyring.
	SecretHeaders map[string]bool
	// Reasoning says an openai provider accepts reasoning settings
	// (reasoning_effort); without it a request's thinking setting is dropped.
	Reasoning bool
	// Family is an openai provider's family, one of Families, as set by its
	// `family:` key; "" means: detected from the base_url's host.
	Family string
	// Prices price the provider's answers in the usage ledger (nil: not
	// priced); a route entry's own prices win.
	Prices *Prices
	// Budget, when set, takes the provider out of rotation once its spend
	// (priced answers in the usage ledger) reaches a limit, until the
	// window resets.
	Budget Budget
	// Line is the line of the provider's entry in the file, for messages.
	Line int
}

// Credentials returns the provider's keys: Keys, or AuthValue alone.
func (p Provider) Credentials() []Secret {
	if len(p.Keys) > 0 {
		return p.Keys
	}
	return []Secret{p.AuthValue}
}

// credentialHeaderWords mark a header name that carries a credential:
// api-key (Azure OpenAI), Authorization, X-Auth-Token, Cookie, ….
var credentialHeaderWords = []string{"key", "auth", "token", "secret", "password", "cookie", "signature", "credential", "session"}

// HeaderSecrets returns the values of Headers that are credentials, to be
// redacted wherever they could appear: those read from the environment or
// the keyring, and those of headers whose name says they carry one
// (credentialHeaderWords).
func (p Provider) HeaderSecrets() []string {
	var out []string
	for name, v := range p.Headers {
		lower := strings.ToLower(name)
		secret := p.SecretHeaders[name]
		for _, w := range credentialHeaderWords {
			secret = secret || strings.Contains(lower, w)
		}
		if secret && v != "" {
			out = append(out, v)
		}
	}
	return out
}

// DisplayURL is BaseURL as it may be shown: without its user info.
func (p Provider) DisplayURL() string { return RedactURL(p.BaseURL) }

// SameEndpoint reports whether p and q reach the same provider the same way:
// everything but the line they were read from, their prices and their
// budget is equal.
func (p Provider) SameEndpoint(q Provider) bool {
	p.Line, q.Line = 0, 0
	p.Prices, q.Prices = nil, nil
	p.Budget, q.Budget = Budget{}, Budget{}
	return reflect.DeepEqual(p, q)
}

// Prices are what a provider charges, in US dollars per million tokens, by
// kind of token as the Messages API counts them: input (not cached),
// output, cache reads, and cache writes.
type Prices struct {
	Input, Output, CacheRead, CacheWrite float64
}

// Budget limits a provider's spend (or, in Settings, all providers'), in US
// dollars per local calendar day and per local calendar month; zero means
// no limit.
type Budget struct {
	DailyUSD, MonthlyUSD float64
}

// Set reports whether the budget limits anything.
func (b Budget) Set() bool { return b.DailyUSD > 0 || b.MonthlyUSD > 0 }

// Route maps a model name pattern to the providers that may serve it.
type Route struct {
	// Pattern is the route's key: an exact model name or a case-insensitive glob (*, ?).
	Pattern string
	// Entries in file order; only enabled providers (disabled ones are dropped with a warning).
	Entries []RouteEntry
	Line    int
}

// RouteEntry is one provider option of a route.
type RouteEntry struct {
	Provider string
	// Model sent upstream, or Passthrough to keep the client's.
	Model    string
	Priority int // lower is tried first
	// MaxTokens, when > 0, clamps the request's max_tokens for this entry.
	MaxTokens int
	// Prices, when set, price this entry's answers instead of the
	// provider's prices.
	Prices *Prices
}

// Settings are the global settings.
type Settings struct {
	SelectionStrategy Strategy
	FailureCooldown   time.Duration
	RequestTimeout    time.Duration // to the first byte of the upstream response
	StreamIdleTimeout time.Duration // between bytes of a streaming response
	// NonstreamTimeout bounds a whole non-streamed answer, whose headers
	// come only when it is complete (lowered per request to the client's
	// x-stainless-timeout when that is smaller).
	NonstreamTimeout time.Duration
	ConnectTimeout   time.Duration
	Host             string
	Port             int
	LogLevel         slog.Level
	LogColor         bool
	// LogFile is the JSON-lines log file; relative paths are resolved against
	// the user's log directory. "" means the default location.
	LogFile string
	// LogMaxBytes bounds the log file; it is rotated once (to .1) past this size.
	LogMaxBytes int64
	// EnableDeduplication: identical requests in flight at once share one
	// upstream answer.
	EnableDeduplication bool
	// CacheTTL is how long a complete answer is kept for identical
	// requests; 0 (the default) turns the response cache off: an identical
	// request sent on purpose (a retry, the same prompt again) is meant to
	// reach a provider. CacheSizeLimit bounds its entries and CacheMaxBytes
	// their bytes.
	CacheTTL       time.Duration
	CacheSizeLimit int
	CacheMaxBytes  int64
	// DefaultRoute is the route pattern used for models that match nothing.
	// "" means: the first route whose pattern contains "sonnet", else the first route.
	DefaultRoute string
	// AuthKey, when set, is required from clients (x-api-key or Bearer). It is
	// required when Host is not a loopback address.
	AuthKey Secret
	// MaxBodyBytes bounds request bodies (413 past it).
	MaxBodyBytes int64
	// MaxEventBytes bounds one line and one event of an upstream stream (both
	// dialects); a stream past it fails.
	MaxEventBytes int64
	// MaxBodyMemory bounds the request bodies held at once (read, or kept
	// for failover while their answers run). A request whose body does not
	// fit waits briefly for memory, then gets 503 with retry-after. It is at
	// least MaxBodyBytes.
	MaxBodyMemory int64
	// BodyReadTimeout bounds the time to receive a request body once its
	// headers arrived (408 past it), so that a client that sends slowly or
	// not at all cannot hold its connection.
	BodyReadTimeout time.Duration
	// MaxConnections bounds open client connections. At the bound, the
	// connection idle the longest is closed to make room; when none is
	// idle, new connections wait until one closes.
	MaxConnections int
	// ShutdownGrace is how long answers still running may go on when the
	// proxy stops (SIGTERM, service stop, Quit in the tray); then they are
	// aborted, never ended cleanly, so that clients retry.
	ShutdownGrace time.Duration
	// AllowedOrigins lists browser origins that may call the proxy. Requests with any
	// other Origin header are refused.
	AllowedOrigins []string
	// QuotaNearLimit is the share of a provider's rate-limit window (0 to 1)
	// past which it is tried after the others; 0 turns this off.
	QuotaNearLimit float64
	// ProbeInterval is how often a provider that needs attention, or whose
	// rate limit or cooldown lasts longer than this, is probed with a
	// request that spends no tokens (GET /v1/models).
	ProbeInterval time.Duration
	// UsageDB is the usage ledger's SQLite file; relative paths are
	// resolved against the user's state directory. "" means the default
	// location; UsageOff records nothing.
	UsageDB string
	// UsageRetention is how long the ledger keeps a record.
	UsageRetention time.Duration
	// Budget limits the spend of all providers together.
	Budget Budget
}

// UsageOff is the usage_db value that turns the usage ledger off.
const UsageOff = "off"

// Listen returns the HOST:PORT address to listen on.
func (s Settings) Listen() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Defaults returns the settings used for every key a file leaves out.
func Defaults() Settings {
	return Settings{
		SelectionStrategy:   StrategyPriority,
		FailureCooldown:     90 * time.Second,
		RequestTimeout:      40 * time.Second,
		StreamIdleTimeout:   120 * time.Second,
		NonstreamTimeout:    600 * time.Second,
		ConnectTimeout:      10 * time.Second,
		Host:                "127.0.0.1",
		Port:                8080,
		LogLevel:            slog.LevelInfo,
		LogColor:            true,
		LogMaxBytes:         10 << 20,
		EnableDeduplication: true,
		CacheSizeLimit:      1000,
		CacheMaxBytes:       64 << 20,
		MaxBodyBytes:        32 << 20,
		MaxEventBytes:       4 << 20,
		QuotaNearLimit:      0.9,
		ProbeInterval:       5 * time.Minute,
		UsageRetention:      90 * 24 * time.Hour,
		MaxBodyMemory:       256 << 20,
		BodyReadTimeout:     60 * time.Second,
		MaxConnections:      256,
		ShutdownGrace:       30 * time.Second,
	}
}

// Provider returns the provider with the given name.
func (c *Config) Provider(name string) (Provider, bool) {
	for _, p := range c.Providers {
		if p.Name == name {
			return p, true
		}
	}
	return Provider{}, false
}

// Profile is a named routing table with its own settings, for one terminal
// or project: ANTHROPIC_BASE_URL=http://127.0.0.1:8080/p/NAME.
type Profile struct {
	Name string
	// Routes are the profile's model_routes (the top-level ones when the
	// profile has none).
	Routes []Route
	// Settings are the top-level settings with the profile's own on top
	// (only those that concern routing: see ProfileSettings).
	Settings Settings
	Line     int
}

// Profile returns the profile with the given name.
func (c *Config) Profile(name string) (Profile, bool) {
	for _, p := range c.Profiles {
		if p.Name == name {
			return p, true
		}
	}
	return Profile{}, false
}
