package importer

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ccrConfig is claude-code-router's config.json (its README): Providers
// with an api_base_url (the full chat completions URL), api_key, models and
// transformers; Router mapping scenarios to "provider,model".
type ccrConfig struct {
	APIKey    string         `json:"APIKEY"`
	ProxyURL  string         `json:"PROXY_URL"`
	Host      string         `json:"HOST"`
	Port      json.Number    `json:"PORT"`
	Providers []ccrProvider  `json:"Providers"`
	Router    map[string]any `json:"Router"`
}

type ccrProvider struct {
	Name        string          `json:"name"`
	APIBaseURL  string          `json:"api_base_url"`
	APIKey      string          `json:"api_key"`
	Models      []string        `json:"models"`
	Transformer json.RawMessage `json:"transformer"`
}

// ccrKnown are the top-level keys that carry over (or are read).
var ccrKnown = map[string]bool{"APIKEY": true, "PROXY_URL": true, "HOST": true, "PORT": true, "Providers": true, "Router": true}

// ClaudeCodeRouter converts claude-code-router's config.json. Providers
// whose api_base_url ends in /chat/completions become openai providers;
// those ending in /v1/messages (the Anthropic transformer) anthropic ones.
// Router.default routes every model; Router.background the haiku models
// (Claude Code's background tasks); Router.think the opus models. The other
// scenarios (longContext, webSearch, image), transformers and custom
// routers have no equivalent and are reported.
func ClaudeCodeRouter(data []byte) (*Result, error) {
	var cfg ccrConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("claude-code-router config: not JSON: %w", err)
	}
	var top map[string]json.RawMessage
	_ = json.Unmarshal(data, &top)
	r := &Result{Settings: map[string]string{}}
	for k := range top {
		if !ccrKnown[k] {
			r.note("%s: a claude-code-router setting with no equivalent here", k)
		}
	}
	if len(cfg.Providers) == 0 {
		return nil, fmt.Errorf("claude-code-router config: no Providers in it")
	}
	if cfg.APIKey != "" {
		r.Settings["auth_key"] = strconv.Quote(envRef(cfg.APIKey))
	}
	if cfg.Host != "" && cfg.Host != "127.0.0.1" && cfg.Host != "localhost" {
		r.note("HOST %s: ccbalancer listens on 127.0.0.1 unless settings.host is set (with auth_key)", cfg.Host)
	}
	if cfg.Port != "" {
		r.Settings["port"] = cfg.Port.String()
	}
	names := map[string]string{} // ccr name -> ours
	for _, cp := range cfg.Providers {
		p := Provider{Name: r.uniqueName(cp.Name), AuthValue: envRef(cp.APIKey), Proxy: cfg.ProxyURL,
			Source: "claude-code-router provider " + strconvQuote(cp.Name)}
		u := strings.TrimRight(cp.APIBaseURL, "/")
		switch {
		case strings.HasSuffix(u, "/v1/messages"):
			p.Type, p.BaseURL, p.AuthType = "anthropic", strings.TrimSuffix(u, "/v1/messages"), "api_key"
		case strings.HasSuffix(u, "/chat/completions"):
			p.Type, p.BaseURL = "openai", strings.TrimSuffix(u, "/chat/completions")
		default:
			p.Type, p.BaseURL = "openai", u
			r.note("provider %q: api_base_url %s ends in neither /chat/completions nor /v1/messages; check its base_url", cp.Name, cp.APIBaseURL)
		}
		if len(cp.Transformer) > 0 && string(cp.Transformer) != "null" {
			r.note("provider %q: transformers (%s) have no equivalent; ccbalancer converts requests itself", cp.Name, shortJSON(cp.Transformer))
		}
		names[cp.Name] = p.Name
		r.Providers = append(r.Providers, p)
	}
	target := func(scenario string) (Entry, bool) {
		v, _ := cfg.Router[scenario].(string)
		prov, model, ok := strings.Cut(v, ",")
		if !ok {
			if v != "" {
				r.note("Router.%s %q is not \"provider,model\"", scenario, v)
			}
			return Entry{}, false
		}
		ours, known := names[strings.TrimSpace(prov)]
		if !known {
			r.note("Router.%s names provider %q, which is not in Providers", scenario, prov)
			return Entry{}, false
		}
		return Entry{ours, strings.TrimSpace(model)}, true
	}
	def, hasDefault := target("default")
	if think, ok := target("think"); ok {
		r.route("*opus*", think)
	}
	if bg, ok := target("background"); ok {
		r.route("*haiku*", bg)
	}
	if hasDefault {
		for _, pat := range []string{"*opus*", "*sonnet*", "*haiku*", "*"} {
			r.route(pat, def)
		}
	}
	for scenario, v := range cfg.Router {
		switch scenario {
		case "default", "think", "background":
		default:
			r.note("Router.%s (%v): no equivalent scenario here", scenario, v)
		}
	}
	if !hasDefault {
		r.note("Router.default is missing: add model_routes by hand")
	}
	sort.Strings(r.Notes)
	return r, nil
}

func shortJSON(b json.RawMessage) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}

func strconvQuote(s string) string { return strconv.Quote(s) }
