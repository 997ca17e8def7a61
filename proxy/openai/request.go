package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
)

// RequestOptions says how a request is converted for one provider.
type RequestOptions struct {
	// Model is the upstream model, already resolved by the route; "" keeps
	// the client's.
	Model string
	// MaxTokens, when > 0, caps the request's max_tokens.
	MaxTokens int
	// Reasoning says the provider accepts reasoning_effort; without it a
	// thinking setting is dropped.
	Reasoning bool
}

// ConvertRequest converts an Anthropic Messages request body into a Chat
// Completions request body. warnings lists what could not be carried over
// and was dropped or approximated; err names the offending field, as in
// `messages[3].content[1]: unknown block type "foo"`.
//
// Choices made where the two APIs differ:
//   - System blocks, and the text blocks of any one message, are joined with
//     a blank line into one string: plain strings are what every
//     OpenAI-compatible server accepts. A message holding an image is sent as
//     an array of parts.
//   - Tool results become "tool" messages right after the assistant turn, in
//     the order of the user turn (Chat Completions requires them first); the
//     turn's other blocks follow as one user message. A result with is_error
//     is prefixed "Error: ". Images inside a tool result, which tool messages
//     cannot carry, go into that following user message.
//   - Thinking becomes reasoning_effort (the Chat Completions parameter that
//     OpenAI, OpenRouter, vLLM and others accept): budget_tokens < 4096 is
//     "low", < 16384 "medium", otherwise "high"; adaptive thinking takes
//     output_config.effort. Thinking blocks in the history that this
//     package made from an upstream's reasoning (no signature) go back as
//     the assistant message's reasoning_content, which DeepSeek's thinking
//     mode requires after tool calls and other servers ignore; signed
//     (Anthropic) thinking is dropped.
//   - cache_control, citations, top_k and Anthropic-only fields are dropped.
func ConvertRequest(body []byte, opts RequestOptions) (out []byte, warnings []string, err error) {
	var req anthropic.Request
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, nil, fmt.Errorf("decoding request: %w", err)
	}
	c := requestConverter{}
	chat, err := c.convert(&req, opts)
	if err != nil {
		return nil, nil, err
	}
	out, err = marshal(chat)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding converted request: %w", err)
	}
	return out, c.warnings, nil
}

// marshal encodes v without HTML escaping.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

type requestConverter struct {
	warnings []string
}

func (c *requestConverter) warnf(format string, args ...any) {
	c.warnings = append(c.warnings, fmt.Sprintf(format, args...))
}

