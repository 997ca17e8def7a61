package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Request is a Messages API request body. Only the fields a conversion needs
// are decoded; unknown fields (context_management, output_config details,
// service_tier, ...) are tolerated and ignored.
type Request struct {
	Model         string         `json:"model"`
	Messages      []MessageParam `json:"messages"`
	System        Content        `json:"system,omitempty"`
	Tools         []Tool         `json:"tools,omitempty"`
	ToolChoice    *ToolChoice    `json:"tool_choice,omitempty"`
	MaxTokens     int            `json:"max_tokens,omitempty"`
	Temperature   *float64       `json:"temperature,omitempty"`
	TopP          *float64       `json:"top_p,omitempty"`
	TopK          *int           `json:"top_k,omitempty"`
	StopSequences []string       `json:"stop_sequences,omitempty"`
	Metadata      *Metadata      `json:"metadata,omitempty"`
	Thinking      *Thinking      `json:"thinking,omitempty"`
	OutputConfig  *OutputConfig  `json:"output_config,omitempty"`
	Stream        bool           `json:"stream,omitempty"`
}

// MessageParam is one turn of the conversation. Role is "user", "assistant",
// or "system" (Claude Code places system messages inside messages).
type MessageParam struct {
	Role    string  `json:"role"`
	Content Content `json:"content"`
}

// Content is a list of content blocks. On the wire it is either a string,
// decoded as a single text block, or an array of blocks.
type Content []ContentBlockParam

// UnmarshalJSON accepts a string or an array of blocks.
func (c *Content) UnmarshalJSON(data []byte) error {
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*c = Content{{Type: BlockText, Text: s}}
		return nil
	}
	if bytes.Equal(data, []byte("null")) {
		*c = nil
		return nil
	}
	var blocks []ContentBlockParam
	if err := json.Unmarshal(data, &blocks); err != nil {
		return err
	}
	*c = blocks
	return nil
}

// Block types, as they appear in the "type" field of a content block.
const (
	BlockText             = "text"
	BlockImage            = "image"
	BlockDocument         = "document"
	BlockToolUse          = "tool_use"
	BlockToolResult       = "tool_result"
	BlockThinking         = "thinking"
	BlockRedactedThinking = "redacted_thinking"
	BlockSearchResult     = "search_result"
)

// ContentBlockParam is a content block in a request: one struct for every
// block type, with the fields each type uses. cache_control and citations are
// tolerated and not kept.
type ContentBlockParam struct {
	Type string `json:"type"`
	// text, search_result (its text blocks are in Content)
	Text string `json:"text,omitempty"`
	// image, document
	Source *Source `json:"source,omitempty"`
	// document, search_result
	Title   string `json:"title,omitempty"`
	Context string `json:"context,omitempty"`
	// tool_use, server_tool_use
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`
	// tool_result
	ToolUseID string  `json:"tool_use_id,omitempty"`
	Content   Content `json:"content,omitempty"`
	IsError   bool    `json:"is_error,omitempty"`
	// thinking, redacted_thinking
	Thinking  string `json:"thinking,omitempty"`
	Signature string `json:"signature,omitempty"`
	Data      string `json:"data,omitempty"`
}

// Source is where an image or document comes from. Type is "base64" (Data
// with MediaType), "url" (URL), "text" (Data as plain text) or "content"
// (Content, for documents).
type Source struct {
	Type      string  `json:"type"`
	MediaType string  `json:"media_type,omitempty"`
	Data      string  `json:"data,omitempty"`
	URL       string  `json:"url,omitempty"`
	Content   Content `json:"content,omitempty"`
}

// Tool is a tool the model may call. Client tools carry an InputSchema;
// server tools (web search, code execution, ...) carry a versioned Type and
// no schema.
type Tool struct {
	Type        string          `json:"type,omitempty"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema,omitempty"`
}

// ToolChoice says whether and which tool the model must call. Type is
// "auto", "any", "tool" (with Name) or "none".
type ToolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

// Metadata is the request's metadata. Claude Code sends UserID as a string
// holding a JSON object.
type Metadata struct {
	UserID string `json:"user_id,omitempty"`
}

// Thinking configures extended thinking. Type is "enabled" (with
// BudgetTokens), "adaptive" or "disabled".
type Thinking struct {
	Type         string `json:"type"`
	BudgetTokens int    `json:"budget_tokens,omitempty"`
}

// OutputConfig carries the effort level that goes with adaptive thinking.
type OutputConfig struct {
	Effort string `json:"effort,omitempty"`
}

// Stop reasons a Message may end with.
const (
	StopEndTurn      = "end_turn"
	StopMaxTokens    = "max_tokens"
	StopStopSequence = "stop_sequence"
	StopToolUse      = "tool_use"
	StopPauseTurn    = "pause_turn"
	StopRefusal      = "refusal"
	// StopContextWindowExceeded: the answer stopped because the model's
	// context window is full.
	StopContextWindowExceeded = "model_context_window_exceeded"
)

