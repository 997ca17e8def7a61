package presets

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/config"
)

func anyEnv(name string) (string, bool) { return "sk-" + strings.ToLower(name), true }

// TestEachPresetLoads runs the config loader on every preset alone: its
// provider is valid, and its routes cover Claude Code's opus, sonnet and
// haiku names with that provider.
func TestEachPresetLoads(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"anthropic", "claude-subscription", "openrouter", "deepseek", "kimi", "glm", "qwen", "gemini", "openai", "ollama", "vllm", "llama.cpp"}
	var got []string
	for _, p := range all {
		got = append(got, p.Name)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("presets (-want +got):\n%s", diff)
	}
	for _, p := range all {
		t.Run(p.Name, func(t *testing.T) {
			if p.Source == "" || p.Title == "" {
				t.Errorf("preset %s has no source or title", p.Name)
			}
			out, err := Render([]Preset{p}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Parse(p.Name+".yaml", out, anyEnv)
			if err != nil {
				t.Fatalf("the preset does not load:\n%v\n%s", err, out)
			}
			if len(cfg.Providers) != 1 || cfg.Providers[0].Name != p.ProviderName() {
				t.Fatalf("providers %+v", cfg.Providers)
			}
			pr := cfg.Providers[0]
			switch {
			case p.Passthrough && !pr.AuthValue.IsPassthrough():
				t.Errorf("auth_value %v, want passthrough", pr.AuthValue)
			case p.Key != "" && pr.AuthValue.Reveal() != "sk-"+strings.ToLower(p.Key):
				t.Errorf("auth_value is not ${%s}", p.Key)
			}
			for _, model := range []string{"claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"} {
				r := matchRoute(cfg, model)
				if r == nil || len(r.Entries) != 1 || r.Entries[0].Provider != pr.Name || r.Entries[0].Model == "" {
					t.Errorf("%s: route %+v", model, r)
				}
			}
			for _, w := range cfg.Warnings {
				if p.Key != "" || !strings.Contains(w, "no credential") {
					t.Errorf("warning: %s", w)
				}
			}
		})
	}
}

// matchRoute finds the route for a model as the proxy does (patterns in
// file order).
func matchRoute(cfg *config.Config, model string) *config.Route {
	for i, r := range cfg.Routes {
		if strings.Contains(model, strings.Trim(r.Pattern, "*")) {
			return &cfg.Routes[i]
		}
	}
	return nil
}

// TestCombined: several presets make one file in which the first is tried
// first on every route; keys can be keyring entries.
func TestCombined(t *testing.T) {
	list, err := Find([]string{"claude-subscription", "deepseek", "openrouter"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Render(list, Options{Keyring: true})
	if err != nil {
		t.Fatal(err)
	}
	keyring := func(name string) (string, error) { return "sk-keyring-" + name, nil }
	cfg, err := config.ParseWith("p.yaml", out, config.Sources{Env: anyEnv, Keyring: keyring})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if ds, _ := cfg.Provider("DeepSeek"); ds.AuthValue.Reveal() != "sk-keyring-deepseek" {
		t.Errorf("DeepSeek's key is not read from keyring entry deepseek")
	}
	r := matchRoute(cfg, "claude-opus-5-5")
	var got []string
	for _, e := range r.Entries {
		got = append(got, e.Provider+"="+e.Model)
	}
	want := []string{"Subscription=passthrough", "DeepSeek=deepseek-v4-pro", "OpenRouter=anthropic/claude-opus-4.1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("opus route (-want +got):\n%s", diff)
	}
	if _, err := Find([]string{"nope"}); err == nil || !strings.Contains(err.Error(), "known: anthropic, claude-subscription") {
		t.Errorf("unknown preset: %v", err)
	}
}
