package config

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// legacyProviderKeys are provider keys of the original project that are
// accepted and ignored. big_model and small_model are handled apart: they
// build routes when a file has no model_routes.
var legacyProviderKeys = map[string]bool{
	"priority":       true,
	"streaming_mode": true,
	"timeout":        true,
	"max_retries":    true,
}

// modelRef is one big_model/small_model value of an original-project provider.
type modelRef struct {
	provider string
	model    string
	node     *yaml.Node
}

// legacyModels collects what the providers section tells about routing.
type legacyModels struct {
	names      []string // every provider name seen, even in a provider with errors
	big, small []modelRef
}

// reportIgnored warns about big_model/small_model once model_routes decides routing.
func (l legacyModels) reportIgnored(p *parser) {
	if len(l.big) > 0 {
		p.ignored(l.big[0].node, "providers.big_model", "providers[].big_model")
	}
	if len(l.small) > 0 {
		p.ignored(l.small[0].node, "providers.small_model", "providers[].small_model")
	}
}

// providers reads the providers list into cfg.
func (p *parser) providers(cfg *Config, n, root *yaml.Node) legacyModels {
	var lm legacyModels
	items, ok := p.sequence(n, "providers")
	if !ok {
		return lm
	}
	if len(items) == 0 {
		at := n
		if at == nil {
			at = root
		}
		p.errorf(at, "providers", "at least one provider is required")
		return lm
	}
	firstLine := map[string]int{}
	for i, item := range items {
		field := index("providers", i)
		pr, ok := p.provider(item, field, &lm)
		if pr.Name != "" {
			if first, dup := firstLine[pr.Name]; dup {
				p.errorf(item, join(field, "name"), "duplicate provider name %q (first at line %d)", pr.Name, first)
				continue
			}
			firstLine[pr.Name] = pr.Line
			lm.names = append(lm.names, pr.Name)
		}
		if ok {
			cfg.Providers = append(cfg.Providers, pr)
		}
	}
	if len(cfg.Providers) > 0 {
		anyEnabled := false
		for _, pr := range cfg.Providers {
			anyEnabled = anyEnabled || pr.Enabled
		}
		if !anyEnabled {
			p.warnf(n, "providers", "every provider is disabled: requests will fail until one is enabled")
		}
	}
	return lm
}

