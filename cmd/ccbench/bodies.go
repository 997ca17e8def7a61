package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
)

// The request bodies are shaped like the ones Claude Code sends (key order, three system
// blocks with cache_control, 24 tools with JSON Schema 2020-12, tool history, a
// role:"system" message inside messages) so that the proxy parses and copies what it
// would in real use. The text is generated filler, not anyone's prompt.

type cacheControl struct {
	Type string `json:"type"`
}

type block struct {
	Type         string          `json:"type"`
	Text         string          `json:"text,omitempty"`
	ID           string          `json:"id,omitempty"`
	Name         string          `json:"name,omitempty"`
	Input        json.RawMessage `json:"input,omitempty"`
	ToolUseID    string          `json:"tool_use_id,omitempty"`
	Content      string          `json:"content,omitempty"`
	CacheControl *cacheControl   `json:"cache_control,omitempty"`
}

type message struct {
	Role    string  `json:"role"`
	Content []block `json:"content"`
}

type tool struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	InputSchema map[string]any `json:"input_schema"`
}

// request keeps Claude Code's key order: model, messages, system, tools, metadata,
// max_tokens, thinking, context_management, output_config, stream (omitted when false).
type request struct {
	Model             string          `json:"model"`
	Messages          []message       `json:"messages"`
	System            []block         `json:"system"`
	Tools             []tool          `json:"tools"`
	Metadata          map[string]any  `json:"metadata"`
	MaxTokens         int             `json:"max_tokens"`
	Thinking          json.RawMessage `json:"thinking"`
	ContextManagement json.RawMessage `json:"context_management"`
	OutputConfig      json.RawMessage `json:"output_config"`
	Stream            bool            `json:"stream,omitempty"`
}

// bodySize selects one of the two request shapes.
type bodySize int

const (
	bodySmall bodySize = iota // ~2 KB: a short turn, one small tool
	bodyLarge                 // ~80–100 KB: 24 tools and several tool round trips
)

var vocabulary = strings.Fields(`the a file path read write edit search pattern result value
	line number output input command shell process directory change test build module package
	function return error check list item option default current working project source target
	when with without before after each every only should must may never always returns given`)

// filler returns deterministic pseudo-text of about n bytes.
func filler(r *rand.Rand, n int) string {
	var b strings.Builder
	b.Grow(n + 16)
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(vocabulary[r.IntN(len(vocabulary))])
	}
	return b.String()
}

func ephemeral() *cacheControl { return &cacheControl{Type: "ephemeral"} }

// schemaFor builds a JSON Schema 2020-12 object with nProps described properties.
func schemaFor(r *rand.Rand, nProps, descLen int) map[string]any {
	props := map[string]any{}
	required := []string{}
	for i := range nProps {
		name := fmt.Sprintf("%s_%d", vocabulary[r.IntN(len(vocabulary))], i)
		p := map[string]any{"type": "string", "description": filler(r, descLen)}
		switch i % 4 {
		case 1:
			p = map[string]any{"type": "number", "description": filler(r, descLen)}
		case 2:
			p = map[string]any{"type": "boolean", "description": filler(r, descLen)}
		case 3:
			p = map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": filler(r, descLen)}
		}
		props[name] = p
		if i%2 == 0 {
			required = append(required, name)
		}
	}
	return map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"type":                 "object",
		"properties":           props,
		"required":             required,
		"additionalProperties": false,
	}
}

// buildBody returns a request body of the given size; stream adds "stream":true.
func buildBody(size bodySize, stream bool, model string) []byte {
	r := rand.New(rand.NewPCG(42, uint64(size)))
	req := request{
		Model:             model,
		Metadata:          map[string]any{"user_id": `{"device_id":"bench-device","account_uuid":"","session_id":"00000000-0000-4000-8000-000000000000"}`},
		MaxTokens:         64000,
		Thinking:          json.RawMessage(`{"type":"adaptive"}`),
		ContextManagement: json.RawMessage(`{"edits":[{"type":"clear_thinking_20251015","keep":"all"}]}`),
		OutputConfig:      json.RawMessage(`{"effort":"high"}`),
		Stream:            stream,
	}
	sysLen, toolCount, propCount, descLen, rounds, resultLen := 120, 1, 2, 40, 0, 0
	if size == bodyLarge {
		sysLen, toolCount, propCount, descLen, rounds, resultLen = 3000, 24, 8, 220, 6, 1800
	}
	req.System = []block{
		{Type: "text", Text: "x-bench-billing-header: bench"},
		{Type: "text", Text: filler(r, sysLen), CacheControl: ephemeral()},
		{Type: "text", Text: filler(r, sysLen*2), CacheControl: ephemeral()},
	}
	req.Tools = make([]tool, toolCount)
	for i := range req.Tools {
		req.Tools[i] = tool{
			Name:        fmt.Sprintf("Tool%02d", i),
			Description: filler(r, descLen*3),
			InputSchema: schemaFor(r, propCount, descLen),
		}
	}
	req.Messages = []message{
		{Role: "user", Content: []block{
			{Type: "text", Text: filler(r, 200)},
			{Type: "text", Text: filler(r, 300), CacheControl: ephemeral()},
		}},
		{Role: "system", Content: []block{{Type: "text", Text: filler(r, 160)}}},
	}
	for i := range rounds {
		id := fmt.Sprintf("toolu_bench%04d", i)
		input, _ := json.Marshal(map[string]string{"path_0": "/tmp/project/" + vocabulary[i%len(vocabulary)] + ".go"})
		req.Messages = append(req.Messages,
			message{Role: "assistant", Content: []block{
				{Type: "text", Text: filler(r, 120)},
				{Type: "tool_use", ID: id, Name: req.Tools[i%toolCount].Name, Input: input},
			}},
			message{Role: "user", Content: []block{
				{Type: "tool_result", ToolUseID: id, Content: filler(r, resultLen), CacheControl: ephemeral()},
			}},
		)
	}
	if rounds > 0 {
		req.Messages = append(req.Messages, message{Role: "user", Content: []block{{Type: "text", Text: filler(r, 150)}}})
	}
	b, err := json.Marshal(req)
	if err != nil {
		panic(fmt.Sprintf("encoding a bench body: %v", err)) // static shapes: cannot fail
	}
	return b
}

// clientHeaders are the headers Claude Code sends on every messages call.
func clientHeaders() http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json")
	h.Set("Accept-Encoding", "gzip, deflate, br, zstd")
	h.Set("Anthropic-Version", "2023-06-01")
	h.Set("Anthropic-Beta", "claude-code-20250219,context-1m-2025-08-07,interleaved-thinking-2025-05-14,context-management-2025-06-27,mid-conversation-system-2026-04-07,effort-2025-11-24")
	h.Set("Anthropic-Dangerous-Direct-Browser-Access", "true")
	h.Set("User-Agent", "claude-cli/2.1.197 (external, sdk-cli)")
	h.Set("X-App", "cli")
	h.Set("X-Api-Key", "bench-client-key")
	h.Set("X-Claude-Code-Session-Id", "00000000-0000-4000-8000-000000000000")
	h.Set("X-Stainless-Retry-Count", "0")
	h.Set("X-Stainless-Timeout", "600")
	h.Set("X-Stainless-Lang", "js")
	return h
}
