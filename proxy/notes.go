package proxy

import (
	"fmt"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy/openai"
)

// ProviderNote is what `ccbalancer check` says about an OpenAI-compatible
// provider beyond its configuration: the family whose quirks apply, how it
// was found, where requests go, and what is doubtful about its base_url.
type ProviderNote struct {
	Provider string
	Family   string
	How      string // "set by family:", "detected from the host H", "no known host"
	URL      string // the Chat Completions endpoint
	// Warning is "file:line: providers[i].base_url: …", or "".
	Warning string
}

// OpenAINotes returns a note for each openai provider of cfg, in file order.
// The family of each was validated when cfg was loaded.
func OpenAINotes(cfg *config.Config) []ProviderNote {
	var notes []ProviderNote
	for i, p := range cfg.Providers {
		if p.Type != config.TypeOpenAI {
			continue
		}
		f, how, err := openai.ResolveFamily(p.Family, p.BaseURL)
		if err != nil {
			f, how = openai.Generic, err.Error()
		}
		n := ProviderNote{Provider: p.Name, Family: f.Name, How: how, URL: openai.ChatCompletionsURL(p.BaseURL)}
		if w := openai.EndpointWarning(p.BaseURL, f); w != "" {
			n.Warning = fmt.Sprintf("%s:%d: providers[%d].base_url: %s", cfg.Path, p.Line, i, w)
		}
		notes = append(notes, n)
	}
	return notes
}
