package openai

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
)

// RequestOptions says how a request is converted for one provider.
type RequestOptions struct {
	// Model is the upstream model, already resolved by the route; "" keeps
	// the client's.
	Model string
	// MaxTokens, when > 0, caps the request's max_tokens.
	MaxTokens int
	// Reasoning says the provider accepts reasoning settings; without it a
	// thinking setting is dropped.
	Reasoning bool
	// Family is the provider's family (nil: Generic).
	Family *Family
	// Provider is the provider's name: opaque state goes back only to the
	// provider that issued it (state.go).
	Provider string
	// Buffer, when it has room, is where the converted body is written
	// (Request.Body then shares its memory), so that a caller can reuse
	// buffers; the body is written from Buffer[:0].
	Buffer []byte
}

// Request is a converted request.
type Request struct {
	// Body is the Chat Completions request body.
	Body []byte
	// Warnings say what could not be carried over and was dropped or
	// approximated. They name no message index, so the same finding reads
	// the same on every turn of a conversation.
	Warnings []string
	// ToolNames maps each function name sent upstream that differs from
	// the client's tool name back to the client's (nil when none differs).
	ToolNames map[string]string
}

// ConvertRequest converts an Anthropic Messages request body into a Chat
// Completions request body for one provider. It fails only on a body that
// is not a Messages request (not JSON, no model or messages, an unknown
// role, a tool_use without id or name, ...), with an error that names the
// offending field, as in `messages[3].role: unknown role "bot"`; a content
// block of any type is converted, rendered as text or dropped (blocks.go),
// never refused.
//
// Choices made where the two APIs differ:
//   - System blocks, and the text blocks of any one message, are joined with
//     a blank line into one string: plain strings are what every
//     OpenAI-compatible server accepts. A message holding an image is sent as
//     an array of parts. Claude Code's per-request billing line
//     ("x-anthropic-billing-header: …") is dropped from the system prompt:
//     it changes on every request and would defeat the provider's prefix
//     cache.
//   - Tool results become "tool" messages right after the assistant turn, in
//     the order of the user turn (Chat Completions requires them first); the
//     turn's other blocks follow as one user message. A result with is_error
//     is prefixed "Error: ". Images inside a tool result, which tool messages
//     cannot carry, go into that following user message.
//   - Thinking becomes the family's reasoning parameter (reasoning_effort,
//     OpenRouter's reasoning object, GLM's thinking, Qwen's
//     enable_thinking): budget_tokens < 4096 is "low", < 16384 "medium",
//     otherwise "high"; adaptive thinking takes output_config.effort.
//     Thinking blocks in the history that this package made from an
//     upstream's reasoning (no signature) go back as the assistant message's
//     reasoning_content, which DeepSeek's thinking mode requires after tool
//     calls and other servers ignore; blocks carrying this provider's state
//     give it back (state.go); Anthropic-signed thinking is dropped.
//   - Tool names the family refuses are mapped (ids.go), tool ids carry the
//     upstream's own ids back (ids.go), deferred tools (defer_loading) are
//     sent once a tool_reference has loaded them, and the model family's
//     parameter rules apply (family.go).
//   - cache_control, citations, top_k and Anthropic-only fields are dropped.
//
// Strings are copied as they are escaped in the body, never decoded and
// encoded again; a body that is not valid UTF-8 has its invalid bytes
// replaced by U+FFFD first.
func ConvertRequest(body []byte, opts RequestOptions) (*Request, error) {
	if !utf8.Valid(body) {
		body = bytes.ToValidUTF8(body, []byte("\uFFFD"))
	}
	if opts.Family == nil {
		opts.Family = Generic
	}
	c := converters.Get().(*converter)
	defer c.release()
	c.opts, c.fam = opts, opts.Family
	if err := c.read(body); err != nil {
		return nil, err
	}
	out, err := c.assemble(opts.Buffer[:0], len(body))
	if err != nil {
		return nil, err
	}
	return &Request{Body: out, Warnings: c.takeWarnings(), ToolNames: c.takeNames()}, nil
}

