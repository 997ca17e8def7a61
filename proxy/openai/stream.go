package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
)

// StreamConverter turns the chunks of a Chat Completions stream into the
// events of an Anthropic Messages stream, one upstream SSE event at a time.
// It does no I/O: the caller reads the upstream, feeds each event's data to
// Process, writes the returned events, and calls Finish at the upstream's end.
//
// The output is the exact Anthropic sequence: message_start, then content
// blocks (thinking, text, tool_use) one at a time with increasing indexes,
// each opened by content_block_start and closed by content_block_stop before
// the next opens, then message_delta with the stop reason and the usage
// totals, then message_stop.
//
// message_start is held back until the first content (or the end), so that
// an upstream that fails right after its first, empty chunk can still be
// failed over: see Started.
//
// Tool-call arguments are buffered and sent as one input_json_delta when
// the call is complete, so the client always receives a JSON object: an
// argument string that is not one is sent as {"_raw_arguments": "..."}
// with a warning, where the model can see what went wrong. A tool call's
// content_block_start is sent as soon as its name is known. Fragments that
// arrive before the id and name are kept. Parallel tool calls are told apart
// by their index. A server that interleaves the fragments of parallel calls
// is served too: a call that starts while the open call's arguments are
// still incomplete waits until they are whole. A fragment for a call whose
// block was already closed is an error.
//
// A StreamConverter is not safe for concurrent use.
type StreamConverter struct {
	model     string
	inputHint int
	newID     func(prefix string) string

	upstreamID string
	started    bool  // message_start emitted
	sent       bool  // events were returned to the caller
	done       bool  // message_stop emitted
	failed     error // sticky: every later call returns it
	sawFinish  bool
	finish     string // the upstream finish_reason

	next      int       // index of the next content block
	open      blockKind // the open block's kind, kindNone if none
	openIndex int
	openTool  *toolCall

	tools    map[int]*toolCall // by upstream tool-call index
	lastTool int               // upstream index of the latest tool call
	newTool  int               // next index for tool calls that carry none
	pending  []*toolCall       // named calls waiting to open, in arrival order
	usedIDs  map[string]bool
	hasTools bool // a tool_use block was emitted

	usage     chatUsage
	haveUsage bool

	events   []anthropic.Event
	warnings []string
}

type blockKind int

const (
	kindNone blockKind = iota
	kindText
	kindThinking
	kindTool
)

type toolCall struct {
	index   int // upstream index
	id      string
	name    string
	args    []byte
	started bool
	pending bool // named, waiting for the open call to complete
	closed  bool
}

// NewStreamConverter returns a converter for one response. model is the
// model name the client is shown (normally the one it asked for);
// inputTokensHint is the input token count reported in message_start,
// before the upstream's own usage (which message_delta then carries)
// is known.
func NewStreamConverter(model string, inputTokensHint int) *StreamConverter {
	return &StreamConverter{
		model:     model,
		inputHint: inputTokensHint,
		newID:     randomID,
		tools:     map[int]*toolCall{},
		lastTool:  -1,
	}
}

// Started reports whether any event has been returned. Until then nothing
// has been sent to the client and the request can still be failed over.
// Events built from a chunk that then failed are never returned.
func (c *StreamConverter) Started() bool { return c.sent }

// Warnings returns what the conversion approximated so far (unknown
// finish_reason, arguments that are not JSON, missing usage, ...).
func (c *StreamConverter) Warnings() []string { return c.warnings }

// Process converts the data of one upstream SSE event, "[DONE]" included.
// It returns the Anthropic events to send, possibly none. An error (a
// malformed chunk, an upstream error chunk, a finish_reason of "error") is
// final: the stream must be aborted, or failed over if Started is false.
// An *UpstreamError carries the upstream's message.
func (c *StreamConverter) Process(data []byte) ([]anthropic.Event, error) {
	if c.failed != nil {
		return nil, c.failed
	}
	if c.done {
		return nil, nil
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, nil
	}
	c.events = nil
	if bytes.Equal(data, []byte("[DONE]")) {
		if !c.sawFinish {
			c.warnf("stream ended with [DONE] but no finish_reason")
		}
		return c.returned(c.close())
	}
	var chunk chatChunk
	if err := json.Unmarshal(data, &chunk); err != nil {
		return nil, c.fail(fmt.Errorf("decoding upstream chunk: %w", err))
	}
	return c.returned(c.chunk(&chunk, false))
}

