package config

import (
	"regexp"

	"gopkg.in/yaml.v3"
)

// ProfileSettings are the settings a profile may set for itself: those that
// decide how its requests are routed. The others (listening, logging,
// connections, limits) belong to the whole proxy.
var ProfileSettings = []string{
	"selection_strategy", "failure_cooldown", "request_timeout", "stream_idle_timeout",
	"nonstream_timeout", "default_route", "quota_near_limit",
}

// profileName is a name that can stand in a URL path segment as it is.
var profileName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// profiles reads the profiles mapping: each a name with its own
// model_routes and settings, over the top-level ones.
func (p *parser) profiles(cfg *Config, n *yaml.Node, known, enabled map[string]bool) {
	kvs, ok := p.mapping(n, "profiles")
	if !ok {
		return
	}
	allowed := map[string]bool{}
	for _, k := range ProfileSettings {
		allowed[k] = true
	}
	for _, kv := range kvs {
		field := join("profiles", kv.key)
		if !profileName.MatchString(kv.key) {
			p.errorf(kv.keyN, field, "%q is not a profile name (letters, digits, '.', '_' and '-', used in the URL /p/NAME)", kv.key)
			continue
		}
		body, ok := p.mapping(kv.value, field)
		if !ok {
			continue
		}
		sub := &Config{Settings: cfg.Settings, Routes: cfg.Routes}
		var settingsN *yaml.Node
		for _, e := range body {
			switch e.key {
			case "model_routes":
				sub.Routes = nil
				p.scope = field
				p.routes(sub, e.value, known, enabled)
				p.scope = ""
			case "settings":
				settingsN = e.value
			default:
				p.errorf(e.keyN, join(field, e.key), "unknown key %q (expected model_routes or settings)", e.key)
			}
		}
		if sn := resolve(settingsN); sn != nil && sn.Kind == yaml.MappingNode {
			keep := &yaml.Node{Kind: yaml.MappingNode, Line: sn.Line, Column: sn.Column}
			for i := 0; i+1 < len(sn.Content); i += 2 {
				k := resolve(sn.Content[i])
				if k != nil && k.Kind == yaml.ScalarNode && !allowed[k.Value] {
					p.errorf(k, join(join(field, "settings"), k.Value),
						"%q is not a per-profile setting (a profile may set %v; the others apply to the whole proxy)", k.Value, ProfileSettings)
					continue
				}
				keep.Content = append(keep.Content, sn.Content[i], sn.Content[i+1])
			}
			settingsN = keep
		}
		p.scope = field
		p.settings(sub, settingsN)
		p.scope = ""
		cfg.Profiles = append(cfg.Profiles, Profile{Name: kv.key, Routes: sub.Routes, Settings: sub.Settings, Line: kv.keyN.Line})
	}
}
