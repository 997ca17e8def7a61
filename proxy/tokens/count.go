package tokens

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pkoukk/tiktoken-go"
)

// Fixed parts of the estimate. Each stands for text the API adds around what
// the client sent and that the client cannot see.
const (
	// MessageOverhead is added per message (and once for the system
	// prompt): the turn markers and the role around each message.
	MessageOverhead = 4
	// ToolOverhead is added per tool definition for the framing around its
	// name, description and schema.
	ToolOverhead = 8
	// ToolsPreamble is added once when the request defines tools: Anthropic
	// documents a tool-use system prompt of about 346 tokens for current
	// models with tool_choice auto or none.
	ToolsPreamble = 346
	// ImageTokens is the estimate for one image or binary document. An
	// image costs about width*height/750 tokens and images are scaled down
	// to at most about 1.15 megapixels, so 1600 is the cost of a full-size
	// image: the estimate errs on the high side.
	ImageTokens = 1600
)

// ErrInvalidRequest is wrapped by every error that is the request's fault
// (malformed JSON, missing or mistyped fields), so the caller can answer 400.
var ErrInvalidRequest = errors.New("invalid count_tokens request")

// request is the part of a count_tokens body that is counted. model,
// tool_choice, thinking and the like cost nothing by themselves.
type request struct {
	System   json.RawMessage   `json:"system"`
	Messages *[]message        `json:"messages"`
	Tools    []json.RawMessage `json:"tools"`
}