// returned notes that events go out to the caller.
func (c *StreamConverter) returned(events []anthropic.Event, err error) ([]anthropic.Event, error) {
	if len(events) > 0 {
		c.sent = true
	}
	return events, err
}

// Finish is called at the upstream's end of stream. It returns the closing
// events when the upstream finished (a finish_reason was seen; [DONE] is
// optional, as some servers omit it), and ErrTruncated when it was cut.
func (c *StreamConverter) Finish() ([]anthropic.Event, error) {
	if c.failed != nil {
		return nil, c.failed
	}
	if c.done {
		return nil, nil
	}
	if !c.sawFinish {
		return nil, c.fail(ErrTruncated)
	}
	c.events = nil
	return c.returned(c.close())
}

func (c *StreamConverter) fail(err error) error {
	c.failed = err
	c.events = nil
	return err
}

func (c *StreamConverter) warnf(format string, args ...any) {
	c.warnings = append(c.warnings, fmt.Sprintf(format, args...))
}

// chunk converts one decoded chunk. whole says it is a non-streamed
// completion, whose choices carry message instead of delta.
func (c *StreamConverter) chunk(chunk *chatChunk, whole bool) ([]anthropic.Event, error) {
	if e := parseUpstreamError(chunk.Error); e != nil {
		return nil, c.fail(e)
	}
	if c.upstreamID == "" {
		c.upstreamID = chunk.ID
	}
	if chunk.Usage != nil {
		c.usage = *chunk.Usage
		c.haveUsage = true
	}
	for i := range chunk.Choices {
		ch := &chunk.Choices[i]
		if ch.Index != 0 {
			continue // n > 1 is never requested
		}
		d := &ch.Delta
		if whole {
			d = &ch.Message
		}
		if err := c.delta(d, whole); err != nil {
			return nil, c.fail(err)
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			if *ch.FinishReason == "error" {
				return nil, c.fail(&UpstreamError{Message: "the upstream ended the answer with finish_reason \"error\""})
			}
			c.finish = *ch.FinishReason
			c.sawFinish = true
			c.closeAll()
		}
	}
	return c.events, nil
}

func (c *StreamConverter) delta(d *chunkDelta, whole bool) error {
	if r := d.reasoning(); r != "" {
		c.content(kindThinking, r)
	}
	if d.Content.Thinking != "" {
		c.content(kindThinking, d.Content.Thinking)
	}
	if d.Content.Text != "" {
		c.content(kindText, d.Content.Text)
	}
	if d.Refusal != nil && *d.Refusal != "" {
		c.content(kindText, *d.Refusal)
	}
	for i := range d.ToolCalls {
		tc := &d.ToolCalls[i]
		idx := c.toolIndex(tc, i, whole)
		if err := c.toolDelta(idx, tc.ID, tc.Function.Name, tc.Function.arguments()); err != nil {
			return err
		}
	}
	if f := d.FunctionCall; f != nil {
		// The legacy single function call: one call, index 0, no id.
		if err := c.toolDelta(0, "", f.Name, f.arguments()); err != nil {
			return err
		}
	}
	return nil
}

// toolIndex returns the upstream index of a tool-call delta. Servers that
// omit it send whole calls; they are told apart by id, else by position.
func (c *StreamConverter) toolIndex(tc *chunkToolCall, pos int, whole bool) int {
	if tc.Index != nil {
		return *tc.Index
	}
	if whole {
		return pos
	}
	if tc.ID != "" {
		for idx, t := range c.tools {
			if t.id == tc.ID {
				return idx
			}
		}
		for c.tools[c.newTool] != nil {
			c.newTool++
		}
		return c.newTool
	}
	if c.lastTool >= 0 {
		return c.lastTool
	}
	return pos
}

