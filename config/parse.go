package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// parser walks one file's YAML tree, collecting every problem instead of
// stopping at the first.
type parser struct {
	file  string
	src   Sources
	errs  []Error
	warns []warning
	// reported holds the legacy keys already reported as ignored, so a key
	// repeated in every provider is reported once.
	reported map[string]bool
	// plainLine is the line of the first credential written in plain text
	// (no ${ENV}, keyring: or passthrough), 0 if none.
	plainLine int
	// keyring holds the keyring entries read so far, by name.
	keyring map[string]keyringResult
	// scope prefixes the field of every message while a part of the file is
	// read again inside another ("profiles.work").
	scope string
}

// warning is one non-fatal finding, kept with its line for sorting.
type warning struct {
	line int
	text string
}

// line returns a node's line, 0 for a missing node.
func line(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Line
}

// errorf records a problem at node n.
func (p *parser) errorf(n *yaml.Node, field, format string, args ...any) {
	field = p.scoped(field)
	p.errs = append(p.errs, Error{File: p.file, Line: line(n), Field: field, Msg: fmt.Sprintf(format, args...)})
}

// warnf records a warning at node n, formatted like an Error.
func (p *parser) warnf(n *yaml.Node, field, format string, args ...any) {
	field = p.scoped(field)
	e := Error{File: p.file, Line: line(n), Field: field, Msg: fmt.Sprintf(format, args...)}
	p.warns = append(p.warns, warning{line: e.Line, text: e.Error()})
}

func (p *parser) scoped(field string) string {
	if p.scope == "" {
		return field
	}
	return join(p.scope, field)
}

// ignored warns once per key that a file may carry for compatibility with
// the original project but that has no meaning here.
func (p *parser) ignored(n *yaml.Node, key, field string) {
	if p.reported[key] {
		return
	}
	p.reported[key] = true
	p.warnf(n, field, "ignored (a setting of the original project that ccbalancer does not use)")
}

// yamlLine finds the line number in a yaml.v3 syntax error message.
var yamlLine = regexp.MustCompile(`line (\d+)`)

// Parse decodes and validates a providers.yaml. path is used in messages only;
// lookupEnv resolves ${VAR} references in credentials, and no keyring is
// read. Every problem found is returned together as *Errors; non-fatal
// findings go to Config.Warnings.
func Parse(path string, data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	return ParseWith(path, data, Sources{Env: lookupEnv})
}

// ParseWith is Parse with credentials' references read from src.
func ParseWith(path string, data []byte, src Sources) (*Config, error) {
	cfg, _, err := parse(path, data, src)
	return cfg, err
}

// parse is ParseWith that also returns the line of the first plain-text
// credential (0 if none), which Load needs for its file-permission warning.
func parse(path string, data []byte, src Sources) (*Config, int, error) {
	if src.Env == nil {
		src.Env = func(string) (string, bool) { return "", false }
	}
	if src.Keyring == nil {
		src.Keyring = func(string) (string, error) { return "", errNoKeyring }
	}
	p := &parser{file: path, src: src, reported: map[string]bool{}, keyring: map[string]keyringResult{}}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		p.syntaxError(err)
		return nil, 0, &Errors{List: p.errs}
	}
	// A second document would be silently ignored by a plain decode; say so
	// instead, since its providers would never be used.
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		p.errorf(&extra, "", "only one YAML document is allowed (found a second one after ---)")
	case !errors.Is(err, io.EOF):
		p.syntaxError(err)
	}
	cfg := p.document(&doc)
	cfg.Path = path
	if len(p.errs) > 0 {
		sortErrors(p.errs)
		return nil, 0, &Errors{List: p.errs}
	}
	sort.SliceStable(p.warns, func(i, j int) bool { return p.warns[i].line < p.warns[j].line })
	for _, w := range p.warns {
		cfg.Warnings = append(cfg.Warnings, w.text)
	}
	return cfg, p.plainLine, nil
}

// syntaxError records a yaml.v3 syntax error with the line it names.
func (p *parser) syntaxError(err error) {
	ln := 0
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		ln, _ = strconv.Atoi(m[1])
	}
	msg := yamlLine.ReplaceAllString(err.Error(), "")
	p.errs = append(p.errs, Error{File: p.file, Line: ln, Msg: "invalid YAML: " + trimYAMLPrefix(msg)})
}

// document walks the top level: providers, model_routes, settings.
func (p *parser) document(doc *yaml.Node) *Config {
	cfg := &Config{Settings: Defaults()}
	root := doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	if doc.Kind == 0 || isNull(root) {
		p.errs = append(p.errs, Error{File: p.file, Line: 1, Msg: "the file is empty: at least one provider is required"})
		return cfg
	}
	top, ok := p.mapping(root, "")
	if !ok {
		return cfg
	}
	var providersN, routesN, settingsN, profilesN *yaml.Node
	for _, kv := range top {
		switch kv.key {
		case "providers":
			providersN = kv.value
		case "model_routes":
			routesN = kv.value
		case "settings":
			settingsN = kv.value
		case "profiles":
			profilesN = kv.value
		default:
			p.errorf(kv.keyN, kv.key, "unknown key %q (expected providers, model_routes, settings or profiles)", kv.key)
		}
	}
	legacy := p.providers(cfg, providersN, root)
	enabled := make(map[string]bool, len(cfg.Providers))
	known := make(map[string]bool, len(cfg.Providers)+len(legacy.names))
	for _, name := range legacy.names {
		known[name] = true
	}
	for _, pr := range cfg.Providers {
		enabled[pr.Name] = pr.Enabled
	}
	if routesN != nil && !isNull(routesN) {
		p.routes(cfg, routesN, known, enabled)
		legacy.reportIgnored(p)
	} else {
		p.legacyRoutes(cfg, legacy, root)
	}
	p.settings(cfg, settingsN)
	p.profiles(cfg, profilesN, known, enabled)
	return cfg
}

// Load reads and parses the file at path with ProcessSources: this process's
// environment and the user's keyring. A file that others may read and that
// holds a credential in plain text gets a warning: such a key is one `cat`
// away from any user of the machine.
func Load(path string) (*Config, error) {
	return LoadWith(path, ProcessSources())
}

// LoadWith is Load with credentials' references read from src.
func LoadWith(path string, src Sources) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config %s: %w", path, err)
	}
	cfg, plainLine, err := parse(path, data, src)
	if err != nil {
		return nil, err
	}
	if plainLine > 0 && runtime.GOOS != "windows" {
		if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o004 != 0 {
			cfg.Warnings = append(cfg.Warnings, fmt.Sprintf(
				"%s:%d: a credential is written in plain text in a world-readable file (mode %#o): run chmod 600 %s, "+
					"or keep the key in the keyring (`ccbalancer secret set NAME`, then auth_value: \"keyring:NAME\") or in ${ENV_VAR}",
				path, plainLine, st.Mode().Perm(), path))
		}
	}
	return cfg, nil
}

// trimYAMLPrefix turns "yaml: : did not find expected key" into
// "did not find expected key".
func trimYAMLPrefix(msg string) string {
	return strings.TrimLeft(strings.TrimPrefix(msg, "yaml:"), " :")
}
