package openai

import (
	"bytes"
	"encoding/json"
	"strings"
)

// chatChunk is one chat.completion.chunk of a stream. The non-streaming
// chat.completion decodes into the same struct: its choices carry Message
// where a chunk's carry Delta.
type chatChunk struct {
	ID      string          `json:"id"`
	Choices []chunkChoice   `json:"choices"`
	Usage   *chatUsage      `json:"usage"`
	Error   json.RawMessage `json:"error"`
}

type chunkChoice struct {
	Index        int        `json:"index"`
	Delta        chunkDelta `json:"delta"`
	Message      chunkDelta `json:"message"`
	FinishReason *string    `json:"finish_reason"`
}

// chunkDelta is the incremental content of a choice. Reasoning arrives as
// reasoning_content (DeepSeek, vLLM, llama.cpp) or reasoning (OpenRouter,
// Ollama); tool calls as tool_calls or, from old servers, function_call.
type chunkDelta struct {
	Content          chunkContent    `json:"content"`
	ReasoningContent *string         `json:"reasoning_content"`
	Reasoning        json.RawMessage `json:"reasoning"`
	Refusal          *string         `json:"refusal"`
	ToolCalls        []chunkToolCall `json:"tool_calls"`
	FunctionCall     *chunkFunction  `json:"function_call"`
}

type chunkToolCall struct {
	Index    *int          `json:"index"`
	ID       string        `json:"id"`
	Function chunkFunction `json:"function"`
}

type chunkFunction struct {
	Name string `json:"name"`
	// Arguments is a string on the wire; a few servers send the object
	// itself, which is kept as its JSON text.
	Arguments json.RawMessage `json:"arguments"`
}

// arguments returns the arguments fragment as text.
func (f *chunkFunction) arguments() string {
	a := bytes.TrimSpace(f.Arguments)
	if len(a) == 0 || bytes.Equal(a, []byte("null")) {
		return ""
	}
	if a[0] == '"' {
		var s string
		if json.Unmarshal(a, &s) == nil {
			return s
		}
	}
	return string(a)
}

// reasoning returns the reasoning text of a delta, whichever field carries
// it. A provider that sends both carries the same text twice.
func (d *chunkDelta) reasoning() string {
	if d.ReasoningContent != nil && *d.ReasoningContent != "" {
		return *d.ReasoningContent
	}
	if len(d.Reasoning) > 0 && d.Reasoning[0] == '"' {
		var s string
		if json.Unmarshal(d.Reasoning, &s) == nil {
			return s
		}
	}
	return ""
}

type chatUsage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	PromptTokensDetails *struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	// DeepSeek reports its cache hits here.
	PromptCacheHitTokens int `json:"prompt_cache_hit_tokens"`
}

// cached returns the prompt tokens read from the provider's cache.
func (u *chatUsage) cached() int {
	if u.PromptTokensDetails != nil && u.PromptTokensDetails.CachedTokens > 0 {
		return u.PromptTokensDetails.CachedTokens
	}
	return u.PromptCacheHitTokens
}

// chunkContent is a delta's or message's content: a string, or (Mistral's
// reasoning models) an array of parts, text and thinking.
type chunkContent struct {
	Text     string
	Thinking string
}

func (c *chunkContent) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case len(data) == 0 || bytes.Equal(data, []byte("null")):
		return nil
	case data[0] == '"':
		return json.Unmarshal(data, &c.Text)
	}
	var parts []struct {
		Type     string          `json:"type"`
		Text     string          `json:"text"`
		Thinking json.RawMessage `json:"thinking"`
	}
	if err := json.Unmarshal(data, &parts); err != nil {
		return err
	}
	for _, p := range parts {
		switch p.Type {
		case "text":
			c.Text += p.Text
		case "thinking":
			c.Thinking += partsText(p.Thinking)
		}
	}
	return nil
}

// partsText returns the text of a string, or of an array of text parts.
func partsText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	if raw[0] == '"' {
		var s string
		_ = json.Unmarshal(raw, &s) // a bad string reads as empty
		return s
	}
	var parts []struct {
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return ""
	}
	var sb strings.Builder
	for _, p := range parts {
		sb.WriteString(p.Text)
	}
	return sb.String()
}
