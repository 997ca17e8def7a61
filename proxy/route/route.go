// Package route maps a client's model name to a route and orders the route's
// providers for one request by the selection strategy and their health.
package route

import (
	"strings"

	"github.com/ccbalancer/ccbalancer/config"
)

// Table finds the route for a model. It is immutable; a reload builds a new one.
type Table struct {
	exact    map[string]*config.Route // lower-cased key
	patterns []*config.Route          // in file order
	def      *config.Route
}

// NewTable builds a table from routes in file order. defaultRoute names the
// route used for unmatched models; "" picks the first route whose pattern
// contains "sonnet", else the first route.
func NewTable(routes []config.Route, defaultRoute string) *Table {
	t := &Table{exact: make(map[string]*config.Route)}
	for i := range routes {
		r := &routes[i]
		if isPattern(r.Pattern) {
			t.patterns = append(t.patterns, r)
		} else if _, dup := t.exact[strings.ToLower(r.Pattern)]; !dup {
			t.exact[strings.ToLower(r.Pattern)] = r
		}
	}
	for i := range routes {
		r := &routes[i]
		switch {
		case defaultRoute != "" && r.Pattern == defaultRoute:
			t.def = r
		case defaultRoute == "" && t.def == nil && strings.Contains(strings.ToLower(r.Pattern), "sonnet"):
			t.def = r
		}
	}
	if t.def == nil && defaultRoute == "" && len(routes) > 0 {
		t.def = &routes[0]
	}
	return t
}

// Match returns the route for model: an exact key first, then the first
// pattern in file order, then the default route (isDefault true). It returns
// nil when there is no route at all.
func (t *Table) Match(model string) (r *config.Route, isDefault bool) {
	lm := strings.ToLower(model)
	if r := t.exact[lm]; r != nil {
		return r, false
	}
	for _, r := range t.patterns {
		if Glob(strings.ToLower(r.Pattern), lm) {
			return r, false
		}
	}
	return t.def, t.def != nil
}

func isPattern(s string) bool { return strings.ContainsAny(s, "*?") }

// Glob reports whether name matches pattern, where * matches any run of
// characters (slashes included) and ? any single character. Both must already
// be lower-cased by the caller for case-insensitive matching.
func Glob(pattern, name string) bool {
	// Iterative matching with one backtrack point: linear in practice.
	p, n := 0, 0
	star, mark := -1, 0
	for n < len(name) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == name[n]):
			p++
			n++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, n
			p++
		case star >= 0:
			p = star + 1
			mark++
			n = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