// provider reads one provider entry; ok is false when it has errors.
func (p *parser) provider(n *yaml.Node, field string, lm *legacyModels) (Provider, bool) {
	n = resolve(n)
	pr := Provider{Enabled: true, AuthType: AuthAPIKey, Line: line(n)}
	kvs, ok := p.mapping(n, field)
	if !ok {
		return pr, false
	}
	nerr := len(p.errs)
	var typeN, urlN, authTypeN, authValueN, proxyN, headersN, nameN, familyN *yaml.Node
	var big, small *yaml.Node
	for _, kv := range kvs {
		f := join(field, kv.key)
		switch kv.key {
		case "name":
			nameN = kv.value
		case "type":
			typeN = kv.value
		case "base_url":
			urlN = kv.value
		case "auth_type":
			authTypeN = kv.value
		case "auth_value":
			authValueN = kv.value
		case "enabled":
			pr.Enabled, _ = p.boolean(kv.value, f)
		case "proxy":
			proxyN = kv.value
		case "reasoning":
			pr.Reasoning, _ = p.boolean(kv.value, f)
		case "headers":
			headersN = kv.value
		case "family":
			familyN = kv.value
		case "prices":
			pr.Prices = p.prices(kv.value, f)
		case "budget":
			pr.Budget = p.budget(kv.value, f)
		case "big_model":
			big = kv.value
		case "small_model":
			small = kv.value
		default:
			if legacyProviderKeys[kv.key] {
				p.ignored(kv.keyN, "providers."+kv.key, "providers[]."+kv.key)
				continue
			}
			p.errorf(kv.keyN, f, "unknown key %q", kv.key)
		}
	}

	if s, ok := p.str(nameN, join(field, "name")); ok {
		pr.Name = strings.TrimSpace(s)
		if pr.Name == "" {
			p.errorf(orNode(nameN, n), join(field, "name"), "a non-empty name is required")
		}
	}
	p.providerType(&pr, typeN, n, join(field, "type"))
	p.baseURL(&pr, urlN, n, join(field, "base_url"))
	if authTypeN != nil {
		if s, ok := p.str(authTypeN, join(field, "auth_type")); ok {
			switch AuthType(s) {
			case AuthAPIKey, AuthAuthToken:
				pr.AuthType = AuthType(s)
			default:
				p.errorf(authTypeN, join(field, "auth_type"), "%q is not one of api_key, auth_token", s)
			}
		}
	}
	p.credentials(&pr, authValueN, join(field, "auth_value"))
	if pr.AuthValue == "" {
		// A server on this machine (Ollama, vLLM, llama.cpp) usually takes
		// no key: leaving auth_value out for it is no mistake.
		keyless := authValueN == nil && localServer(pr.BaseURL)
		if pr.Enabled && len(p.errs) == nerr && !keyless {
			p.warnf(orNode(authValueN, n), join(field, "auth_value"),
				"provider %q has no credential: requests are sent without one", pr.Name)
		}
	}
	if proxyN != nil && !isNull(proxyN) {
		if s, ok := p.str(proxyN, join(field, "proxy")); ok && s != "" {
			if msg := checkProxyURL(s); msg != "" {
				p.errorf(proxyN, join(field, "proxy"), "%s", msg)
			} else {
				pr.Proxy = s
			}
		}
	}
	pr.Headers, pr.SecretHeaders = p.headers(headersN, join(field, "headers"), pr.Name, pr.Enabled)
	p.family(&pr, familyN, join(field, "family"))
	for _, m := range []struct {
		n    *yaml.Node
		refs *[]modelRef
		key  string
	}{{big, &lm.big, "big_model"}, {small, &lm.small, "small_model"}} {
		if m.n == nil {
			continue
		}
		if s, ok := p.str(m.n, join(field, m.key)); ok && s != "" && pr.Name != "" {
			*m.refs = append(*m.refs, modelRef{provider: pr.Name, model: s, node: m.n})
		}
	}
	return pr, len(p.errs) == nerr
}

// orNode returns n, or parent when n is missing, so that an error about a
// missing key points at the entry that lacks it.
func orNode(n, parent *yaml.Node) *yaml.Node {
	if n == nil {
		return parent
	}
	return n
}

// providerType reads and checks a provider's type.
func (p *parser) providerType(pr *Provider, n, parent *yaml.Node, field string) {
	if isNull(n) {
		p.errorf(orNode(n, parent), field, "required: anthropic or openai")
		return
	}
	s, ok := p.str(n, field)
	if !ok {
		return
	}
	switch t := ProviderType(strings.ToLower(s)); t {
	case TypeAnthropic, TypeOpenAI:
		pr.Type = t
	case "zed":
		p.errorf(n, field, `type "zed" is not supported by ccbalancer: use anthropic or openai`)
	default:
		p.errorf(n, field, "%q is not one of anthropic, openai", s)
	}
}

// localServer reports whether base is an http(s) URL on this machine.
func localServer(base string) bool {
	u, err := url.Parse(base)
	return err == nil && u.Host != "" && IsLoopback(u.Host)
}

// baseURL reads and checks a provider's base_url, storing it without a
// trailing slash so that paths can be appended as is.
func (p *parser) baseURL(pr *Provider, n, parent *yaml.Node, field string) {
	if isNull(n) {
		p.errorf(orNode(n, parent), field, "required: an absolute http(s) URL")
		return
	}
	raw, ok := p.str(n, field)
	if !ok {
		return
	}
	s := RedactURL(raw) // for messages: the user info may hold a password
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil:
		p.errorf(n, field, "%q is not a valid URL", s)
	case u.Scheme != "http" && u.Scheme != "https":
		p.errorf(n, field, "%q must start with http:// or https://", s)
	case u.Host == "":
		p.errorf(n, field, "%q has no host", s)
	case u.RawQuery != "" || u.Fragment != "":
		p.errorf(n, field, "%q must not have a query or fragment", s)
	default:
		pr.BaseURL = strings.TrimRight(strings.TrimSpace(raw), "/")
	}
}

