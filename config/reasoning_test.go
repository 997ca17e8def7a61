package config

import (
	"strings"
	"testing"
)

func TestProviderReasoning(t *testing.T) {
	t.Parallel()
	noEnv := func(string) (string, bool) { return "", false }
	const routes = "model_routes:\n  \"*\": [{provider: O}]\n"
	good := `providers:
  - {name: O, type: openai, base_url: "http://127.0.0.1:1/v1", auth_value: k, reasoning: true}
  - {name: P, type: openai, base_url: "http://127.0.0.1:2/v1", auth_value: k}
` + routes
	cfg, err := Parse("p.yaml", []byte(good), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Providers[0].Reasoning || cfg.Providers[1].Reasoning {
		t.Errorf("reasoning = %v, %v; want true, false", cfg.Providers[0].Reasoning, cfg.Providers[1].Reasoning)
	}
	bad := "providers:\n  - {name: O, type: openai, base_url: \"http://127.0.0.1:1/v1\", auth_value: k, reasoning: maybe}\n" + routes
	if _, err := Parse("p.yaml", []byte(bad), noEnv); err == nil || !strings.Contains(err.Error(), "p.yaml:2: providers[0].reasoning") {
		t.Fatalf("reasoning: maybe gave %v", err)
	}
}
