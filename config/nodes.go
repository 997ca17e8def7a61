package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// This file holds the typed readers of YAML nodes. Each reports its own
// problems through the parser and returns ok=false, so that the caller keeps
// walking and every problem of the file is found in one pass.

// keyValue is one entry of a YAML mapping.
type keyValue struct {
	key   string
	keyN  *yaml.Node
	value *yaml.Node
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	// Bounded: an alias never names another alias in a well-formed document,
	// but the fuzzer is free to try.
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

// isNull reports whether a node is absent or an explicit YAML null.
func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// kindName names a node's kind for messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty"
		}
		return "a scalar"
	default:
		return "an unexpected node"
	}
}

// mapping returns the entries of a mapping node. A null node is an empty
// mapping, since "settings:" with nothing under it is a common way to write
// "use the defaults". Duplicate keys are reported and the later one dropped.
func (p *parser) mapping(n *yaml.Node, field string) ([]keyValue, bool) {
	n = resolve(n)
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, field, "must be a mapping, not %s", kindName(n))
		return nil, false
	}
	seen := make(map[string]int, len(n.Content)/2)
	out := make([]keyValue, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			p.errorf(n.Content[i], field, "keys must be plain strings")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errorf(k, join(field, k.Value), "duplicate key %q (first at line %d)", k.Value, first)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, keyValue{key: k.Value, keyN: k, value: v})
	}
	return out, true
}

// sequence returns the items of a list node; a null node is an empty list.
func (p *parser) sequence(n *yaml.Node, field string) ([]*yaml.Node, bool) {
	n = resolve(n)
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, field, "must be a list, not %s", kindName(n))
		return nil, false
	}
	return n.Content, true
}

// str reads a scalar as a string. Any scalar is accepted (a provider called
// 42 is still a name); null reads as "".
func (p *parser) str(n *yaml.Node, field string) (string, bool) {
	n = resolve(n)
	if isNull(n) {
		return "", true
	}
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, field, "must be a string, not %s", kindName(n))
		return "", false
	}
	return n.Value, true
}

// boolean reads true/false (and the YAML 1.1 spellings yes/no/on/off that
// files written for the original project may use).
func (p *parser) boolean(n *yaml.Node, field string) (bool, bool) {
	n = resolve(n)
	if n != nil && n.Kind == yaml.ScalarNode {
		switch strings.ToLower(n.Value) {
		case "true", "yes", "on":
			return true, true
		case "false", "no", "off":
			return false, true
		}
	}
	p.errorf(n, field, "must be true or false")
	return false, false
}

// integer reads a whole number.
func (p *parser) integer(n *yaml.Node, field string) (int64, bool) {
	n = resolve(n)
	if n != nil && n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
		var v int64
		if err := n.Decode(&v); err == nil {
			return v, true
		}
	}
	p.errorf(n, field, "must be a whole number")
	return 0, false
}

// duration reads a timeout or cooldown: integer or fractional seconds ("90",
// 1.5) or a Go duration string ("90s", "2m"). It must be greater than zero:
// a zero timeout fails every request, a zero cooldown never rests a failing
// provider (DESIGN.md section 5.6).
func (p *parser) duration(n *yaml.Node, field string) (time.Duration, bool) {
	d, ok := p.anyDuration(n, field)
	if ok && d <= 0 {
		p.errorf(n, field, "must be greater than zero")
		return 0, false
	}
	return d, ok
}

// durationOrOff reads a duration for which 0 means "off" (cache_ttl).
func (p *parser) durationOrOff(n *yaml.Node, field string) (time.Duration, bool) {
	d, ok := p.anyDuration(n, field)
	if ok && d < 0 {
		p.errorf(n, field, "must not be negative (0 turns the cache off)")
		return 0, false
	}
	return d, ok
}

// anyDuration reads a duration of any sign, in the spellings duration accepts.
func (p *parser) anyDuration(n *yaml.Node, field string) (time.Duration, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, field, `must be a number of seconds or a duration such as "90s"`)
		return 0, false
	}
	s := strings.TrimSpace(n.Value)
	if secs, err := strconv.ParseFloat(s, 64); err == nil && n.Tag != "!!bool" {
		if math.IsNaN(secs) || math.IsInf(secs, 0) || math.Abs(secs) > float64(math.MaxInt64/int64(time.Second)) {
			p.errorf(n, field, "%s is out of range", s)
			return 0, false
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.errorf(n, field, `%q is not a number of seconds or a duration such as "90s"`, s)
		return 0, false
	}
	return d, true
}

// sizeUnits maps unit suffixes (lower case) to their byte multiples.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1000,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1000 * 1000,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1000 * 1000 * 1000,
}

// size reads a positive byte count: an integer, or a string such as "32MiB"
// (1024-based), "32MB" (1000-based) or "512k".
func (p *parser) size(n *yaml.Node, field string) (int64, bool) {
	n = resolve(n)
	const hint = `must be a positive number of bytes, or a size such as "32MiB" or "32MB"`
	if n == nil || n.Kind != yaml.ScalarNode {
		p.errorf(n, field, hint)
		return 0, false
	}
	s := strings.TrimSpace(n.Value)
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	num, err := strconv.ParseInt(s[:i], 10, 64)
	unit, known := sizeUnits[strings.ToLower(strings.TrimSpace(s[i:]))]
	if i == 0 || err != nil || !known {
		p.errorf(n, field, "%q %s", s, hint)
		return 0, false
	}
	if num <= 0 {
		p.errorf(n, field, hint)
		return 0, false
	}
	if num > math.MaxInt64/unit {
		p.errorf(n, field, "%s is out of range", s)
		return 0, false
	}
	return num * unit, true
}

// strings reads a list of strings.
func (p *parser) strList(n *yaml.Node, field string) ([]string, bool) {
	items, ok := p.sequence(n, field)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		s, ok2 := p.str(it, fmt.Sprintf("%s[%d]", field, i))
		if !ok2 {
			ok = false
			continue
		}
		out = append(out, s)
	}
	return out, ok
}

// join appends a key to a field path.
func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

// index appends a list index to a field path.
func index(field string, i int) string { return fmt.Sprintf("%s[%d]", field, i) }
