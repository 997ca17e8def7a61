package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestProviderFamily(t *testing.T) {
	t.Parallel()
	noEnv := func(string) (string, bool) { return "", false }
	const routes = "model_routes:\n  \"*\": [{provider: O}]\n"
	good := `providers:
  - {name: O, type: openai, base_url: "http://127.0.0.1:1/v1", auth_value: k, family: " Gemini "}
  - {name: P, type: openai, base_url: "http://127.0.0.1:2/v1", auth_value: k}
` + routes
	cfg, err := Parse("p.yaml", []byte(good), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"gemini", ""}, []string{cfg.Providers[0].Family, cfg.Providers[1].Family}); diff != "" {
		t.Errorf("families (-want +got):\n%s", diff)
	}
	tests := []struct{ name, provider, want string }{
		{"unknown", `{name: O, type: openai, base_url: "http://h/v1", auth_value: k, family: gpt}`,
			`p.yaml:2: providers[0].family: "gpt" is not one of generic, openai,`},
		{"anthropic", `{name: O, type: anthropic, base_url: "http://h", auth_value: k, family: openai}`,
			"p.yaml:2: providers[0].family: family applies to openai providers only"},
		{"not a string", `{name: O, type: openai, base_url: "http://h/v1", auth_value: k, family: [a]}`,
			"p.yaml:2: providers[0].family"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte("providers:\n  - "+tt.provider+"\n"+routes), noEnv)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