// content adds text or thinking, opening a block of that kind if needed.
func (c *StreamConverter) content(kind blockKind, s string) {
	if c.open != kind {
		c.closeAll()
		block := anthropic.ContentBlock{Type: anthropic.BlockText}
		if kind == kindThinking {
			block.Type = anthropic.BlockThinking
		}
		c.openBlock(kind, block)
	}
	if kind == kindThinking {
		c.emit(anthropic.ThinkingDelta(c.openIndex, s))
	} else {
		c.emit(anthropic.TextDelta(c.openIndex, s))
	}
}

func (c *StreamConverter) toolDelta(idx int, id, name, args string) error {
	if idx < 0 || idx > 1<<16 {
		return fmt.Errorf("tool call index %d out of range", idx)
	}
	t := c.tools[idx]
	if t == nil {
		t = &toolCall{index: idx}
		c.tools[idx] = t
	}
	c.lastTool = idx
	if t.id == "" {
		t.id = id
	}
	if t.name == "" {
		t.name = name
	}
	if args != "" {
		if t.closed {
			return fmt.Errorf("tool call %d: arguments arrived after its block was closed", idx)
		}
		t.args = append(t.args, args...)
	}
	switch {
	case t.started || t.name == "" || t.pending:
	case c.open == kindTool && !argsComplete(c.openTool):
		// Another call starts while the open one's arguments are still
		// incomplete: the server interleaves calls. Closing the open block
		// now would cut its arguments, so this call waits its turn.
		t.pending = true
		c.pending = append(c.pending, t)
	default:
		c.closeOpen()
		c.startTool(t)
	}
	// The open call is complete and others are waiting: let them in.
	for len(c.pending) > 0 && c.open == kindTool && argsComplete(c.openTool) {
		c.closeOpen()
		next := c.pending[0]
		c.pending = c.pending[1:]
		c.startTool(next)
	}
	return nil
}

func (c *StreamConverter) startTool(t *toolCall) {
	t.started = true
	t.pending = false
	c.hasTools = true
	c.openBlock(kindTool, anthropic.ContentBlock{
		Type:  anthropic.BlockToolUse,
		ID:    c.toolID(t.id),
		Name:  t.name,
		Input: json.RawMessage("{}"),
	})
	c.openTool = t
}

// argsComplete reports whether a call's arguments so far form a whole JSON
// value, so that its block may close.
func argsComplete(t *toolCall) bool {
	return len(bytes.TrimSpace(t.args)) > 0 && json.Valid(t.args)
}

// closeAll closes the open block and runs any waiting tool calls through
// theirs, before content of another kind or the end of the message.
func (c *StreamConverter) closeAll() {
	c.closeOpen()
	for _, t := range c.pending {
		c.startTool(t)
		c.closeOpen()
	}
	c.pending = nil
}

// toolID returns a unique Anthropic-form id for an upstream tool-call id.
func (c *StreamConverter) toolID(upstream string) string {
	id := anthropicID("toolu_", upstream, c.newID)
	if c.usedIDs == nil {
		c.usedIDs = map[string]bool{}
	}
	for n := 2; c.usedIDs[id]; n++ {
		id = anthropicID("toolu_", upstream, c.newID) + "_" + strconv.Itoa(n)
	}
	c.usedIDs[id] = true
	return id
}

func (c *StreamConverter) openBlock(kind blockKind, b anthropic.ContentBlock) {
	c.open = kind
	c.openIndex = c.next
	c.next++
	c.emit(anthropic.BlockStart(c.openIndex, b))
}