// Message is a Messages API response. Its JSON form has Anthropic's field
// order: id, type, role, model, content, stop_reason, stop_sequence, usage.
type Message struct {
	ID           string
	Model        string
	Content      []ContentBlock
	StopReason   string // "" encodes as null (as in message_start)
	StopSequence string // "" encodes as null
	Usage        Usage
}

// MarshalJSON encodes m as Anthropic does.
func (m Message) MarshalJSON() ([]byte, error) {
	return m.AppendJSON(nil), nil
}

// AppendJSON appends the JSON encoding of m to dst.
func (m Message) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, m.ID)
	dst = append(dst, `,"type":"message","role":"assistant","model":`...)
	dst = appendString(dst, m.Model)
	dst = append(dst, `,"content":[`...)
	for i, b := range m.Content {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = b.AppendJSON(dst)
	}
	dst = append(dst, `],"stop_reason":`...)
	dst = appendNullableString(dst, m.StopReason)
	dst = append(dst, `,"stop_sequence":`...)
	dst = appendNullableString(dst, m.StopSequence)
	dst = append(dst, `,"usage":`...)
	dst = m.Usage.AppendJSON(dst)
	return append(dst, '}')
}

// ContentBlock is a content block of a response: text, tool_use, thinking or
// redacted_thinking.
type ContentBlock struct {
	Type string
	// text
	Text string
	// tool_use; Input is a JSON object, "{}" when empty.
	ID    string
	Name  string
	Input json.RawMessage
	// thinking, redacted_thinking
	Thinking  string
	Signature string
	Data      string
}

// MarshalJSON encodes b with exactly the fields Anthropic sends for its type.
func (b ContentBlock) MarshalJSON() ([]byte, error) {
	if !knownResponseBlock(b.Type) {
		return nil, fmt.Errorf("encoding content block: unknown type %q", b.Type)
	}
	return b.AppendJSON(nil), nil
}

func knownResponseBlock(t string) bool {
	switch t {
	case BlockText, BlockToolUse, BlockThinking, BlockRedactedThinking:
		return true
	}
	return false
}

// AppendJSON appends the JSON encoding of b to dst. A block of an unknown type
// is written as a text block, so the output stays well-formed.
func (b ContentBlock) AppendJSON(dst []byte) []byte {
	switch b.Type {
	case BlockToolUse:
		dst = append(dst, `{"type":"tool_use","id":`...)
		dst = appendString(dst, b.ID)
		dst = append(dst, `,"name":`...)
		dst = appendString(dst, b.Name)
		dst = append(dst, `,"input":`...)
		switch {
		case len(b.Input) == 0:
			dst = append(dst, "{}"...)
		case bytes.ContainsAny(b.Input, "\r\n"):
			// A raw line end would split an SSE data line.
			var buf bytes.Buffer
			if err := json.Compact(&buf, b.Input); err != nil {
				dst = append(dst, "{}"...)
			} else {
				dst = append(dst, buf.Bytes()...)
			}
		default:
			dst = append(dst, b.Input...)
		}
		return append(dst, '}')
	case BlockThinking:
		dst = append(dst, `{"type":"thinking","thinking":`...)
		dst = appendString(dst, b.Thinking)
		dst = append(dst, `,"signature":`...)
		dst = appendString(dst, b.Signature)
		return append(dst, '}')
	case BlockRedactedThinking:
		dst = append(dst, `{"type":"redacted_thinking","data":`...)
		dst = appendString(dst, b.Data)
		return append(dst, '}')
	default:
		dst = append(dst, `{"type":"text","text":`...)
		dst = appendString(dst, b.Text)
		return append(dst, '}')
	}
}

// Usage counts tokens. InputTokens excludes the cached tokens, which are
// counted apart, as Anthropic counts them.
type Usage struct {
	InputTokens              int
	CacheCreationInputTokens int
	CacheReadInputTokens     int
	OutputTokens             int
}

// AppendJSON appends the JSON encoding of u to dst.
func (u Usage) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"input_tokens":`...)
	dst = strconv.AppendInt(dst, int64(u.InputTokens), 10)
	dst = append(dst, `,"cache_creation_input_tokens":`...)
	dst = strconv.AppendInt(dst, int64(u.CacheCreationInputTokens), 10)
	dst = append(dst, `,"cache_read_input_tokens":`...)
	dst = strconv.AppendInt(dst, int64(u.CacheReadInputTokens), 10)
	dst = append(dst, `,"output_tokens":`...)
	dst = strconv.AppendInt(dst, int64(u.OutputTokens), 10)
	return append(dst, '}')
}
