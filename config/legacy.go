package config

import (
	"time"

	"gopkg.in/yaml.v3"
)

// This file accepts the settings of the original Python project
// ("claude-code-provider-balancer"), so that its providers.yaml files load
// unchanged. Settings with a meaning here are mapped; the rest are reported
// once each as ignored. Our own key wins when a file has both.

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
	"app_name":                         true,
	"app_version":                      true,
	"oauth":                            true,
	"testing":                          true,
	"reload":                           true,
	"reload_includes":                  true,
	"client_disconnect_watchdog":       true,
	"enable_detailed_request_logging":  true,
	"streaming_mode":                   true,
}

// legacySettings holds mapped values until every key of settings is read,
// since our own keys win whatever their order in the file.
type legacySettings struct {
	set map[string]bool // our keys the file sets explicitly

	logFilePath   *string
	logFilePathN  *yaml.Node
	dedup         *bool
	streamRead    *time.Duration // timeouts.streaming.read_timeout
	nonStreamRead *time.Duration // timeouts.non_streaming.read_timeout
	connect       *time.Duration // timeouts.*.connect_timeout
}

// explicit records that the file sets one of our keys.
func (l *legacySettings) explicit(key string) {
	if l.set == nil {
		l.set = map[string]bool{}
	}
	l.set[key] = true
}

// read handles one legacy settings key; false means the key is unknown.
func (l *legacySettings) read(p *parser, kv keyValue) bool {
	f := join("settings", kv.key)
	switch {
	case legacyIgnoredSettings[kv.key]:
		p.ignored(kv.keyN, f, f)
	case kv.key == "log_file_path":
		if s, ok := p.str(kv.value, f); ok {
			l.logFilePath, l.logFilePathN = &s, kv.value
		}
	case kv.key == "deduplication":
		l.deduplication(p, kv.value, f)
	case kv.key == "timeouts":
		l.timeouts(p, kv.value, f)
	default:
		return false
	}
	return true
}

// deduplication maps deduplication.enabled to enable_deduplication.
func (l *legacySettings) deduplication(p *parser, n *yaml.Node, field string) {
	kvs, ok := p.mapping(n, field)
	if !ok {
		return
	}
	for _, kv := range kvs {
		f := join(field, kv.key)
		if kv.key == "enabled" {
			if b, ok := p.boolean(kv.value, f); ok {
				l.dedup = &b
			}
			continue
		}
		p.ignored(kv.keyN, f, f)
	}
}

// timeouts maps the original's per-kind timeouts: a streaming read timeout
// is our idle timeout between stream bytes, a non-streaming read timeout our
// wait for the first byte, and either connect timeout our connect timeout.
func (l *legacySettings) timeouts(p *parser, n *yaml.Node, field string) {
	kvs, ok := p.mapping(n, field)
	if !ok {
		return
	}
	for _, kv := range kvs {
		f := join(field, kv.key)
		if kv.key != "streaming" && kv.key != "non_streaming" {
			p.ignored(kv.keyN, f, f)
			continue
		}
		inner, ok := p.mapping(kv.value, f)
		if !ok {
			continue
		}
		for _, ikv := range inner {
			fi := join(f, ikv.key)
			var dst **time.Duration
			switch {
			case ikv.key == "read_timeout" && kv.key == "streaming":
				dst = &l.streamRead
			case ikv.key == "read_timeout":
				dst = &l.nonStreamRead
			case ikv.key == "connect_timeout":
				dst = &l.connect
			default:
				p.ignored(ikv.keyN, fi, fi)
				continue
			}
			if d, ok := p.duration(ikv.value, fi); ok && *dst == nil {
				*dst = &d
			}
		}
	}
}

// apply copies the mapped values into s where our own keys are absent.
func (l *legacySettings) apply(p *parser, s *Settings) {
	setIf := func(key string, dst *time.Duration, v *time.Duration) {
		if v != nil && !l.set[key] {
			*dst = *v
		}
	}
	setIf("stream_idle_timeout", &s.StreamIdleTimeout, l.streamRead)
	setIf("nonstream_timeout", &s.NonstreamTimeout, l.nonStreamRead)
	setIf("connect_timeout", &s.ConnectTimeout, l.connect)
	if l.logFilePath != nil {
		if l.set["log_file"] {
			if *l.logFilePath != s.LogFile {
				p.warnf(l.logFilePathN, "settings.log_file_path", "ignored: settings.log_file is also set")
			}
		} else {
			s.LogFile = *l.logFilePath
		}
	}
	if l.dedup != nil && !l.set["enable_deduplication"] {
		s.EnableDeduplication = *l.dedup
	}
}
