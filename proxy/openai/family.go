package openai

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Family is a kind of OpenAI-compatible server. Everything that differs
// between them, and is known, is in the families table below; the
// converter asks the family and holds no provider names of its own.
type Family struct {
	// Name is the value of a provider's `family:` key.
	Name string
	// Title names the servers of the family, for `ccbalancer check`.
	Title string
	// hosts are the base_url hosts that select the family: a host equal to
	// one, or ending in "." and one.
	hosts []string
	// port selects the family for a loopback base_url on that port (the
	// server's default), when no host matches.
	port string
	// reasoning is how a thinking setting is sent (when the provider has
	// `reasoning: true`).
	reasoning reasoningStyle
	// toolNames is the rule function names must follow.
	toolNames nameRule
	// toolIDs is the rule tool-call ids sent back must follow, if any.
	toolIDs *idRule
	// state says which opaque state the family's answers carry and its
	// requests take back (see state.go).
	state stateKinds
	// sentinelSignature is sent as the thought signature of a tool call
	// that has none (a call made by another model), where the family
	// requires one.
	sentinelSignature string
	// paramsByModel: the model-family parameter rules (max_completion_tokens,
	// no sampling settings for reasoning models) apply; false where the
	// server translates parameters itself.
	paramsByModel bool
	// versionless: the server serves Chat Completions under a base_url
	// without a version segment, so check does not warn about one.
	versionless bool
	// noUser, noParallelToolCalls: the server refuses these fields
	// ("Unknown name").
	noUser, noParallelToolCalls bool
	// schemaSubset: the server takes only an OpenAPI subset of JSON Schema
	// in function parameters (appendSchemaSubset).
	schemaSubset bool
}

// reasoningStyle is the request parameter a thinking setting becomes.
type reasoningStyle int

const (
	// reasoningEffort: "reasoning_effort": "low"|"medium"|"high" (OpenAI,
	// and most servers that copy its API).
	reasoningEffort reasoningStyle = iota
	// reasoningObject: "reasoning": {"effort": ...} (OpenRouter).
	reasoningObject
	// reasoningThinkingType: "thinking": {"type": "enabled"} (Zhipu GLM).
	reasoningThinkingType
	// reasoningEnableThinking: "enable_thinking": true (Qwen on DashScope).
	reasoningEnableThinking
	// reasoningNone: the server takes no reasoning parameter (the model
	// decides, as DeepSeek's and Kimi's do); the setting is dropped.
	reasoningNone
)

// nameRule is what a function name must look like: at most max bytes of
// [A-Za-z0-9_-] (and extra, if any), starting with a letter or an
// underscore when letterFirst.
type nameRule struct {
	max         int
	letterFirst bool
	extra       string
}

// idRule is what a tool-call id must look like: exactly length characters
// of [A-Za-z0-9] (Mistral).
type idRule struct {
	length int
}

// stateKinds says which opaque provider state a family carries.
type stateKinds struct {
	thoughtSignatures bool // tool_calls[].extra_content.google.thought_signature (Gemini)
	reasoningDetails  bool // message.reasoning_details (OpenRouter)
}

// openaiNames is OpenAI's function-name rule, which most servers copy:
// ^[a-zA-Z0-9_-]{1,64}$.
var openaiNames = nameRule{max: 64}

// families is the table of provider families, generic first. Sources: each
// provider's API reference for its Chat Completions endpoint.
var families = []Family{
	{Name: "generic", Title: "any OpenAI-compatible server", toolNames: openaiNames, paramsByModel: true},
	{Name: "openai", Title: "OpenAI, Azure OpenAI", hosts: []string{"api.openai.com", "openai.azure.com", "cognitiveservices.azure.com"},
		toolNames: openaiNames, paramsByModel: true},
	{Name: "openrouter", Title: "OpenRouter", hosts: []string{"openrouter.ai"},
		reasoning: reasoningObject, toolNames: openaiNames, state: stateKinds{reasoningDetails: true}},
	{Name: "deepseek", Title: "DeepSeek", hosts: []string{"api.deepseek.com"},
		reasoning: reasoningNone, toolNames: openaiNames, paramsByModel: true, versionless: true},
	{Name: "kimi", Title: "Moonshot AI (Kimi)", hosts: []string{"api.moonshot.ai", "api.moonshot.cn"},
		reasoning: reasoningNone, toolNames: openaiNames, paramsByModel: true},
	{Name: "glm", Title: "Zhipu AI / Z.ai (GLM)", hosts: []string{"open.bigmodel.cn", "api.z.ai"},
		reasoning: reasoningThinkingType, toolNames: openaiNames, paramsByModel: true},
	{Name: "qwen", Title: "Alibaba Cloud Model Studio (Qwen, DashScope)", hosts: []string{"dashscope.aliyuncs.com", "dashscope-intl.aliyuncs.com"},
		reasoning: reasoningEnableThinking, toolNames: openaiNames, paramsByModel: true},
	{Name: "gemini", Title: "Google Gemini API (OpenAI compatibility)", hosts: []string{"generativelanguage.googleapis.com"},
		toolNames: nameRule{max: 64, letterFirst: true}, state: stateKinds{thoughtSignatures: true},
		sentinelSignature: "skip_thought_signature_validator", paramsByModel: true,
		noUser: true, noParallelToolCalls: true, schemaSubset: true},
	{Name: "mistral", Title: "Mistral AI", hosts: []string{"api.mistral.ai"},
		toolNames: openaiNames, toolIDs: &idRule{length: 9}, paramsByModel: true},
	{Name: "groq", Title: "Groq", hosts: []string{"api.groq.com"}, toolNames: openaiNames, paramsByModel: true},
	{Name: "xai", Title: "xAI (Grok)", hosts: []string{"api.x.ai"}, toolNames: openaiNames, paramsByModel: true},
	{Name: "ollama", Title: "Ollama", port: "11434", toolNames: openaiNames, paramsByModel: true},
	{Name: "vllm", Title: "vLLM", toolNames: openaiNames, paramsByModel: true},
	{Name: "llamacpp", Title: "llama.cpp server", toolNames: openaiNames, paramsByModel: true},
}