// converter holds one conversion's state; converters are pooled, so that
// the buffers of a large request are reused by the next.
type converter struct {
	opts RequestOptions
	fam  *Family

	warnings []string
	warned   map[string]bool
	names    map[string]string // upstream name -> client name, renamed ones only
	loaded   map[string]bool   // deferred tools loaded (true) or removed (false) by the history

	msgs  []byte    // the converted messages, back to back
	spans []msgSpan // where each message is in msgs

	system    []esc
	tools     []toolDef
	parts     []part
	texts     []esc
	reasoning []esc
	calls     []call
	state     providerState

	model        string
	maxTokens    int64
	hasMax       bool
	temperature  []byte
	topP         []byte
	topK         bool
	stop         [][]byte
	userID       []byte
	thinkingType string
	budget       int64
	effort       string
	stream       bool
	choice       toolChoice
}

// esc is the content of a JSON string as it is written on the wire,
// escapes included, without the quotes.
type esc []byte

// msgSpan is one converted message in converter.msgs.
type msgSpan struct {
	start, end int
	role       byte // 's'ystem, 'u'ser, 'a'ssistant, 't'ool
	calls      bool // an assistant message with tool calls
}

var converters = sync.Pool{New: func() any { return new(converter) }}

// release resets c and puts it back in the pool. Slices that pointed into
// the body are cleared, so that a pooled converter keeps no body alive.
func (c *converter) release() {
	clear(c.system[:cap(c.system)])
	clear(c.tools[:cap(c.tools)])
	clear(c.parts[:cap(c.parts)])
	clear(c.texts[:cap(c.texts)])
	clear(c.reasoning[:cap(c.reasoning)])
	clear(c.calls[:cap(c.calls)])
	clear(c.stop[:cap(c.stop)])
	if cap(c.msgs) > 4<<20 {
		c.msgs = nil // one huge request does not pin its buffer
	}
	*c = converter{
		warned: c.warned, names: nil, loaded: c.loaded,
		msgs: c.msgs[:0], spans: c.spans[:0],
		system: c.system[:0], tools: c.tools[:0], parts: c.parts[:0], texts: c.texts[:0],
		reasoning: c.reasoning[:0], calls: c.calls[:0], stop: c.stop[:0],
	}
	clear(c.warned)
	clear(c.loaded)
	converters.Put(c)
}

// warn records a warning once per conversion.
func (c *converter) warn(format string, args ...any) {
	w := fmt.Sprintf(format, args...)
	if c.warned == nil {
		c.warned = map[string]bool{}
	}
	if !c.warned[w] {
		c.warned[w] = true
		c.warnings = append(c.warnings, w)
	}
}

func (c *converter) takeWarnings() []string {
	w := c.warnings
	c.warnings = nil
	return w
}

func (c *converter) takeNames() map[string]string {
	n := c.names
	c.names = nil
	return n
}

// read reads the whole body, converting the messages as it goes and
// keeping the rest for assemble.
func (c *converter) read(body []byte) error {
	r := cursor{b: body}
	if r.peek() != '{' {
		r.fail("a request must be a JSON object")
		return fmt.Errorf("decoding request: %w", r.err)
	}
	var semantic error
	keep := func(err error) {
		if semantic == nil {
			semantic = err
		}
	}
	hasMessages := false
	for key := range r.members() {
		switch string(key) {
		case "model":
			if r.peek() != '"' {
				keep(errors.New("model: must be a string"))
			}
			c.model = r.text()
		case "messages":
			if r.peek() != '[' {
				keep(errors.New("messages: must be an array"))
				r.skip()
				continue
			}
			hasMessages = true
			keep(c.messages(&r))
		case "system":
			keep(c.systemPrompt(&r))
		case "tools":
			keep(c.toolDefs(&r))
		case "tool_choice":
			keep(c.toolChoice(&r))
		case "max_tokens":
			c.maxTokens, c.hasMax = r.int()
		case "temperature":
			c.temperature = r.number()
		case "top_p":
			c.topP = r.number()
		case "top_k":
			c.topK = !r.null()
			if c.topK {
				r.skip()
			}
		case "stop_sequences":
			c.stopSequences(&r)
		case "metadata":
			c.metadata(&r)
		case "thinking":
			c.thinking(&r)
		case "output_config":
			c.outputConfig(&r)
		case "stream":
			c.stream = r.boolean()
		default:
			r.skip()
		}
	}
	r.end()
	if r.err != nil {
		return fmt.Errorf("decoding request: %w", r.err)
	}
	if semantic != nil {
		return semantic
	}
	if c.opts.Model != "" {
		c.model = c.opts.Model
	}
	if c.model == "" {
		return errors.New("model: missing")
	}
	if !hasMessages || len(c.spans) == 0 {
		return errors.New("messages: missing")
	}
	return nil
}

