package openai

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/config"
)

// TestFamilyNamesMatchConfig keeps config's list of `family:` values and
// the families table in step.
func TestFamilyNamesMatchConfig(t *testing.T) {
	if diff := cmp.Diff(config.Families, FamilyNames()); diff != "" {
		t.Errorf("config.Families and the families table differ (-config +table):\n%s", diff)
	}
}

func TestResolveFamily(t *testing.T) {
	tests := []struct {
		explicit, base string
		want, how      string
	}{
		{"", "https://api.openai.com/v1", "openai", "detected from the host api.openai.com"},
		{"", "https://myres.openai.azure.com/openai/v1", "openai", "detected from the host myres.openai.azure.com"},
		{"", "https://openrouter.ai/api/v1", "openrouter", "detected from the host openrouter.ai"},
		{"", "https://api.deepseek.com", "deepseek", "detected from the host api.deepseek.com"},
		{"", "https://api.moonshot.ai/v1", "kimi", "detected from the host api.moonshot.ai"},
		{"", "https://api.moonshot.cn/v1", "kimi", "detected from the host api.moonshot.cn"},
		{"", "https://open.bigmodel.cn/api/paas/v4", "glm", "detected from the host open.bigmodel.cn"},
		{"", "https://api.z.ai/api/coding/paas/v4", "glm", "detected from the host api.z.ai"},
		{"", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1", "qwen", "detected from the host dashscope-intl.aliyuncs.com"},
		{"", "https://generativelanguage.googleapis.com/v1beta/openai", "gemini", "detected from the host generativelanguage.googleapis.com"},
		{"", "https://api.mistral.ai/v1", "mistral", "detected from the host api.mistral.ai"},
		{"", "https://api.groq.com/openai/v1", "groq", "detected from the host api.groq.com"},
		{"", "https://api.x.ai/v1", "xai", "detected from the host api.x.ai"},
		{"", "http://127.0.0.1:11434/v1", "ollama", "detected from the port 11434"},
		{"", "http://localhost:8000/v1", "generic", "no known host"},
		{"", "https://notopenai.com/v1", "generic", "no known host"},
		{"vllm", "http://localhost:8000/v1", "vllm", "set by family:"},
	}
	for _, tt := range tests {
		f, how, err := ResolveFamily(tt.explicit, tt.base)
		if err != nil {
			t.Fatalf("ResolveFamily(%q, %q): %v", tt.explicit, tt.base, err)
		}
		if diff := cmp.Diff([2]string{tt.want, tt.how}, [2]string{f.Name, how}); diff != "" {
			t.Errorf("ResolveFamily(%q, %q) (-want +got):\n%s", tt.explicit, tt.base, diff)
		}
	}
	if _, _, err := ResolveFamily("gpt", "http://h/v1"); err == nil {
		t.Error("an unknown family gave no error")
	}
}

func TestEndpoint(t *testing.T) {
	tests := []struct {
		base, family string
		url          string
		warns        bool
	}{
		{"https://api.openai.com/v1", "openai", "https://api.openai.com/v1/chat/completions", false},
		{"https://open.bigmodel.cn/api/paas/v4", "glm", "https://open.bigmodel.cn/api/paas/v4/chat/completions", false},
		{"https://generativelanguage.googleapis.com/v1beta/openai", "gemini", "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions", false},
		{"https://host.example/openai/deployments/x/chat/completions", "generic", "https://host.example/openai/deployments/x/chat/completions", false},
		{"https://host.example/v1/chat/completions/", "generic", "https://host.example/v1/chat/completions", false},
		{"https://api.deepseek.com", "deepseek", "https://api.deepseek.com/chat/completions", false},
		{"https://host.example", "generic", "https://host.example/chat/completions", true},
		{"http://127.0.0.1:8080/api", "generic", "http://127.0.0.1:8080/api/chat/completions", true},
		{"https://host.example/v1x", "generic", "https://host.example/v1x/chat/completions", true},
	}
	for _, tt := range tests {
		f, err := LookupFamily(tt.family)
		if err != nil {
			t.Fatal(err)
		}
		if got := ChatCompletionsURL(tt.base); got != tt.url {
			t.Errorf("ChatCompletionsURL(%q) = %q, want %q", tt.base, got, tt.url)
		}
		if got, want := ModelsURL(tt.base), strings.TrimSuffix(tt.url, "/chat/completions")+"/models"; got != want {
			t.Errorf("ModelsURL(%q) = %q, want %q", tt.base, got, want)
		}
		if w := EndpointWarning(tt.base, f); (w != "") != tt.warns {
			t.Errorf("EndpointWarning(%q) = %q, want a warning: %v", tt.base, w, tt.warns)
		}
	}
}

func TestModelRules(t *testing.T) {
	tests := []struct {
		family, model string
		rule          bool
	}{
		{"openai", "gpt-5", true},
		{"generic", "gpt-5-mini", true},
		{"openai", "o1", true},
		{"openai", "o3-pro", true},
		{"openai", "o4-mini-2025-04-16", true},
		{"generic", "azure/gpt-5.1", true},
		{"openai", "gpt-4.1", false},
		{"openai", "omni-moderation-latest", false},
		{"generic", "o1x", false},
		{"openrouter", "openai/gpt-5", false}, // OpenRouter translates parameters itself
	}
	for _, tt := range tests {
		f, _ := LookupFamily(tt.family)
		if got := ruleFor(f, tt.model) != nil; got != tt.rule {
			t.Errorf("ruleFor(%s, %q) = %v, want %v", tt.family, tt.model, got, tt.rule)
		}
	}
}
