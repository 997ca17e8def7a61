package config

import (
	"strconv"

	"gopkg.in/yaml.v3"
)

// routes reads model_routes. known holds every provider name declared (even
// in a provider with errors, so one mistake is not reported twice); enabled
// says which of them are enabled.
func (p *parser) routes(cfg *Config, n *yaml.Node, known, enabled map[string]bool) {
	kvs, ok := p.mapping(n, "model_routes")
	if !ok {
		return
	}
	for _, kv := range kvs {
		field := "model_routes[" + strconv.Quote(kv.key) + "]"
		if kv.key == "" {
			p.errorf(kv.keyN, field, "a route pattern must not be empty")
			continue
		}
		route := Route{Pattern: kv.key, Line: kv.keyN.Line}
		items, ok := p.sequence(kv.value, field)
		if !ok {
			continue
		}
		if len(items) == 0 {
			p.errorf(kv.keyN, field, "a route needs at least one entry")
			continue
		}
		nerr := len(p.errs)
		seen := map[string]bool{}
		for i, item := range items {
			e, use := p.routeEntry(item, index(field, i), i, known, enabled)
			if !use {
				continue
			}
			if seen[e.Provider] {
				p.warnf(item, index(field, i), "provider %q is listed twice in this route", e.Provider)
			}
			seen[e.Provider] = true
			route.Entries = append(route.Entries, e)
		}
		if len(route.Entries) == 0 && len(p.errs) == nerr {
			p.warnf(kv.keyN, field, "no enabled provider left: requests for this route will fail")
		}
		cfg.Routes = append(cfg.Routes, route)
	}
}

// routeEntry reads one entry of a route, written as a flow or a block
// mapping. use is false when the entry has errors or is to be skipped.
func (p *parser) routeEntry(n *yaml.Node, field string, pos int, known, enabled map[string]bool) (RouteEntry, bool) {
	n = resolve(n)
	e := RouteEntry{Model: Passthrough, Priority: pos + 1}
	kvs, ok := p.mapping(n, field)
	if !ok {
		return e, false
	}
	nerr := len(p.errs)
	var providerN *yaml.Node
	on := true
	for _, kv := range kvs {
		f := join(field, kv.key)
		switch kv.key {
		case "provider":
			providerN = kv.value
			e.Provider, _ = p.str(kv.value, f)
		case "model":
			if s, ok := p.str(kv.value, f); ok {
				if s == "" {
					p.errorf(kv.value, f, `must not be empty (use "passthrough" to keep the client's model)`)
				}
				e.Model = s
			}
		case "priority":
			if v, ok := p.integer(kv.value, f); ok {
				e.Priority = int(v)
			}
		case "max_tokens":
			if v, ok := p.integer(kv.value, f); ok {
				if v < 0 || v > 1<<31-1 {
					p.errorf(kv.value, f, "must be a positive number (or 0 for no limit)")
				}
				e.MaxTokens = int(v)
			}
		case "prices":
			e.Prices = p.prices(kv.value, f)
		case "enabled":
			// The original project allowed switching single entries off.
			on, _ = p.boolean(kv.value, f)
		default:
			p.errorf(kv.keyN, f, "unknown key %q", kv.key)
		}
	}
	switch {
	case e.Provider == "":
		p.errorf(orNode(providerN, n), join(field, "provider"), "required: the name of a provider")
	case !known[e.Provider]:
		p.errorf(providerN, join(field, "provider"), "unknown provider %q", e.Provider)
	case len(p.errs) == nerr && !enabled[e.Provider]:
		p.warnf(providerN, join(field, "provider"), "provider %q is disabled: entry skipped", e.Provider)
		return e, false
	}
	return e, on && len(p.errs) == nerr
}

// legacyRoutes builds routes for a file of the original project's first
// versions, which had no model_routes: each provider named a big_model (used
// for every model) and a small_model (used for haiku).
func (p *parser) legacyRoutes(cfg *Config, lm legacyModels, root *yaml.Node) {
	if len(lm.big) == 0 && len(lm.small) == 0 {
		if len(cfg.Providers) > 0 {
			p.warnf(root, "model_routes", "no routes: every request will fail until model_routes is set")
		}
		return
	}
	enabled := map[string]bool{}
	for _, pr := range cfg.Providers {
		enabled[pr.Name] = pr.Enabled
	}
	build := func(pattern string, refs []modelRef) {
		if len(refs) == 0 {
			return
		}
		r := Route{Pattern: pattern, Line: line(refs[0].node)}
		for _, ref := range refs {
			if enabled[ref.provider] {
				r.Entries = append(r.Entries, RouteEntry{Provider: ref.provider, Model: ref.model, Priority: len(r.Entries) + 1})
			}
		}
		if len(r.Entries) > 0 {
			cfg.Routes = append(cfg.Routes, r)
		}
	}
	build("*haiku*", lm.small)
	build("*", lm.big)
	p.warnf(root, "model_routes", "missing: routes built from the providers' big_model (all models) and small_model (*haiku*)")
}
