// Package presets writes a providers.yaml for well-known providers from one
// embedded list (presets.yaml): `ccbalancer init --preset NAME[,NAME…]`.
package presets

import (
	_ "embed"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed presets.yaml
var data []byte

// Preset is one well-known provider.
type Preset struct {
	Name   string `yaml:"name"`
	Title  string `yaml:"title"`
	Source string `yaml:"source"`
	// Provider is the providers.yaml entry, less auth_value.
	Provider yaml.Node `yaml:"provider"`
	// Key names the environment variable (or, with --keyring, the keyring
	// entry) that holds the key; "" for servers that need none.
	Key string `yaml:"key"`
	// Passthrough: the provider gets the client's own credential.
	Passthrough bool `yaml:"passthrough"`
	// Routes maps Claude Code's model patterns to the model sent.
	Routes map[string]string `yaml:"routes"`
	Note   string            `yaml:"note"`
}

// ProviderName is the name of the provider the preset writes.
func (p Preset) ProviderName() string {
	var v struct {
		Name string `yaml:"name"`
	}
	_ = p.Provider.Decode(&v)
	return v.Name
}

// All returns every preset, in the file's order.
func All() ([]Preset, error) {
	var list []Preset
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("reading the embedded presets: %w", err)
	}
	return list, nil
}

// Find returns the presets with the given names, in the given order; an
// unknown name is an error that lists the known ones.
func Find(names []string) ([]Preset, error) {
	all, err := All()
	if err != nil {
		return nil, err
	}
	byName := map[string]Preset{}
	var known []string
	for _, p := range all {
		byName[p.Name] = p
		known = append(known, p.Name)
	}
	var out []Preset
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" || seen[n] {
			continue
		}
		p, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("no preset %q (known: %s)", n, strings.Join(known, ", "))
		}
		seen[n] = true
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no preset named (known: %s)", strings.Join(known, ", "))
	}
	return out, nil
}

// Options say how keys are written.
type Options struct {
	// Keyring writes keys as keyring:NAME (NAME the preset's name) instead
	// of ${ENV}.
	Keyring bool
}

// patterns are Claude Code's model families, in the order routes are
// written (the sonnet route is the default for models that match none).
var patterns = []string{"*sonnet*", "*opus*", "*haiku*"}

// Render writes a providers.yaml for the presets, in the order given: the
// first preset is tried first on every route, the others fail over in turn.
func Render(list []Preset, opt Options) ([]byte, error) {
	var b strings.Builder
	var names []string
	for _, p := range list {
		names = append(names, p.Name)
	}
	fmt.Fprintf(&b, "# Written by `ccbalancer init --preset %s`.\n", strings.Join(names, ","))
	b.WriteString("# Check it with `ccbalancer check`; list a provider's models with `ccbalancer models NAME`.\n\nproviders:\n")
	for _, p := range list {
		fmt.Fprintf(&b, "  # %s\n  # source: %s\n", p.Title, p.Source)
		if p.Note != "" {
			fmt.Fprintf(&b, "  # note: %s\n", p.Note)
		}
		node := p.Provider
		node.Style = 0 // block style, so that auth_value can follow
		entry, err := yaml.Marshal(&node)
		if err != nil {
			return nil, fmt.Errorf("preset %s: %w", p.Name, err)
		}
		lines := strings.Split(strings.TrimRight(string(entry), "\n"), "\n")
		for i, l := range lines {
			prefix := "    "
			if i == 0 {
				prefix = "  - "
			}
			b.WriteString(prefix + l + "\n")
		}
		switch {
		case p.Passthrough:
			b.WriteString("    auth_value: passthrough\n")
		case p.Key != "" && opt.Keyring:
			fmt.Fprintf(&b, "    auth_value: %s\n", strconv.Quote("keyring:"+p.Name))
		case p.Key != "":
			fmt.Fprintf(&b, "    auth_value: %s\n", strconv.Quote("${"+p.Key+"}"))
		}
	}
	b.WriteString("\nmodel_routes:\n")
	extra := map[string]bool{}
	for _, p := range list {
		for pat := range p.Routes {
			extra[pat] = true
		}
	}
	order := append([]string(nil), patterns...)
	var others []string
	for pat := range extra {
		if !contains(order, pat) {
			others = append(others, pat)
		}
	}
	sort.Strings(others)
	for _, pat := range append(order, others...) {
		var entries []string
		for _, p := range list {
			if m, ok := p.Routes[pat]; ok {
				entries = append(entries, fmt.Sprintf("    - {provider: %s, model: %s, priority: %d}",
					strconv.Quote(p.ProviderName()), strconv.Quote(m), len(entries)+1))
			}
		}
		if len(entries) > 0 {
			fmt.Fprintf(&b, "  %s:\n%s\n", strconv.Quote(pat), strings.Join(entries, "\n"))
		}
	}
	b.WriteString("\nsettings:\n  selection_strategy: priority\n")
	return []byte(b.String()), nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