// Generic is the family of a server that matches no other.
var Generic = &families[0]

// FamilyNames lists the values a provider's `family:` key may take.
func FamilyNames() []string {
	names := make([]string, len(families))
	for i := range families {
		names[i] = families[i].Name
	}
	return names
}

// LookupFamily returns the family named name.
func LookupFamily(name string) (*Family, error) {
	for i := range families {
		if families[i].Name == name {
			return &families[i], nil
		}
	}
	return nil, fmt.Errorf("family %q is not one of %s", name, strings.Join(FamilyNames(), ", "))
}

// ResolveFamily returns a provider's family: the one its `family:` key
// names (explicit, "" when unset), else the one its base_url's host
// selects, else Generic. how says which: "set", "detected from the host
// H", or "no known host".
func ResolveFamily(explicit, baseURL string) (f *Family, how string, err error) {
	if explicit != "" {
		f, err := LookupFamily(explicit)
		if err != nil {
			return nil, "", err
		}
		return f, "set by family:", nil
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return Generic, "base_url is not a URL", nil
	}
	host := strings.ToLower(u.Hostname())
	for i := range families {
		for _, h := range families[i].hosts {
			if host == h || strings.HasSuffix(host, "."+h) {
				return &families[i], "detected from the host " + host, nil
			}
		}
	}
	if isLoopback(host) {
		for i := range families {
			if families[i].port != "" && families[i].port == u.Port() {
				return &families[i], "detected from the port " + u.Port(), nil
			}
		}
	}
	return Generic, "no known host", nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// versionSegment matches a path segment that names an API version: v1,
// v4, v1beta, v2alpha3.
var versionSegment = regexp.MustCompile(`^v[0-9]+((alpha|beta)[0-9]*)?$`)

// chatCompletionsPath ends a base_url that is the full endpoint already.
const chatCompletionsPath = "/chat/completions"

// ChatCompletionsURL returns the URL requests go to for a base_url: the
// base itself when it already ends in /chat/completions, else the base
// with /chat/completions appended.
func ChatCompletionsURL(baseURL string) string {
	b := strings.TrimRight(baseURL, "/")
	if strings.HasSuffix(b, chatCompletionsPath) {
		return b
	}
	return b + chatCompletionsPath
}

// ModelsURL returns the model list's URL for a base_url: the base (less a
// trailing /chat/completions) with /models appended.
func ModelsURL(baseURL string) string {
	b := strings.TrimRight(baseURL, "/")
	return strings.TrimSuffix(b, chatCompletionsPath) + "/models"
}

// EndpointWarning returns what is doubtful about a provider's base_url, or
// "". Chat Completions lives under a version segment (…/v1, …/api/paas/v4,
// …/v1beta/openai) or is given as the full …/chat/completions URL; a base
// with neither (https://host) is most often missing its /v1, and every
// request then fails with "model not found" or a 404. A family known to
// serve without one (DeepSeek) is not warned about.
func EndpointWarning(baseURL string, f *Family) string {
	u, err := url.Parse(baseURL)
	if err != nil {
		return ""
	}
	path := strings.TrimRight(u.Path, "/")
	if strings.HasSuffix(path, chatCompletionsPath) || f.versionless {
		return ""
	}
	if slices.ContainsFunc(strings.Split(path, "/"), versionSegment.MatchString) {
		return ""
	}
	return fmt.Sprintf("base_url %q has no version segment such as /v1: requests go to %s, where most servers have no Chat Completions endpoint (use …/v1, or the full …/chat/completions URL)",
		baseURL, ChatCompletionsURL(baseURL))
}

// modelRule is what a family of models needs in a request, whatever the
// server.
type modelRule struct {
	// match reports a model of the family, by its name after any "vendor/".
	match func(name string) bool
	// maxCompletionTokens: the output limit is max_completion_tokens;
	// max_tokens is refused.
	maxCompletionTokens bool
	// defaultSampling: temperature and top_p other than 1 are refused.
	defaultSampling bool
	// why names the source of the rule, for warnings.
	why string
}

// modelRules is the table of model-family parameter rules.
var modelRules = []modelRule{
	{
		// OpenAI's reasoning models: "max_tokens is not supported with this
		// model. Use max_completion_tokens instead", and "Only the default
		// (1) value is supported" for temperature and top_p.
		match: func(name string) bool {
			return strings.HasPrefix(name, "gpt-5") || isOSeries(name)
		},
		maxCompletionTokens: true,
		defaultSampling:     true,
		why:                 "OpenAI reasoning models",
	},
}

// isOSeries reports o1, o3, o4 and their variants (o1-mini, o3-pro,
// o4-mini-2025-04-16), not other names starting with "o".
func isOSeries(name string) bool {
	if len(name) < 2 || name[0] != 'o' || name[1] < '1' || name[1] > '9' {
		return false
	}
	return len(name) == 2 || name[2] == '-'
}

// ruleFor returns the model rule for model on family f, nil if none.
func ruleFor(f *Family, model string) *modelRule {
	if !f.paramsByModel {
		return nil
	}
	name := strings.ToLower(model)
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	for i := range modelRules {
		if modelRules[i].match(name) {
			return &modelRules[i]
		}
	}
	return nil
}