// closeOpen closes the open block; a tool block first gets its arguments.
func (c *StreamConverter) closeOpen() {
	if c.open == kindNone {
		return
	}
	if c.open == kindTool {
		t := c.openTool
		t.closed = true
		c.openTool = nil
		if input := c.toolInput(t); input != "" {
			c.emit(anthropic.InputJSONDelta(c.openIndex, input))
		}
	}
	c.emit(anthropic.BlockStop(c.openIndex))
	c.open = kindNone
}

// toolInput returns a finished call's input as compact JSON, "" for none.
func (c *StreamConverter) toolInput(t *toolCall) string {
	args := bytes.TrimSpace(t.args)
	if len(args) == 0 || bytes.Equal(args, []byte("null")) || bytes.Equal(args, []byte("{}")) {
		return ""
	}
	if args[0] == '{' && json.Valid(args) {
		var buf bytes.Buffer
		if json.Compact(&buf, args) == nil {
			return buf.String()
		}
	}
	c.warnf("tool call %q: arguments are not a JSON object; sent as _raw_arguments", t.name)
	raw, _ := marshal(struct {
		Raw string `json:"_raw_arguments"`
	}{string(t.args)})
	return string(raw)
}

// emit appends an event, preceded by message_start if none was sent yet.
func (c *StreamConverter) emit(e anthropic.Event) {
	if !c.started {
		c.started = true
		c.events = append(c.events, anthropic.MessageStart(anthropic.Message{
			ID:    anthropicID("msg_", c.upstreamID, c.newID),
			Model: c.model,
			Usage: c.messageUsage(false),
		}))
	}
	c.events = append(c.events, e)
}

// messageUsage maps the upstream usage: OpenAI's prompt_tokens include the
// cached ones, Anthropic's input_tokens do not.
func (c *StreamConverter) messageUsage(final bool) anthropic.Usage {
	if !c.haveUsage {
		return anthropic.Usage{InputTokens: c.inputHint}
	}
	cached := min(c.usage.cached(), c.usage.PromptTokens)
	u := anthropic.Usage{
		InputTokens:          c.usage.PromptTokens - cached,
		CacheReadInputTokens: cached,
	}
	if final {
		u.OutputTokens = c.usage.CompletionTokens
	}
	return u
}

// close ends the message: the open block, message_delta, message_stop.
func (c *StreamConverter) close() ([]anthropic.Event, error) {
	c.closeAll()
	unnamed := -1
	for idx, t := range c.tools {
		if !t.started && (unnamed < 0 || idx < unnamed) {
			unnamed = idx
		}
	}
	if unnamed >= 0 {
		return nil, c.fail(fmt.Errorf("tool call %d: no function name", unnamed))
	}
	if !c.haveUsage {
		c.warnf("the upstream reported no usage")
	}
	c.emit(anthropic.MessageDelta(c.stopReason(), "", c.messageUsage(true)))
	c.emit(anthropic.MessageStop())
	c.done = true
	return c.events, nil
}

// stopReason maps finish_reason. A server that ends a turn of tool calls
// with "stop" (several do) still gets tool_use: the client runs tools only
// then.
func (c *StreamConverter) stopReason() string {
	var r string
	switch c.finish {
	case "stop", "":
		r = anthropic.StopEndTurn
	case "length":
		r = anthropic.StopMaxTokens
	case "tool_calls", "function_call":
		r = anthropic.StopToolUse
	case "content_filter":
		r = anthropic.StopRefusal
	case anthropic.StopEndTurn, anthropic.StopMaxTokens, anthropic.StopToolUse, anthropic.StopStopSequence,
		anthropic.StopRefusal, anthropic.StopPauseTurn:
		r = c.finish // a server that already speaks Anthropic's values
	default:
		c.warnf("unknown finish_reason %q mapped to end_turn", c.finish)
		r = anthropic.StopEndTurn
	}
	if r == anthropic.StopEndTurn && c.hasTools {
		r = anthropic.StopToolUse
	}
	if r == anthropic.StopToolUse && !c.hasTools {
		r = anthropic.StopEndTurn
	}
	return r
}
