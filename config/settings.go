package config

import (
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// settings reads the settings mapping over Defaults() and runs the checks
// that need more than one key. Our own keys are read first; the original
// project's (legacy.go) then fill in only what ours left unset, whatever
// their order in the file.
func (p *parser) settings(cfg *Config, n *yaml.Node) {
	s := &cfg.Settings
	kvs, ok := p.mapping(n, "settings")
	if !ok {
		return
	}
	r := settingsReader{p: p, s: s}
	own := map[string]bool{}
	var rest []keyValue
	for _, kv := range kvs {
		if r.set(kv.key, kv.value, join("settings", kv.key)) {
			own[kv.key] = true
		} else {
			rest = append(rest, kv)
		}
	}
	lg := legacyReader{p: p, s: s, own: own, mapped: map[string]bool{}}
	for _, kv := range rest {
		if !lg.read(kv, kv.key) {
			p.errorf(kv.keyN, join("settings", kv.key), "unknown key %q", kv.key)
		}
	}
	lg.applyHeaders(cfg.Providers)

	if err := s.CheckListen(s.Host); err != nil {
		p.errorf(orNode(r.hostN, n), "settings.host", "%v", err)
	}
	switch {
	case s.MaxBodyMemory >= s.MaxBodyBytes:
	case r.maxBodyMemoryN == nil:
		s.MaxBodyMemory = s.MaxBodyBytes // at least one body of the largest size fits
	default:
		p.errorf(orNode(r.maxBodyMemoryN, n), "settings.max_body_memory",
			"%d bytes is less than max_body_size (%d bytes): a body of the largest size allowed could never be held", s.MaxBodyMemory, s.MaxBodyBytes)
	}
	if s.AuthKey.IsPassthrough() {
		p.errorf(n, "settings.auth_key", `"passthrough" is not a valid client key`)
	}
	if s.DefaultRoute != "" {
		found := false
		for _, r := range cfg.Routes {
			found = found || r.Pattern == s.DefaultRoute
		}
		if !found {
			p.errorf(r.defaultRouteN, "settings.default_route", "%q is not the pattern of a route in model_routes", s.DefaultRoute)
		}
	}
}

// settingsReader reads our own settings keys into s.
type settingsReader struct {
	p *parser
	s *Settings
	// hostN and defaultRouteN are kept for the checks that run after every
	// key is read.
	hostN, defaultRouteN, maxBodyMemoryN *yaml.Node
}

// set reads one of our settings keys; field names it in messages (it may
// be a key of the original project mapped to ours). It returns false when
// key is not one of ours.
func (r *settingsReader) set(key string, v *yaml.Node, f string) bool {
	p, s := r.p, r.s
	switch key {
	case "selection_strategy":
		if str, ok := p.str(v, f); ok {
			if st := Strategy(strings.ToLower(str)); st.Validate() == nil {
				s.SelectionStrategy = st
			} else {
				p.errorf(v, f, "%q is not one of priority, round_robin, random", str)
			}
		}
	case "failure_cooldown":
		p.setDuration(&s.FailureCooldown, v, f)
	case "request_timeout":
		p.setDuration(&s.RequestTimeout, v, f)
	case "stream_idle_timeout":
		p.setDuration(&s.StreamIdleTimeout, v, f)
	case "connect_timeout":
		p.setDuration(&s.ConnectTimeout, v, f)
	case "nonstream_timeout":
		p.setDuration(&s.NonstreamTimeout, v, f)
	case "cache_ttl":
		if d, ok := p.durationOrOff(v, f); ok {
			s.CacheTTL = d
		}
	case "host":
		r.hostN = v
		if str, ok := p.str(v, f); ok {
			s.Host = strings.TrimSpace(str)
		}
	case "port":
		if port, ok := p.integer(v, f); ok {
			if port < 1 || port > 65535 {
				p.errorf(v, f, "%d is not a port between 1 and 65535", port)
			} else {
				s.Port = int(port)
			}
		}
	case "log_level":
		if str, ok := p.str(v, f); ok {
			if lvl, ok := parseLevel(str); ok {
				s.LogLevel = lvl
			} else {
				p.errorf(v, f, "%q is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL", str)
			}
		}
	case "log_color":
		if b, ok := p.boolean(v, f); ok {
			s.LogColor = b
		}
	case "log_file":
		if str, ok := p.str(v, f); ok {
			s.LogFile = str
		}
	case "log_max_size":
		if size, ok := p.size(v, f); ok {
			s.LogMaxBytes = size
		}
	case "max_body_size":
		if size, ok := p.size(v, f); ok {
			s.MaxBodyBytes = size
		}
	case "max_event_size":
		if size, ok := p.size(v, f); ok {
			s.MaxEventBytes = size
		}
	case "cache_max_size":
		if size, ok := p.size(v, f); ok {
			s.CacheMaxBytes = size
		}
	case "usage_db":
		s.UsageDB, _ = p.str(v, f)
	case "usage_retention_days":
		if days, ok := p.integer(v, f); ok {
			if days < 1 || days > 36500 {
				p.errorf(v, f, "must be a number of days between 1 and 36500")
			} else {
				s.UsageRetention = time.Duration(days) * 24 * time.Hour
			}
		}
	case "budget":
		s.Budget = p.budget(v, f)
	case "quota_near_limit":
		s.QuotaNearLimit = p.share(v, f)
	case "probe_interval":
		p.setDuration(&s.ProbeInterval, v, f)
	case "enable_deduplication":
		if b, ok := p.boolean(v, f); ok {
			s.EnableDeduplication = b
		}
	case "max_body_memory":
		r.maxBodyMemoryN = v
		if size, ok := p.size(v, f); ok {
			s.MaxBodyMemory = size
		}
	case "body_read_timeout":
		p.setDuration(&s.BodyReadTimeout, v, f)
	case "shutdown_grace":
		p.setDuration(&s.ShutdownGrace, v, f)
	case "max_connections":
		if n, ok := p.integer(v, f); ok {
			if n < 1 || n > 1<<20 {
				p.errorf(v, f, "%d is not a number of connections between 1 and 1048576", n)
			} else {
				s.MaxConnections = int(n)
			}
		}
	case "cache_size_limit":
		if lim, ok := p.integer(v, f); ok {
			if lim < 0 || lim > 1<<31-1 {
				p.errorf(v, f, "must not be negative")
			} else {
				s.CacheSizeLimit = int(lim)
			}
		}
	case "default_route":
		r.defaultRouteN = v
		s.DefaultRoute, _ = p.str(v, f)
	case "auth_key":
		s.AuthKey = p.secret(v, f, "", true)
	case "allowed_origins":
		s.AllowedOrigins = p.origins(v, f)
	default:
		return false
	}
	return true
}

// setDuration reads a duration into dst, leaving it alone on error.
func (p *parser) setDuration(dst *time.Duration, n *yaml.Node, field string) {
	if d, ok := p.duration(n, field); ok {
		*dst = d
	}
}

// parseLevel maps the original project's Python level names to slog levels.
// CRITICAL has no slog equivalent; nothing here logs above ERROR, so it is
// treated as ERROR.
func parseLevel(s string) (slog.Level, bool) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "DEBUG":
		return slog.LevelDebug, true
	case "INFO":
		return slog.LevelInfo, true
	case "WARNING", "WARN":
		return slog.LevelWarn, true
	case "ERROR", "CRITICAL":
		return slog.LevelError, true
	}
	return 0, false
}

// origins reads allowed_origins: each must be a bare scheme://host[:port].
func (p *parser) origins(n *yaml.Node, field string) []string {
	list, _ := p.strList(n, field)
	out := make([]string, 0, len(list))
	items, _ := p.sequence(n, field)
	for i, o := range list {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "chrome-extension" && u.Scheme != "moz-extension") ||
			u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			at := n
			if i < len(items) {
				at = items[i]
			}
			p.errorf(at, index(field, i), "%q is not an origin such as https://example.com or http://localhost:3000", o)
			continue
		}
		out = append(out, strings.TrimSuffix(o, "/"))
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// share reads a share of a whole: 0.9, or "90%". 0 is allowed (off).
func (p *parser) share(n *yaml.Node, field string) float64 {
	str, ok := p.str(n, field)
	if !ok {
		return 0
	}
	str = strings.TrimSpace(str)
	div := 1.0
	if v, pct := strings.CutSuffix(str, "%"); pct {
		str, div = strings.TrimSpace(v), 100
	}
	f, err := strconv.ParseFloat(str, 64)
	if err != nil || f/div < 0 || f/div > 1 {
		p.errorf(n, field, "%q is not a share between 0 and 1 (or 0%% to 100%%)", str)
		return 0
	}
	return f / div
}