// family reads an openai provider's family.
func (p *parser) family(pr *Provider, n *yaml.Node, field string) {
	if isNull(n) {
		return
	}
	s, ok := p.str(n, field)
	if !ok {
		return
	}
	if pr.Type != TypeOpenAI {
		p.errorf(n, field, "family applies to openai providers only")
		return
	}
	v := strings.ToLower(strings.TrimSpace(s))
	if !slices.Contains(Families, v) {
		p.errorf(n, field, "%q is not one of %s", s, strings.Join(Families, ", "))
		return
	}
	pr.Family = v
}

// checkProxyURL returns a problem with an outbound proxy URL, or "". The
// URL itself is not repeated in the message: it may carry a password.
func checkProxyURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "not a valid URL"
	}
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
	default:
		return fmt.Sprintf("scheme %q is not one of http, https, socks5, socks5h", u.Scheme)
	}
	if u.Host == "" {
		return "the proxy URL has no host"
	}
	return ""
}

// headers reads a provider's extra upstream headers. Values may use ${ENV}
// or be read from the keyring, like credentials.
func (p *parser) headers(n *yaml.Node, field, owner string, enabled bool) (map[string]string, map[string]bool) {
	kvs, ok := p.mapping(n, field)
	if !ok || len(kvs) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(kvs))
	var secret map[string]bool
	for _, kv := range kvs {
		f := join(field, kv.key)
		if !validHeaderName(kv.key) {
			p.errorf(kv.keyN, f, "%q is not a valid header name", kv.key)
			continue
		}
		switch http.CanonicalHeaderKey(kv.key) {
		case "Host", "Content-Length", "Transfer-Encoding", "Connection":
			p.errorf(kv.keyN, f, "%s is set by the proxy and cannot be configured", kv.key)
			continue
		}
		s, ok := p.str(kv.value, f)
		if !ok {
			continue
		}
		if strings.ContainsAny(s, "\r\n\x00") {
			p.errorf(kv.value, f, "a header value must be a single line")
			continue
		}
		v, _ := p.credential(kv.value, f, owner, enabled, s)
		name := http.CanonicalHeaderKey(kv.key)
		out[name] = v
		if v != s {
			// Read from the environment or the keyring.
			if secret == nil {
				secret = map[string]bool{}
			}
			secret[name] = true
		}
	}
	return out, secret
}

// validHeaderName reports whether s is an HTTP token (RFC 9110 section 5.6.2).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r >= 0x80 || !(r == '!' || r == '#' || r == '$' || r == '%' || r == '&' || r == '\'' || r == '*' ||
			r == '+' || r == '-' || r == '.' || r == '^' || r == '_' || r == '`' || r == '|' || r == '~' ||
			r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// credentials reads auth_value: one credential, or a list of them (several
// keys of one account, used in turn). Each item is read by secret, the one
// place that resolves a credential (${ENV}, keyring:NAME or literal).
func (p *parser) credentials(pr *Provider, n *yaml.Node, field string) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		pr.AuthValue = p.secret(n, field, pr.Name, pr.Enabled)
		return
	}
	if len(n.Content) == 0 {
		p.errorf(n, field, "an empty list: give one key or several")
		return
	}
	for i, item := range n.Content {
		f := index(field, i)
		s := p.secret(item, f, pr.Name, pr.Enabled)
		switch {
		case s.IsPassthrough():
			p.errorf(item, f, `"passthrough" cannot be one of several keys: write auth_value: passthrough alone`)
		case s == "" && resolve(item).Value != "":
			// a reference that gave no value, already reported
		case s == "":
			p.errorf(item, f, "an empty key")
		default:
			pr.Keys = append(pr.Keys, s)
		}
	}
	if len(pr.Keys) > 0 {
		pr.AuthValue = pr.Keys[0]
	}
	if len(pr.Keys) == 1 {
		pr.Keys = nil
	}
}
