package importer

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// ccSwitchProvider is one provider of cc-switch's config.json (v2:
// {"version": 2, "claude": {"providers": {ID: provider}, "current": ID},
// "codex": ..., ...}; v1 had {"providers", "current"} at the top). Its
// settingsConfig is the Claude Code settings.json cc-switch writes when the
// provider is chosen; its env holds ANTHROPIC_BASE_URL, the key and models.
type ccSwitchProvider struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	SortIndex      *int   `json:"sortIndex"`
	SettingsConfig struct {
		Env map[string]any `json:"env"`
	} `json:"settingsConfig"`
}

type ccSwitchManager struct {
	Providers map[string]ccSwitchProvider `json:"providers"`
	Current   string                      `json:"current"`
}

// ccSwitchEnv are the settings.json env keys that carry over; the others
// are reported.
var ccSwitchEnv = map[string]bool{
	"ANTHROPIC_BASE_URL": true, "ANTHROPIC_AUTH_TOKEN": true, "ANTHROPIC_API_KEY": true,
	"ANTHROPIC_MODEL": true, "ANTHROPIC_SMALL_FAST_MODEL": true, "ANTHROPIC_DEFAULT_OPUS_MODEL": true,
	"ANTHROPIC_DEFAULT_SONNET_MODEL": true, "ANTHROPIC_DEFAULT_HAIKU_MODEL": true,
}

// CCSwitch converts cc-switch's config.json: each Claude provider becomes an
// anthropic provider (the current one tried first, the others in cc-switch's
// order as failover), its model variables become routes, and a provider
// with no base URL (cc-switch's "official" entry: Claude Code's own login)
// becomes a passthrough to api.anthropic.com.
func CCSwitch(data []byte) (*Result, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("cc-switch config: not JSON: %w", err)
	}
	var mgr ccSwitchManager
	raw, ok := top["claude"]
	if !ok {
		raw = data // v1: providers and current at the top
	}
	if err := json.Unmarshal(raw, &mgr); err != nil {
		return nil, fmt.Errorf("cc-switch config: claude providers: %w", err)
	}
	r := &Result{}
	for app := range top {
		switch app {
		case "claude", "version", "providers", "current":
		case "mcp", "prompts", "skills", "commonConfigSnippets", "claudeCommonConfigSnippet":
			r.note("%s: cc-switch's %s settings concern Claude Code itself, not providers", app, app)
		default:
			if strings.Contains(string(top[app]), `"providers"`) {
				r.note("%s: providers of another app (only Claude Code's are imported)", app)
			}
		}
	}
	if len(mgr.Providers) == 0 {
		return nil, fmt.Errorf("cc-switch config: no Claude providers in it (cc-switch 3.x may keep them in ~/.cc-switch/cc-switch.db: export them to JSON from cc-switch first)")
	}
	list := make([]ccSwitchProvider, 0, len(mgr.Providers))
	for id, p := range mgr.Providers {
		if p.ID == "" {
			p.ID = id
		}
		list = append(list, p)
	}
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if (a.ID == mgr.Current) != (b.ID == mgr.Current) {
			return a.ID == mgr.Current
		}
		ai, bi := 1<<30, 1<<30
		if a.SortIndex != nil {
			ai = *a.SortIndex
		}
		if b.SortIndex != nil {
			bi = *b.SortIndex
		}
		if ai != bi {
			return ai < bi
		}
		return a.Name < b.Name
	})
	for _, cp := range list {
		env := map[string]string{}
		for k, v := range cp.SettingsConfig.Env {
			s, _ := v.(string)
			if !ccSwitchEnv[k] {
				r.note("provider %q: env %s has no equivalent here", cp.Name, k)
				continue
			}
			env[k] = strings.TrimSpace(s)
		}
		p := Provider{Name: r.uniqueName(cp.Name), Type: "anthropic", BaseURL: strings.TrimRight(env["ANTHROPIC_BASE_URL"], "/"),
			Source: "cc-switch provider " + strconvQuote(cp.Name)}
		switch {
		case p.BaseURL == "":
			p.BaseURL, p.AuthType, p.AuthValue = "https://api.anthropic.com", "auth_token", "passthrough"
			p.Source += " (Claude Code's own login)"
		case env["ANTHROPIC_AUTH_TOKEN"] != "":
			p.AuthType, p.AuthValue = "auth_token", envRef(env["ANTHROPIC_AUTH_TOKEN"])
		case env["ANTHROPIC_API_KEY"] != "":
			p.AuthType, p.AuthValue = "api_key", envRef(env["ANTHROPIC_API_KEY"])
		default:
			r.note("provider %q: no key in its settings (add auth_value)", cp.Name)
		}
		r.Providers = append(r.Providers, p)
		model := func(keys ...string) string {
			for _, k := range keys {
				if v := env[k]; v != "" {
					return v
				}
			}
			return "passthrough"
		}
		r.route("*opus*", Entry{p.Name, model("ANTHROPIC_DEFAULT_OPUS_MODEL", "ANTHROPIC_MODEL")})
		r.route("*sonnet*", Entry{p.Name, model("ANTHROPIC_DEFAULT_SONNET_MODEL", "ANTHROPIC_MODEL")})
		r.route("*haiku*", Entry{p.Name, model("ANTHROPIC_DEFAULT_HAIKU_MODEL", "ANTHROPIC_SMALL_FAST_MODEL", "ANTHROPIC_MODEL")})
		r.route("*", Entry{p.Name, model("ANTHROPIC_MODEL")})
	}
	sort.Strings(r.Notes)
	return r, nil
}
