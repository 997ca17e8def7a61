package importer

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/config"
)

func env(name string) (string, bool) { return "sk-from-" + strings.ToLower(name), true }

// load converts a sample file and runs the config loader on the result.
func load(t *testing.T, tool, file string) (*Result, *config.Config) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Convert(tool, data)
	if err != nil {
		t.Fatal(err)
	}
	out := res.YAML(file)
	cfg, err := config.Parse("imported.yaml", out, env)
	if err != nil {
		t.Fatalf("the imported file does not load:\n%v\n%s", err, out)
	}
	return res, cfg
}

func routeOf(cfg *config.Config, pattern string) []string {
	for _, r := range cfg.Routes {
		if r.Pattern == pattern {
			var out []string
			for _, e := range r.Entries {
				out = append(out, e.Provider+"="+e.Model)
			}
			return out
		}
	}
	return nil
}

func TestCCSwitch(t *testing.T) {
	res, cfg := load(t, "cc-switch", "testdata/cc-switch.json")
	type prov struct{ Name, Type, BaseURL, AuthType, Auth string }
	var got []prov
	for _, p := range cfg.Providers {
		got = append(got, prov{p.Name, string(p.Type), p.BaseURL, string(p.AuthType), p.AuthValue.Reveal()})
	}
	want := []prov{
		{"DeepSeek", "anthropic", "https://api.deepseek.com/anthropic", "auth_token", "sk-deepseek-sample-key"},
		{"Claude Official", "anthropic", "https://api.anthropic.com", "auth_token", "passthrough"},
		{"Zhipu GLM", "anthropic", "https://open.bigmodel.cn/api/anthropic", "auth_token", "sk-from-zhipu_key"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("providers (-want +got):\n%s", diff)
	}
	routes := map[string][]string{}
	for _, pat := range []string{"*opus*", "*sonnet*", "*haiku*", "*"} {
		routes[pat] = routeOf(cfg, pat)
	}
	wantRoutes := map[string][]string{
		"*opus*":   {"DeepSeek=deepseek-v4-pro", "Claude Official=passthrough", "Zhipu GLM=glm-4.6"},
		"*sonnet*": {"DeepSeek=deepseek-v4-pro", "Claude Official=passthrough", "Zhipu GLM=glm-4.6"},
		"*haiku*":  {"DeepSeek=deepseek-flash", "Claude Official=passthrough", "Zhipu GLM=glm-4.5-air"},
		"*":        {"DeepSeek=deepseek-v4-pro", "Claude Official=passthrough", "Zhipu GLM=passthrough"},
	}
	if diff := cmp.Diff(wantRoutes, routes); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	wantNotes := []string{
		"codex: providers of another app (only Claude Code's are imported)",
		"mcp: cc-switch's mcp settings concern Claude Code itself, not providers",
		`provider "DeepSeek": env API_TIMEOUT_MS has no equivalent here`,
	}
	if diff := cmp.Diff(wantNotes, res.Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

func TestClaudeCodeRouter(t *testing.T) {
	res, cfg := load(t, "claude-code-router", "testdata/claude-code-router.json")
	type prov struct{ Name, Type, BaseURL, Auth, Proxy string }
	var got []prov
	for _, p := range cfg.Providers {
		got = append(got, prov{p.Name, string(p.Type), p.BaseURL, p.AuthValue.Reveal(), p.Proxy})
	}
	const px = "http://127.0.0.1:7890"
	want := []prov{
		{"openrouter", "openai", "https://openrouter.ai/api/v1", "sk-from-openrouter_api_key", px},
		{"deepseek", "openai", "https://api.deepseek.com", "sk-deepseek-sample-key", px},
		{"ollama", "openai", "http://localhost:11434/v1", "ollama", px},
		{"anthropic", "anthropic", "https://api.anthropic.com", "sk-from-anthropic_api_key", px},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("providers (-want +got):\n%s", diff)
	}
	wantRoutes := map[string][]string{
		"*opus*":   {"deepseek=deepseek-reasoner", "deepseek=deepseek-chat"},
		"*sonnet*": {"deepseek=deepseek-chat"},
		"*haiku*":  {"ollama=qwen2.5-coder:latest", "deepseek=deepseek-chat"},
		"*":        {"deepseek=deepseek-chat"},
	}
	routes := map[string][]string{}
	for pat := range wantRoutes {
		routes[pat] = routeOf(cfg, pat)
	}
	if diff := cmp.Diff(wantRoutes, routes); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	if cfg.Settings.Port != 3456 || cfg.Settings.AuthKey.Reveal() != "sk-from-ccr_client_key" {
		t.Errorf("settings: port %d, auth_key carried: %v", cfg.Settings.Port, cfg.Settings.AuthKey != "")
	}
	wantNotes := []string{
		"API_TIMEOUT_MS: a claude-code-router setting with no equivalent here",
		"LOG: a claude-code-router setting with no equivalent here",
		"Router.longContext (openrouter,google/gemini-2.5-pro-preview): no equivalent scenario here",
		"Router.longContextThreshold (60000): no equivalent scenario here",
		"Router.webSearch (openrouter,google/gemini-2.5-flash:online): no equivalent scenario here",
		`provider "anthropic": transformers ({"use": ["Anthropic"]}) have no equivalent; ccbalancer converts requests itself`,
		`provider "deepseek": transformers ({"use": ["deepseek"], "deepseek-chat": {"use": ["tooluse"]}}) have no equivalent; ccbalancer converts requests itself`,
		`provider "openrouter": transformers ({"use": ["openrouter"]}) have no equivalent; ccbalancer converts requests itself`,
	}
	if diff := cmp.Diff(wantNotes, res.Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

func TestBadInput(t *testing.T) {
	for _, c := range []struct{ tool, data, want string }{
		{"cc-switch", "{", "not JSON"},
		{"cc-switch", `{"version":2,"claude":{"providers":{},"current":""}}`, "cc-switch.db"},
		{"claude-code-router", `{"Router":{}}`, "no Providers"},
		{"other", `{}`, "unknown tool"},
	} {
		if _, err := Convert(c.tool, []byte(c.data)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: %v, want an error with %q", c.tool, c.data, err, c.want)
		}
	}
}
