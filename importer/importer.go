// Package importer turns the configuration files of other tools that
// Claude Code users switch or route providers with into a providers.yaml:
// cc-switch (~/.cc-switch/config.json) and claude-code-router
// (~/.claude-code-router/config.json). What has no equivalent here is
// reported, never dropped silently.
package importer

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Result is a converted configuration and what could not be carried over.
type Result struct {
	Providers []Provider
	// Routes maps a model pattern to its entries, in the order tried.
	Routes map[string][]Entry
	// Settings holds top-level settings carried over (host, port, auth_key).
	Settings map[string]string
	// Notes say, one a line, what was not carried over and why.
	Notes []string
}

// Provider is one providers.yaml entry.
type Provider struct {
	Name, Type, BaseURL, AuthType, AuthValue, Proxy string
	// Source says where the provider came from, for a comment.
	Source string
}

// Entry is one route entry.
type Entry struct{ Provider, Model string }

func (r *Result) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

func (r *Result) route(pattern string, e Entry) {
	if r.Routes == nil {
		r.Routes = map[string][]Entry{}
	}
	for _, have := range r.Routes[pattern] {
		if have == e {
			return
		}
	}
	r.Routes[pattern] = append(r.Routes[pattern], e)
}

// uniqueName returns name, or name-2, name-3... when taken.
func (r *Result) uniqueName(name string) string {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "provider"
	}
	taken := func(n string) bool {
		for _, p := range r.Providers {
			if strings.EqualFold(p.Name, n) {
				return true
			}
		}
		return false
	}
	out := name
	for i := 2; taken(out); i++ {
		out = name + "-" + strconv.Itoa(i)
	}
	return out
}

// DefaultPath is where a tool keeps its configuration: "cc-switch" or
// "claude-code-router".
func DefaultPath(tool string) (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the home directory: %w", err)
	}
	switch tool {
	case "cc-switch":
		return filepath.Join(home, ".cc-switch", "config.json"), nil
	case "claude-code-router":
		return filepath.Join(home, ".claude-code-router", "config.json"), nil
	}
	return "", fmt.Errorf("unknown tool %q (cc-switch or claude-code-router)", tool)
}

// Convert reads a tool's configuration file.
func Convert(tool string, data []byte) (*Result, error) {
	switch tool {
	case "cc-switch":
		return CCSwitch(data)
	case "claude-code-router":
		return ClaudeCodeRouter(data)
	}
	return nil, fmt.Errorf("unknown tool %q (cc-switch or claude-code-router)", tool)
}

// patternOrder is the order routes are written in: Claude Code's families,
// then anything else.
var patternOrder = []string{"*sonnet*", "*opus*", "*haiku*", "*"}

// YAML writes the result as a providers.yaml, with the notes as comments
// at the top.
func (r *Result) YAML(source string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Imported from %s by `ccbalancer import`.\n", source)
	if len(r.Notes) > 0 {
		b.WriteString("# Not carried over:\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "#   - %s\n", n)
		}
	}
	b.WriteString("\nproviders:\n")
	for _, p := range r.Providers {
		if p.Source != "" {
			fmt.Fprintf(&b, "  # from %s\n", p.Source)
		}
		fmt.Fprintf(&b, "  - name: %s\n    type: %s\n    base_url: %s\n", q(p.Name), p.Type, q(p.BaseURL))
		if p.AuthType != "" {
			fmt.Fprintf(&b, "    auth_type: %s\n", p.AuthType)
		}
		if p.AuthValue != "" {
			fmt.Fprintf(&b, "    auth_value: %s\n", q(p.AuthValue))
		}
		if p.Proxy != "" {
			fmt.Fprintf(&b, "    proxy: %s\n", q(p.Proxy))
		}
	}
	b.WriteString("\nmodel_routes:\n")
	var patterns []string
	for pat := range r.Routes {
		patterns = append(patterns, pat)
	}
	rank := func(p string) int {
		for i, x := range patternOrder {
			if x == p {
				return i
			}
		}
		return len(patternOrder)
	}
	sort.SliceStable(patterns, func(i, j int) bool {
		if rank(patterns[i]) != rank(patterns[j]) {
			return rank(patterns[i]) < rank(patterns[j])
		}
		return patterns[i] < patterns[j]
	})
	for _, pat := range patterns {
		fmt.Fprintf(&b, "  %s:\n", q(pat))
		for i, e := range r.Routes[pat] {
			fmt.Fprintf(&b, "    - {provider: %s, model: %s, priority: %d}\n", q(e.Provider), q(e.Model), i+1)
		}
	}
	if len(r.Settings) > 0 {
		b.WriteString("\nsettings:\n")
		var keys []string
		for k := range r.Settings {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "  %s: %s\n", k, r.Settings[k])
		}
	}
	return []byte(b.String())
}

func q(s string) string { return strconv.Quote(s) }

// envRef turns a key written as $NAME or ${NAME} into ccbalancer's
// ${NAME}; any other value is kept as it is (a literal key).
func envRef(v string) string {
	v = strings.TrimSpace(v)
	if name, ok := strings.CutPrefix(v, "$"); ok {
		name = strings.TrimSuffix(strings.TrimPrefix(name, "{"), "}")
		if name != "" && !strings.ContainsAny(name, " ${}") {
			return "${" + name + "}"
		}
	}
	return v
}