func (c *requestConverter) convert(req *anthropic.Request, opts RequestOptions) (*chatRequest, error) {
	chat := &chatRequest{Model: req.Model}
	if opts.Model != "" {
		chat.Model = opts.Model
	}
	if chat.Model == "" {
		return nil, errors.New("model: missing")
	}
	if len(req.Messages) == 0 {
		return nil, errors.New("messages: missing")
	}

	// One message per Anthropic turn is typical; tool turns add a few.
	chat.Messages = make([]chatMessage, 0, len(req.Messages)+1)
	if len(req.System) > 0 {
		text, err := c.textOnly(req.System, "system")
		if err != nil {
			return nil, err
		}
		chat.Messages = append(chat.Messages, chatMessage{Role: "system", Content: textContent(text)})
	}
	for i := range req.Messages {
		var err error
		chat.Messages, err = c.message(chat.Messages, &req.Messages[i], fmt.Sprintf("messages[%d]", i))
		if err != nil {
			return nil, err
		}
	}

	chat.Messages = keepToolResultsAdjacent(chat.Messages)

	if err := c.tools(chat, req); err != nil {
		return nil, err
	}

	chat.MaxTokens = req.MaxTokens
	if opts.MaxTokens > 0 && chat.MaxTokens > opts.MaxTokens {
		c.warnf("max_tokens %d clamped to %d", chat.MaxTokens, opts.MaxTokens)
		chat.MaxTokens = opts.MaxTokens
	}
	chat.Temperature = req.Temperature
	chat.TopP = req.TopP
	if req.TopK != nil {
		c.warnf("top_k dropped: Chat Completions has no such parameter")
	}
	chat.Stop = req.StopSequences
	if len(chat.Stop) > maxStop {
		c.warnf("stop_sequences: only the first %d of %d kept", maxStop, len(chat.Stop))
		chat.Stop = chat.Stop[:maxStop]
	}
	if req.Metadata != nil {
		chat.User = req.Metadata.UserID
	}
	c.reasoning(chat, req, opts)
	if req.Stream {
		chat.Stream = true
		chat.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	return chat, nil
}

// maxStop is the number of stop sequences OpenAI accepts.
const maxStop = 4

// keepToolResultsAdjacent moves system messages that sit between an
// assistant's tool calls and their results to after the results: Chat
// Completions requires the tool messages to follow the tool calls at once,
// and Claude Code may place a system message anywhere in the conversation.
func keepToolResultsAdjacent(msgs []chatMessage) []chatMessage {
	for i := 0; i < len(msgs); i++ {
		if msgs[i].Role != "assistant" || len(msgs[i].ToolCalls) == 0 {
			continue
		}
		sys := i + 1
		for sys < len(msgs) && msgs[sys].Role == "system" {
			sys++
		}
		tools := sys
		for tools < len(msgs) && msgs[tools].Role == "tool" {
			tools++
		}
		if sys == i+1 || tools == sys {
			continue // nothing in between, or no results follow
		}
		// Rotate [systems][tools] into [tools][systems].
		moved := append([]chatMessage(nil), msgs[i+1:sys]...)
		n := copy(msgs[i+1:], msgs[sys:tools])
		copy(msgs[i+1+n:], moved)
		i = tools - 1
	}
	return msgs
}

// reasoning maps the thinking setting to reasoning_effort.
func (c *requestConverter) reasoning(chat *chatRequest, req *anthropic.Request, opts RequestOptions) {
	t := req.Thinking
	if t == nil || t.Type == "disabled" || t.Type == "" {
		return
	}
	if !opts.Reasoning {
		c.warnf("thinking dropped: the provider takes no reasoning settings")
		return
	}
	switch t.Type {
	case "enabled":
		switch {
		case t.BudgetTokens < 4096:
			chat.ReasoningEffort = "low"
		case t.BudgetTokens < 16384:
			chat.ReasoningEffort = "medium"
		default:
			chat.ReasoningEffort = "high"
		}
	case "adaptive":
		effort := ""
		if req.OutputConfig != nil {
			effort = req.OutputConfig.Effort
		}
		switch effort {
		case "low", "medium", "high":
			chat.ReasoningEffort = effort
		case "max", "xhigh":
			chat.ReasoningEffort = "high"
		default:
			chat.ReasoningEffort = "medium"
		}
	default:
		c.warnf("thinking type %q dropped", t.Type)
	}
}

// tools converts the tool definitions and the tool choice.
func (c *requestConverter) tools(chat *chatRequest, req *anthropic.Request) error {
	for i, t := range req.Tools {
		if len(t.InputSchema) == 0 || bytes.Equal(t.InputSchema, []byte("null")) {
			c.warnf("tools[%d]: server tool %q (type %q) dropped: Chat Completions takes only functions", i, t.Name, t.Type)
			continue
		}
		if t.Name == "" {
			return fmt.Errorf("tools[%d].name: missing", i)
		}
		chat.Tools = append(chat.Tools, chatTool{
			Type:     "function",
			Function: chatFunction{Name: t.Name, Description: t.Description, Parameters: t.InputSchema},
		})
	}
	tc := req.ToolChoice
	if tc == nil {
		return nil
	}
	if len(chat.Tools) == 0 {
		if len(req.Tools) > 0 {
			c.warnf("tool_choice dropped: no function tools left")
		}
		return nil
	}
	switch tc.Type {
	case "auto":
		chat.ToolChoice = json.RawMessage(`"auto"`)
	case "any":
		chat.ToolChoice = json.RawMessage(`"required"`)
	case "none":
		chat.ToolChoice = json.RawMessage(`"none"`)
	case "tool":
		if tc.Name == "" {
			return errors.New("tool_choice.name: missing")
		}
		named, err := marshal(namedToolChoice{Type: "function", Function: namedFunction{Name: tc.Name}})
		if err != nil {
			return fmt.Errorf("tool_choice: %w", err)
		}
		chat.ToolChoice = named
	default:
		return fmt.Errorf("tool_choice.type: unknown value %q", tc.Type)
	}
	if tc.DisableParallelToolUse && tc.Type != "none" {
		no := false
		chat.ParallelToolCalls = &no
	}
	return nil
}

// message appends the Chat Completions messages of one Anthropic turn.
func (c *requestConverter) message(out []chatMessage, m *anthropic.MessageParam, path string) ([]chatMessage, error) {
	switch m.Role {
	case "system":
		text, err := c.textOnly(m.Content, path+".content")
		if err != nil {
			return nil, err
		}
		return append(out, chatMessage{Role: "system", Content: textContent(text)}), nil
	case "assistant":
		return c.assistant(out, m.Content, path+".content")
	case "user":
		return c.user(out, m.Content, path+".content")
	default:
		return nil, fmt.Errorf("%s.role: unknown role %q", path, m.Role)
	}
}

func (c *requestConverter) assistant(out []chatMessage, content anthropic.Content, path string) ([]chatMessage, error) {
	var texts, reasoning []string
	var calls []chatToolCall
	for j := range content {
		b := &content[j]
		bpath := path + "[" + strconv.Itoa(j) + "]"
		switch b.Type {
		case anthropic.BlockText:
			texts = append(texts, b.Text)
		case anthropic.BlockThinking:
			// Unsigned thinking came from an OpenAI-compatible upstream's
			// reasoning (this package leaves the signature empty); it goes
			// back as reasoning_content. Signed thinking is Anthropic's and
			// means nothing to another model.
			if b.Signature == "" && b.Thinking != "" {
				reasoning = append(reasoning, b.Thinking)
			}
		case anthropic.BlockToolUse:
			if b.ID == "" || b.Name == "" {
				return nil, fmt.Errorf("%s: tool_use without id or name", bpath)
			}
			args, err := compactArguments(b.Input)
			if err != nil {
				return nil, fmt.Errorf("%s.input: %w", bpath, err)
			}
			calls = append(calls, chatToolCall{
				ID: b.ID, Type: "function",
				Function: chatCallFunction{Name: b.Name, Arguments: args},
			})
		case anthropic.BlockRedactedThinking:
		case anthropic.BlockImage, anthropic.BlockDocument:
			c.warnf("%s: %s block in an assistant turn dropped", bpath, b.Type)
		default:
			if isServerToolBlock(b.Type) {
				c.warnf("%s: %s block dropped: server tools are not available here", bpath, b.Type)
				continue
			}
			return nil, fmt.Errorf("%s: unknown block type %q in an assistant turn", bpath, b.Type)
		}
	}
	msg := chatMessage{Role: "assistant", ToolCalls: calls, ReasoningContent: strings.Join(reasoning, "\n\n")}
	switch {
	case len(texts) > 0:
		msg.Content = textContent(strings.Join(texts, "\n\n"))
	case len(calls) > 0:
		msg.Content = chatContent{null: true}
	default:
		msg.Content = textContent("")
	}
	return append(out, msg), nil
}

func (c *requestConverter) user(out []chatMessage, content anthropic.Content, path string) ([]chatMessage, error) {
	var parts []chatPart
	hasImage := false
	toolMessages := 0
	for j := range content {
		b := &content[j]
		bpath := path + "[" + strconv.Itoa(j) + "]"
		switch b.Type {
		case anthropic.BlockText:
			parts = append(parts, chatPart{Type: "text", Text: b.Text})
		case anthropic.BlockImage:
			p, err := imagePart(b.Source, bpath)
			if err != nil {
				return nil, err
			}
			parts = append(parts, p)
			hasImage = true
		case anthropic.BlockDocument:
			parts = append(parts, chatPart{Type: "text", Text: c.documentText(b, bpath)})
		case anthropic.BlockSearchResult:
			text, err := c.searchResultText(b, bpath)
			if err != nil {
				return nil, err
			}
			parts = append(parts, chatPart{Type: "text", Text: text})
		case anthropic.BlockToolResult:
			msg, images, err := c.toolResult(b, bpath)
			if err != nil {
				return nil, err
			}
			out = append(out, msg)
			toolMessages++
			if len(images) > 0 {
				parts = append(parts, chatPart{Type: "text", Text: "Images returned by tool call " + b.ToolUseID + ":"})
				parts = append(parts, images...)
				hasImage = true
			}
		case anthropic.BlockThinking, anthropic.BlockRedactedThinking:
		default:
			if isServerToolBlock(b.Type) {
				c.warnf("%s: %s block dropped: server tools are not available here", bpath, b.Type)
				continue
			}
			return nil, fmt.Errorf("%s: unknown block type %q in a user turn", bpath, b.Type)
		}
	}
	// A turn that held only tool results needs no user message; an empty
	// turn is kept as an empty one so the conversation keeps its shape.
	if len(parts) == 0 && toolMessages > 0 {
		return out, nil
	}
	if hasImage {
		// An empty text part is refused by some servers; it says nothing.
		kept := parts[:0]
		for _, p := range parts {
			if p.Type != "text" || p.Text != "" {
				kept = append(kept, p)
			}
		}
		return append(out, chatMessage{Role: "user", Content: chatContent{parts: kept}}), nil
	}
	return append(out, chatMessage{Role: "user", Content: textContent(joinParts(parts))}), nil
}

// toolResult converts a tool_result block to a tool message, and returns the
// images it held, which a tool message cannot carry.
func (c *requestConverter) toolResult(b *anthropic.ContentBlockParam, path string) (chatMessage, []chatPart, error) {
	if b.ToolUseID == "" {
		return chatMessage{}, nil, fmt.Errorf("%s.tool_use_id: missing", path)
	}
	var texts []string
	var images []chatPart
	for k := range b.Content {
		inner := &b.Content[k]
		ipath := path + ".content[" + strconv.Itoa(k) + "]"
		switch inner.Type {
		case anthropic.BlockText:
			texts = append(texts, inner.Text)
		case anthropic.BlockImage:
			p, err := imagePart(inner.Source, ipath)
			if err != nil {
				return chatMessage{}, nil, err
			}
			images = append(images, p)
		case anthropic.BlockDocument:
			texts = append(texts, c.documentText(inner, ipath))
		case anthropic.BlockSearchResult:
			text, err := c.searchResultText(inner, ipath)
			if err != nil {
				return chatMessage{}, nil, err
			}
			texts = append(texts, text)
		default:
			return chatMessage{}, nil, fmt.Errorf("%s: unknown block type %q in a tool result", ipath, inner.Type)
		}
	}
	text := strings.Join(texts, "\n\n")
	if b.IsError {
		text = "Error: " + text
	}
	return chatMessage{Role: "tool", ToolCallID: b.ToolUseID, Content: textContent(text)}, images, nil
}

// textOnly joins content that may hold only text blocks (system prompts).
func (c *requestConverter) textOnly(content anthropic.Content, path string) (string, error) {
	if len(content) == 1 && content[0].Type == anthropic.BlockText {
		return content[0].Text, nil
	}
	texts := make([]string, 0, len(content))
	for j := range content {
		if content[j].Type != anthropic.BlockText {
			return "", fmt.Errorf("%s[%d]: block type %q where only text is allowed", path, j, content[j].Type)
		}
		texts = append(texts, content[j].Text)
	}
	return strings.Join(texts, "\n\n"), nil
}

// documentText renders a document block as text, with a warning: Chat
// Completions has no portable document input.
func (c *requestConverter) documentText(b *anthropic.ContentBlockParam, path string) string {
	var sb strings.Builder
	sb.WriteString("<document")
	if b.Title != "" {
		sb.WriteString(" title=")
		sb.WriteString(strconv.Quote(b.Title))
	}
	sb.WriteString(">\n")
	if b.Context != "" {
		sb.WriteString(b.Context)
		sb.WriteString("\n\n")
	}
	src := b.Source
	switch {
	case src == nil:
		c.warnf("%s: document without source sent as an empty document", path)
	case src.Type == "text":
		sb.WriteString(src.Data)
		c.warnf("%s: document sent as plain text", path)
	case src.Type == "content":
		for k := range src.Content {
			if src.Content[k].Type == anthropic.BlockText {
				if k > 0 {
					sb.WriteString("\n\n")
				}
				sb.WriteString(src.Content[k].Text)
			}
		}
		c.warnf("%s: document sent as plain text", path)
	case src.Type == "url":
		sb.WriteString("Document at ")
		sb.WriteString(src.URL)
		c.warnf("%s: document sent as its URL only: the provider cannot fetch documents", path)
	default:
		sb.WriteString("[")
		sb.WriteString(src.MediaType)
		sb.WriteString(" document omitted: the provider cannot read it]")
		c.warnf("%s: %s document (%s source) omitted: the provider cannot read it", path, src.MediaType, src.Type)
	}
	sb.WriteString("\n</document>")
	return sb.String()
}

func (c *requestConverter) searchResultText(b *anthropic.ContentBlockParam, path string) (string, error) {
	var sb strings.Builder
	sb.WriteString("<search_result")
	if b.Title != "" {
		sb.WriteString(" title=")
		sb.WriteString(strconv.Quote(b.Title))
	}
	if b.Source != nil && b.Source.URL != "" {
		sb.WriteString(" source=")
		sb.WriteString(strconv.Quote(b.Source.URL))
	}
	sb.WriteString(">\n")
	for k := range b.Content {
		if b.Content[k].Type != anthropic.BlockText {
			return "", fmt.Errorf("%s.content[%d]: block type %q in a search result", path, k, b.Content[k].Type)
		}
		if k > 0 {
			sb.WriteString("\n\n")
		}
		sb.WriteString(b.Content[k].Text)
	}
	sb.WriteString("\n</search_result>")
	return sb.String(), nil
}

// imagePart converts an image source to an image_url part; base64 data
// becomes a data URL.
func imagePart(src *anthropic.Source, path string) (chatPart, error) {
	if src == nil {
		return chatPart{}, fmt.Errorf("%s.source: missing", path)
	}
	switch src.Type {
	case "base64":
		if src.MediaType == "" {
			return chatPart{}, fmt.Errorf("%s.source.media_type: missing", path)
		}
		return chatPart{Type: "image_url", ImageURL: &imageURL{URL: "data:" + src.MediaType + ";base64," + src.Data}}, nil
	case "url":
		if src.URL == "" {
			return chatPart{}, fmt.Errorf("%s.source.url: missing", path)
		}
		return chatPart{Type: "image_url", ImageURL: &imageURL{URL: src.URL}}, nil
	default:
		return chatPart{}, fmt.Errorf("%s.source.type: unsupported image source %q", path, src.Type)
	}
}

// compactArguments renders a tool_use input as the arguments string.
func compactArguments(input json.RawMessage) (string, error) {
	if len(input) == 0 || bytes.Equal(input, []byte("null")) {
		return "{}", nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, input); err != nil {
		return "", err
	}
	if buf.Len() == 0 || buf.Bytes()[0] != '{' {
		return "", errors.New("not a JSON object")
	}
	return buf.String(), nil
}

func joinParts(parts []chatPart) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0].Text
	}
	texts := make([]string, len(parts))
	for i, p := range parts {
		texts[i] = p.Text
	}
	return strings.Join(texts, "\n\n")
}

// isServerToolBlock reports the blocks of Anthropic-run tools (web search,
// web fetch, code execution, ...), which no other provider can continue.
func isServerToolBlock(t string) bool {
	return t == "server_tool_use" || t == "mcp_tool_use" || t == "mcp_tool_result" ||
		t == "container_upload" || strings.HasSuffix(t, "_tool_result")
}