func (c *converter) stopSequences(r *cursor) {
	if r.peek() != '[' {
		r.skip()
		return
	}
	for range r.elems() {
		if s := r.rawText(); s != nil {
			c.stop = append(c.stop, s)
		}
	}
}

func (c *converter) metadata(r *cursor) {
	if r.peek() != '{' {
		r.skip()
		return
	}
	for key := range r.members() {
		if string(key) == "user_id" {
			c.userID = r.rawText()
		} else {
			r.skip()
		}
	}
	return
}

func (c *converter) thinking(r *cursor) {
	if r.peek() != '{' {
		r.skip()
		return
	}
	for key := range r.members() {
		switch string(key) {
		case "type":
			c.thinkingType = r.text()
		case "budget_tokens":
			c.budget, _ = r.int()
		default:
			r.skip()
		}
	}
	return
}

func (c *converter) outputConfig(r *cursor) {
	if r.peek() != '{' {
		r.skip()
		return
	}
	for key := range r.members() {
		if string(key) == "effort" {
			c.effort = r.text()
		} else {
			r.skip()
		}
	}
	return
}

// maxStop is the number of stop sequences OpenAI accepts.
const maxStop = 4

// assemble writes the Chat Completions body: model, messages (the system
// prompt first), the output limit and sampling settings, stop, tools,
// tool_choice, parallel_tool_calls, user, the reasoning setting, stream.
func (c *converter) assemble(out []byte, sizeHint int) ([]byte, error) {
	if want := sizeHint + sizeHint/8 + 256; cap(out) < want {
		out = make([]byte, 0, want)
	}
	out = append(out, `{"model":`...)
	out = appendString(out, c.model)
	out = append(out, `,"messages":[`...)
	first := true
	if len(c.system) > 0 {
		out = append(out, `{"role":"system","content":`...)
		out = appendJoined(out, c.system)
		out = append(out, '}')
		first = false
	}
	for _, i := range keepToolResultsAdjacent(c.spans) {
		if !first {
			out = append(out, ',')
		}
		first = false
		s := c.spans[i]
		out = append(out, c.msgs[s.start:s.end]...)
	}
	out = append(out, ']')

	rule := ruleFor(c.fam, c.model)
	if c.hasMax && c.maxTokens > 0 {
		limit := c.maxTokens
		if c.opts.MaxTokens > 0 && limit > int64(c.opts.MaxTokens) {
			c.warn("max_tokens %d clamped to %d", limit, c.opts.MaxTokens)
			limit = int64(c.opts.MaxTokens)
		}
		if rule != nil && rule.maxCompletionTokens {
			out = append(out, `,"max_completion_tokens":`...)
		} else {
			out = append(out, `,"max_tokens":`...)
		}
		out = strconv.AppendInt(out, limit, 10)
	}
	for _, p := range []struct {
		name string
		v    []byte
	}{{"temperature", c.temperature}, {"top_p", c.topP}} {
		if p.v == nil {
			continue
		}
		if rule != nil && rule.defaultSampling {
			if f, err := strconv.ParseFloat(string(p.v), 64); err != nil || f != 1 {
				c.warn("%s dropped: %s take only the default", p.name, rule.why)
			}
			continue
		}
		out = append(out, `,"`...)
		out = append(out, p.name...)
		out = append(out, `":`...)
		out = append(out, p.v...)
	}
	if c.topK {
		c.warn("top_k dropped: Chat Completions has no such parameter")
	}
	if len(c.stop) > 0 {
		stop := c.stop
		if len(stop) > maxStop {
			c.warn("stop_sequences: only the first %d of %d kept", maxStop, len(stop))
			stop = stop[:maxStop]
		}
		out = append(out, `,"stop":[`...)
		for i, s := range stop {
			if i > 0 {
				out = append(out, ',')
			}
			out = appendRaw(out, s)
		}
		out = append(out, ']')
	}
	var err error
	if out, err = c.appendTools(out); err != nil {
		return nil, err
	}
	if len(c.userID) > 0 && !c.fam.noUser {
		out = append(out, `,"user":`...)
		out = appendRaw(out, c.userID)
	}
	out = c.appendReasoning(out)
	if c.stream {
		out = append(out, `,"stream":true,"stream_options":{"include_usage":true}`...)
	}
	return append(out, '}'), nil
}