type message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// block is any content block; only the fields of its type are set.
type block struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`     // text
	Thinking string          `json:"thinking"` // thinking
	Name     string          `json:"name"`     // tool_use
	Input    json.RawMessage `json:"input"`    // tool_use
	Content  json.RawMessage `json:"content"`  // tool_result: string or blocks
	Source   *source         `json:"source"`   // image, document
	Title    string          `json:"title"`    // document
	Context  string          `json:"context"`  // document
}

type source struct {
	Type string `json:"type"` // base64, url, text, content, file
	Data string `json:"data"` // the text of a "text" document source
}

type tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
}

// Count is CountContext without a context: it runs to the end.
func Count(body []byte) (int, error) { return CountContext(context.Background(), body) }

// CountContext estimates the input tokens of an Anthropic count_tokens
// request body (the same body as a Messages request, without max_tokens).
// It counts the system prompt, every message's content blocks and the tool
// definitions, plus the fixed overheads above. Its time and memory are
// linear in the body's length (segment.go says how, and how far the count
// may differ from tiktoken's for text with very long runs of one kind of
// character); it stops when ctx ends and returns ctx's error. An error
// wrapping ErrInvalidRequest means the body is malformed; any other error
// means the encoding failed to load or ctx ended.
func CountContext(ctx context.Context, body []byte) (int, error) {
	var req request
	if err := json.Unmarshal(body, &req); err != nil {
		return 0, fmt.Errorf("%w: decoding body: %w", ErrInvalidRequest, err)
	}
	if req.Messages == nil {
		return 0, fmt.Errorf("%w: messages: field required", ErrInvalidRequest)
	}
	enc, err := encoding()
	if err != nil {
		return 0, err
	}
	c := counter{enc: enc, ctx: ctx}
	if len(req.System) > 0 && !isNull(req.System) {
		n, err := c.content(req.System)
		if err != nil {
			return 0, fmt.Errorf("%w: system: %w", ErrInvalidRequest, err)
		}
		c.n += n + MessageOverhead
	}
	for i, m := range *req.Messages {
		n, err := c.content(m.Content)
		if err != nil {
			return 0, fmt.Errorf("%w: messages.%d.content: %w", ErrInvalidRequest, i, err)
		}
		c.n += n + MessageOverhead + c.text(m.Role)
	}
	if len(req.Tools) > 0 {
		c.n += ToolsPreamble
	}
	for i, raw := range req.Tools {
		n, err := c.tool(raw)
		if err != nil {
			return 0, fmt.Errorf("%w: tools.%d: %w", ErrInvalidRequest, i, err)
		}
		c.n += n + ToolOverhead
	}
	if c.err != nil {
		return 0, c.err
	}
	return c.n, nil
}

// counter carries the encoding, the running total, and the context that
// stops the count.
type counter struct {
	enc *tiktoken.Tiktoken
	ctx context.Context
	err error // ctx's error once it ended; every count is 0 from then on
	n   int
}

// text is the number of tokens in s, counted segment by segment
// (segment.go). Special-token markers such as "<|endoftext|>" in user text
// are counted as ordinary text, never interpreted (and never a panic, which
// tiktoken's Encode would raise).
func (c *counter) text(s string) int {
	n := 0
	segments(s, func(seg string) bool {
		if c.err == nil {
			c.err = c.ctx.Err()
		}
		if c.err != nil {
			return false
		}
		n += len(c.enc.EncodeOrdinary(seg))
		return true
	})
	return n
}

// content counts a string or an array of content blocks.
func (c *counter) content(raw json.RawMessage) (int, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || isNull(raw):
		return 0, nil
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
		return c.text(s), nil
	case raw[0] == '[':
		var blocks []json.RawMessage
		if err := json.Unmarshal(raw, &blocks); err != nil {
			return 0, err
		}
		total := 0
		for i, b := range blocks {
			n, err := c.block(b)
			if err != nil {
				return 0, fmt.Errorf("%d: %w", i, err)
			}
			total += n
		}
		return total, nil
	default:
		return 0, errors.New("must be a string or an array of content blocks")
	}
}

// block counts one content block by its type. A block of a type this
// package does not know (server tool results, citations, future types) is
// counted as its JSON text: an overestimate beats ignoring it.
func (c *counter) block(raw json.RawMessage) (int, error) {
	var b block
	if err := json.Unmarshal(raw, &b); err != nil {
		return 0, err
	}
	switch b.Type {
	case "text":
		return c.text(b.Text), nil
	case "thinking":
		return c.text(b.Thinking), nil
	case "redacted_thinking":
		// Encrypted and opaque: its size says nothing about its tokens, and
		// the API drops thinking from earlier turns anyway.
		return 0, nil
	case "tool_use", "server_tool_use":
		input, err := compactJSON(b.Input)
		if err != nil {
			return 0, fmt.Errorf("input: %w", err)
		}
		return c.text(b.Name) + c.text(input), nil
	case "tool_result":
		n, err := c.content(b.Content)
		if err != nil {
			return 0, fmt.Errorf("content: %w", err)
		}
		return n, nil
	case "image":
		return ImageTokens, nil
	case "document":
		n := c.text(b.Title) + c.text(b.Context)
		if b.Source != nil && b.Source.Type == "text" {
			return n + c.text(b.Source.Data), nil
		}
		return n + ImageTokens, nil
	case "":
		return 0, errors.New("content block without a type")
	default:
		s, err := compactJSON(raw)
		if err != nil {
			return 0, err
		}
		return c.text(s), nil
	}
}

// tool counts a tool definition: name, description and input schema. A
// server tool (web search and the like) has no schema; its whole definition
// is counted instead.
func (c *counter) tool(raw json.RawMessage) (int, error) {
	var t tool
	if err := json.Unmarshal(raw, &t); err != nil {
		return 0, err
	}
	if len(t.InputSchema) == 0 {
		s, err := compactJSON(raw)
		if err != nil {
			return 0, err
		}
		return c.text(s), nil
	}
	schema, err := compactJSON(t.InputSchema)
	if err != nil {
		return 0, fmt.Errorf("input_schema: %w", err)
	}
	return c.text(t.Name) + c.text(t.Description) + c.text(schema), nil
}

// compactJSON returns raw without insignificant whitespace, so the count
// does not depend on how the client indented its JSON.
func compactJSON(raw json.RawMessage) (string, error) {
	if len(raw) == 0 {
		return "", nil
	}
	var buf bytes.Buffer
	buf.Grow(len(raw))
	if err := json.Compact(&buf, raw); err != nil {
		return "", err
	}
	return buf.String(), nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }
