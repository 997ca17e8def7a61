package config

import (
	"net/http"
	"strings"
)

// This file accepts the settings of the original Python project
// ("claude-code-provider-balancer", up to its v0.5 and the 0.1.x series
// after it), so that its providers.yaml files load unchanged. Settings with
// a meaning here are mapped; the rest are reported once each as ignored.
// Our own key wins when a file has both.

// legacyMapped maps settings of the original project, by their path under
// settings, to our key of the same meaning. The value is read as ours is,
// with the original's key named in messages.
var legacyMapped = map[string]string{
	"log_file_path": "log_file",
	// v0.5: the longest silence between two chunks of a stream.
	"streaming_activity_timeout": "stream_idle_timeout",
	// The original's read timeouts are httpx read timeouts (the longest wait
	// for the next bytes): between stream bytes, or for a whole non-streamed
	// answer, which comes in one piece.
	"timeouts.streaming.read_timeout":        "stream_idle_timeout",
	"timeouts.non_streaming.read_timeout":    "nonstream_timeout",
	"timeouts.streaming.connect_timeout":     "connect_timeout",
	"timeouts.non_streaming.connect_timeout": "connect_timeout",
	"deduplication.enabled":                  "enable_deduplication",
	// Documented in v0.5's README (its code did not read them); their
	// meaning is plain.
	"cooldown_seconds":  "failure_cooldown",
	"timeout_seconds":   "request_timeout",
	"cache_ttl_seconds": "cache_ttl",
	"max_cache_size":    "cache_size_limit",
}

// legacyGroups are mappings of the original project whose members are
// mapped or ignored one by one. Any other mapping is ignored whole.
var legacyGroups = map[string]bool{
	"timeouts":               true,
	"timeouts.streaming":     true,
	"timeouts.non_streaming": true,
	"deduplication":          true,
}

// legacyHeaders are settings that v0.5 sent to every OpenAI-compatible
// provider as a header (OpenRouter's app attribution). They become headers
// of each openai provider that does not set its own.
var legacyHeaders = map[string]string{
	"referrer_url": "Http-Referer",
	"app_name":     "X-Title",
}

// legacyIgnoredSettings are accepted and ignored, whatever they hold.
var legacyIgnoredSettings = map[string]bool{
	"idle_recovery_interval":           true, // cooled-down providers come back after failure_cooldown
	"failover_http_codes":              true, // failover rules are fixed (DESIGN.md 5.4)
	"failover_error_types":             true,
	"unhealthy_threshold":              true,
	"unhealthy_reset_on_success":       true,
	"unhealthy_reset_timeout":          true,
	"unhealthy_exception_patterns":     true,
	"unhealthy_response_body_patterns": true,
	"unhealthy_http_codes":             true,
	"sticky_provider_duration":         true, // stickiness follows the Claude Code session id
	"streaming_timeout":                true, // a cap on a whole stream: only silence is bounded here
	"providers_config_path":            true, // the file being read is the configuration
	"app_version":                      true,
	"oauth":                            true,
	"testing":                          true,
	"reload":                           true,
	"reload_includes":                  true,
	"client_disconnect_watchdog":       true,
	"enable_detailed_request_logging":  true,
	"streaming_mode":                   true,
}

// legacyReader reads the original project's settings once our own keys are
// read, so that ours win whatever the order of the file.
type legacyReader struct {
	p      *parser
	s      *Settings
	own    map[string]bool // our keys the file sets
	mapped map[string]bool // our keys already set by one of the original's
	// headers are the legacyHeaders values found, by header name.
	headers map[string]string
}

// read handles the legacy setting kv at path (under settings); false means
// the key is unknown.
func (l *legacyReader) read(kv keyValue, path string) bool {
	f := join("settings", path)
	switch {
	case legacyMapped[path] != "":
		ours := legacyMapped[path]
		dst := l.s
		switch {
		case l.own[ours]:
			l.p.warnf(kv.keyN, f, "ignored: settings.%s is also set", ours)
			dst = &Settings{} // still read, so that a bad value is reported
		case l.mapped[ours]:
			dst = &Settings{} // the first of the original's keys for it wins
		}
		l.mapped[ours] = true
		(&settingsReader{p: l.p, s: dst}).set(ours, kv.value, f)
	case legacyGroups[path]:
		kvs, _ := l.p.mapping(kv.value, f)
		for _, c := range kvs {
			cpath := path + "." + c.key
			if !l.read(c, cpath) {
				l.p.ignored(c.keyN, "settings."+cpath, "settings."+cpath)
			}
		}
	case legacyHeaders[path] != "":
		v, ok := l.p.str(kv.value, f)
		switch {
		case !ok:
		case strings.ContainsAny(v, "\r\n\x00"):
			l.p.errorf(kv.value, f, "must be a single line (it is sent as the %s header)", legacyHeaders[path])
		default:
			if l.headers == nil {
				l.headers = map[string]string{}
			}
			l.headers[legacyHeaders[path]] = v
		}
	case legacyIgnoredSettings[path]:
		l.p.ignored(kv.keyN, f, f)
	default:
		return false
	}
	return true
}

// applyHeaders gives each openai provider the legacy headers it does not set
// itself.
func (l *legacyReader) applyHeaders(providers []Provider) {
	for i := range providers {
		pr := &providers[i]
		if pr.Type != TypeOpenAI {
			continue
		}
		for name, v := range l.headers {
			if _, set := pr.Headers[http.CanonicalHeaderKey(name)]; set {
				continue
			}
			if pr.Headers == nil {
				pr.Headers = map[string]string{}
			}
			pr.Headers[http.CanonicalHeaderKey(name)] = v
		}
	}
}