// keepToolResultsAdjacent returns the order in which the messages are sent:
// system messages that sit between an assistant's tool calls and their
// results move to after the results, since Chat Completions requires the
// tool messages to follow the tool calls at once, and Claude Code may place
// a system message anywhere in the conversation.
func keepToolResultsAdjacent(spans []msgSpan) []int {
	order := make([]int, len(spans))
	for i := range order {
		order[i] = i
	}
	for i := 0; i < len(order); i++ {
		if s := spans[order[i]]; s.role != 'a' || !s.calls {
			continue
		}
		sys := i + 1
		for sys < len(order) && spans[order[sys]].role == 's' {
			sys++
		}
		tools := sys
		for tools < len(order) && spans[order[tools]].role == 't' {
			tools++
		}
		if sys == i+1 || tools == sys {
			continue // nothing in between, or no results follow
		}
		moved := append([]int(nil), order[i+1:sys]...)
		n := copy(order[i+1:], order[sys:tools])
		copy(order[i+1+n:], moved)
		i = tools - 1
	}
	return order
}

// appendReasoning writes the thinking setting as the family's parameter.
func (c *converter) appendReasoning(out []byte) []byte {
	effort := c.reasoningEffort()
	if effort == "" {
		return out
	}
	if !c.opts.Reasoning {
		c.warn("thinking dropped: the provider takes no reasoning settings (set reasoning: true if it does)")
		return out
	}
	switch c.fam.reasoning {
	case reasoningEffort:
		out = append(out, `,"reasoning_effort":"`...)
		out = append(out, effort...)
		return append(out, '"')
	case reasoningObject:
		out = append(out, `,"reasoning":{"effort":"`...)
		out = append(out, effort...)
		return append(out, `"}`...)
	case reasoningThinkingType:
		return append(out, `,"thinking":{"type":"enabled"}`...)
	case reasoningEnableThinking:
		return append(out, `,"enable_thinking":true`...)
	}
	return out // reasoningNone: the model decides
}

// reasoningEffort maps the thinking setting to low, medium or high; "" for
// none.
func (c *converter) reasoningEffort() string {
	switch c.thinkingType {
	case "", "disabled":
		return ""
	case "enabled":
		switch {
		case c.budget < 4096:
			return "low"
		case c.budget < 16384:
			return "medium"
		default:
			return "high"
		}
	case "adaptive":
		switch c.effort {
		case "low", "medium", "high":
			return c.effort
		case "max", "xhigh":
			return "high"
		default:
			return "medium"
		}
	}
	c.warn("thinking type %q dropped", c.thinkingType)
	return ""
}

// appendString appends s as a JSON string.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = anthropic.AppendEscaped(dst, s)
	return append(dst, '"')
}

// appendRaw appends escaped content as a JSON string.
func appendRaw(dst []byte, e []byte) []byte {
	dst = append(dst, '"')
	dst = append(dst, e...)
	return append(dst, '"')
}

// appendJoined appends texts joined with a blank line as one JSON string.
func appendJoined(dst []byte, texts []esc) []byte {
	dst = append(dst, '"')
	for i, t := range texts {
		if i > 0 {
			dst = append(dst, `\n\n`...)
		}
		dst = append(dst, t...)
	}
	return append(dst, '"')
}

// appendArguments appends a tool_use input (a validated JSON value) as a
// Chat Completions arguments string: compacted, then escaped.
func appendArguments(dst, input []byte) []byte {
	dst = append(dst, '"')
	in := false
	for i := 0; i < len(input); i++ {
		ch := input[i]
		if !in {
			switch ch {
			case ' ', '\t', '\n', '\r':
			case '"':
				in = true
				dst = append(dst, '\\', '"')
			default:
				dst = append(dst, ch)
			}
			continue
		}
		switch ch {
		case '\\':
			// An escape inside a string: its backslash is escaped, and an
			// escaped quote or backslash is escaped again.
			dst = append(dst, '\\', '\\')
			i++
			switch input[i] {
			case '"':
				dst = append(dst, '\\', '"')
			case '\\':
				dst = append(dst, '\\', '\\')
			default:
				dst = append(dst, input[i])
			}
		case '"':
			in = false
			dst = append(dst, '\\', '"')
		default:
			dst = append(dst, ch)
		}
	}
	return append(dst, '"')
}
