package config

import (
	"math"
	"strconv"

	"gopkg.in/yaml.v3"
)

// This file reads the keys of the usage ledger: prices (on a provider or a
// route entry) and budgets (on a provider or in settings).

// number reads a finite number (integer or decimal), at least zero.
func (p *parser) number(n *yaml.Node, field string) (float64, bool) {
	n = resolve(n)
	if n != nil && n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
		if v, err := strconv.ParseFloat(n.Value, 64); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
			if v < 0 {
				p.errorf(n, field, "must not be negative")
				return 0, false
			}
			return v, true
		}
	}
	p.errorf(n, field, "must be a number")
	return 0, false
}

// prices reads {input, output, cache_read, cache_write} in US dollars per
// million tokens; input and output are required, cache_read and
// cache_write default to 0.
func (p *parser) prices(n *yaml.Node, field string) *Prices {
	kvs, ok := p.mapping(n, field)
	if !ok || isNull(n) {
		return nil
	}
	var pr Prices
	seen := map[string]bool{}
	for _, kv := range kvs {
		f := join(field, kv.key)
		var dst *float64
		switch kv.key {
		case "input":
			dst = &pr.Input
		case "output":
			dst = &pr.Output
		case "cache_read":
			dst = &pr.CacheRead
		case "cache_write":
			dst = &pr.CacheWrite
		default:
			p.errorf(kv.keyN, f, "unknown key %q (expected input, output, cache_read, cache_write: US dollars per million tokens)", kv.key)
			continue
		}
		seen[kv.key] = true
		if v, ok := p.number(kv.value, f); ok {
			*dst = v
		}
	}
	for _, k := range []string{"input", "output"} {
		if !seen[k] {
			p.errorf(n, join(field, k), "required: US dollars per million %s tokens", k)
		}
	}
	return &pr
}

// budget reads {daily_usd, monthly_usd}; at least one is required.
func (p *parser) budget(n *yaml.Node, field string) Budget {
	kvs, ok := p.mapping(n, field)
	if !ok || isNull(n) {
		return Budget{}
	}
	var b Budget
	for _, kv := range kvs {
		f := join(field, kv.key)
		switch kv.key {
		case "daily_usd":
			b.DailyUSD, _ = p.number(kv.value, f)
		case "monthly_usd":
			b.MonthlyUSD, _ = p.number(kv.value, f)
		default:
			p.errorf(kv.keyN, f, "unknown key %q (expected daily_usd, monthly_usd)", kv.key)
		}
	}
	if !b.Set() {
		p.errorf(n, field, "set daily_usd or monthly_usd to a number above 0 (or remove budget)")
	}
	return b
}
