package openai

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
)

// StreamOptions say how the answers of one request are converted.
type StreamOptions struct {
	// Model is the model name the client is shown (normally the one it
	// asked for).
	Model string
	// ToolNames maps function names sent upstream back to the client's
	// (Request.ToolNames).
	ToolNames map[string]string
	// Family and Provider tag the opaque state an answer carries
	// (state.go); Family nil is Generic.
	Family   *Family
	Provider string
	// EstimateInput returns the request's input tokens counted locally. It
	// is called only when the upstream reports no prompt tokens, so that
	// the client never reads 0 for a non-empty prompt (Claude Code's
	// auto-compaction runs on that number); nil leaves the figure 0.
	EstimateInput func() int
}

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
// content_block_start is sent as soon as its name is known, with the
// client's name for it (StreamOptions.ToolNames) and an id that carries the
// upstream's (ids.go). Fragments that arrive before the id and name are
// kept. Parallel tool calls are told apart by their index. A server that
// interleaves the fragments of parallel calls is served too: a call that
// starts while the open call's arguments are still incomplete waits until
// they are whole. A fragment for a call whose block was already closed is
// an error.
//
// Opaque state the answer carries (thought signatures, reasoning_details)
// goes into one more thinking block, with no text, at the end of the
// content (state.go).
//
// Usage comes from the upstream; a figure it does not give (no usage, or
// zero) is estimated: the input with StreamOptions.EstimateInput, the
// output as a quarter of the bytes produced.
//
// A StreamConverter is not safe for concurrent use.
type StreamConverter struct {
	opts  StreamOptions
	fam   *Family
	newID func(prefix string) string

	upstreamID string
	whole      bool  // converting a whole completion, not a stream
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

	tools    map[int64]*toolCall // by upstream tool-call index
	lastTool int64               // upstream index of the latest tool call
	newTool  int64               // next index for tool calls that carry none
	pending  []*toolCall         // named calls waiting to open, in arrival order
	argBytes int                 // tool-call argument bytes buffered so far
	hasTools bool                // a tool_use block was emitted

	state   providerState
	details []detail // reasoning_details, merged by index

	usage     chatUsage
	haveUsage bool
	produced  int // bytes of text, thinking and arguments sent

	chunk    chatChunk
	text     []byte // scratch for unescaped text
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
	index   int64 // upstream index
	id      string
	name    string
	args    []byte
	started bool
	pending bool // named, waiting for the open call to complete
	closed  bool
	// clientID is the id given to a call the upstream sent without one.
	clientID string
	sig      string // its thought signature, if any

	// The JSON structure of args as far as read (scan), so that whether
	// they are whole is known without reading them again per fragment.
	depth    int  // open objects and arrays outside strings
	inString bool // inside a string
	escaped  bool // after a backslash inside a string
	whole    bool // a top-level object or array closed and args were valid then
	broken   bool // args can never become a whole JSON value
}

// MaxToolArguments bounds the tool-call arguments buffered for one stream
// (they are sent when a call is complete); past it the stream fails.
const MaxToolArguments = 16 << 20

// sentID is the id the call goes upstream with in the next request.
func (t *toolCall) sentID() string {
	if t.id != "" {
		return t.id
	}
	return t.clientID
}

// NewStreamConverter returns a converter for one response.
func NewStreamConverter(opts StreamOptions) *StreamConverter {
	c := &StreamConverter{opts: opts, fam: opts.Family, newID: randomID, tools: map[int64]*toolCall{}, lastTool: -1}
	if c.fam == nil {
		c.fam = Generic
	}
	return c
}

// Started reports whether any event has been returned. Until then nothing
// has been sent to the client and the request can still be failed over.
// Events built from a chunk that then failed are never returned.
func (c *StreamConverter) Started() bool { return c.sent }

// Warnings returns what the conversion approximated so far (unknown
// finish_reason, arguments that are not JSON, missing usage, ...).
func (c *StreamConverter) Warnings() []string { return c.warnings }

// Process converts the data of one upstream SSE event, "[DONE]" included.
// It returns the Anthropic events to send, possibly none, valid until the
// next call. An error (a malformed chunk, an upstream error chunk, a
// finish_reason that breaks the answer off) is final: the stream must be
// aborted, or failed over if Started is false. An *UpstreamError carries
// the upstream's message, a *FinishError the finish_reason.
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
	c.events = c.events[:0]
	if bytes.Equal(data, []byte("[DONE]")) {
		if !c.sawFinish {
			c.warnf("stream ended with [DONE] but no finish_reason")
		}
		return c.returned(c.close())
	}
	if err := readChunk(data, &c.chunk); err != nil {
		return nil, c.fail(fmt.Errorf("decoding upstream chunk: %w", err))
	}
	return c.returned(c.convert(&c.chunk))
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
	c.events = c.events[:0]
	return c.returned(c.close())
}

func (c *StreamConverter) fail(err error) error {
	c.failed = err
	c.events = c.events[:0]
	return err
}

func (c *StreamConverter) warnf(format string, args ...any) {
	c.warnings = append(c.warnings, fmt.Sprintf(format, args...))
}

// convert converts one decoded chunk, or a whole completion.
func (c *StreamConverter) convert(ch *chatChunk) ([]anthropic.Event, error) {
	if len(ch.err) > 0 {
		if e := parseUpstreamError(ch.err); e != nil {
			return nil, c.fail(e)
		}
	}
	if c.upstreamID == "" && len(ch.id) > 0 {
		c.upstreamID = decoded(ch.id)
	}
	if ch.hasUsage {
		c.usage = ch.usage
		c.haveUsage = true
	}
	for i := range ch.choices {
		choice := &ch.choices[i]
		if choice.index != 0 {
			continue // n > 1 is never requested
		}
		if err := c.delta(&choice.delta); err != nil {
			return nil, c.fail(err)
		}
		if choice.finish != "" {
			if _, ok, _ := stopReason(choice.finish); !ok {
				return nil, c.fail(&FinishError{Reason: choice.finish})
			}
			c.finish = choice.finish
			c.sawFinish = true
			c.closeAll()
		}
	}
	return c.events, nil
}

func (c *StreamConverter) delta(d *chunkDelta) error {
	if len(d.reasoningDetails) > 0 && c.fam.state.reasoningDetails {
		c.addDetails(d.reasoningDetails)
	}
	if len(d.reasoning) > 0 {
		c.content(kindThinking, d.reasoning, "")
	}
	if d.contentThinking != "" {
		c.content(kindThinking, nil, d.contentThinking)
	}
	if len(d.content) > 0 {
		c.content(kindText, d.content, "")
	}
	if d.contentText != "" {
		c.content(kindText, nil, d.contentText)
	}
	if len(d.refusal) > 0 {
		c.content(kindText, d.refusal, "")
	}
	for i := range d.toolCalls {
		tc := &d.toolCalls[i]
		if err := c.toolDelta(c.toolIndex(tc, i), tc); err != nil {
			return err
		}
	}
	if f := d.functionCall; f != nil {
		// The legacy single function call: one call, index 0, no id.
		f.id = ""
		if err := c.toolDelta(0, f); err != nil {
			return err
		}
	}
	return nil
}

// toolIndex returns the upstream index of a tool-call delta. Servers that
// omit it send whole calls; they are told apart by id, else by position.
func (c *StreamConverter) toolIndex(tc *chunkToolCall, pos int) int64 {
	if tc.hasIndex {
		return tc.index
	}
	if c.whole {
		return int64(pos)
	}
	if tc.id != "" {
		for idx, t := range c.tools {
			if t.id == tc.id {
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
	return int64(pos)
}

// content adds text or thinking (raw: escaped; s: decoded), opening a block
// of that kind if needed.
func (c *StreamConverter) content(kind blockKind, raw []byte, s string) {
	if raw != nil {
		c.text = appendUnescaped(c.text[:0], raw)
		s = string(c.text)
	}
	if s == "" {
		return
	}
	c.produced += len(s)
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

func (c *StreamConverter) toolDelta(idx int64, tc *chunkToolCall) error {
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
		t.id = tc.id
	}
	if t.name == "" {
		t.name = tc.name
	}
	if len(tc.args) > 0 {
		if t.closed {
			return fmt.Errorf("tool call %d: arguments arrived after its block was closed", idx)
		}
		if c.argBytes += len(tc.args); c.argBytes > MaxToolArguments {
			return fmt.Errorf("tool call arguments longer than %d bytes", MaxToolArguments)
		}
		t.args = append(t.args, tc.args...)
		t.scan(len(t.args) - len(tc.args))
	}
	if tc.thoughtSig != "" && c.fam.state.thoughtSignatures {
		c.pendingSignature(t, tc.thoughtSig)
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

// pendingSignature records a tool call's thought signature under the id
// the call goes upstream with in the next request: its own, or, when the
// upstream gave none, the client's, known once its block starts.
func (c *StreamConverter) pendingSignature(t *toolCall, sig string) {
	t.sig = sig
	if key := t.sentID(); key != "" {
		if c.state.Signatures == nil {
			c.state.Signatures = map[string]string{}
		}
		c.state.Signatures[key] = sig
	}
}

func (c *StreamConverter) startTool(t *toolCall) {
	t.started = true
	t.pending = false
	c.hasTools = true
	name := t.name
	if client, ok := c.opts.ToolNames[name]; ok {
		name = client
	}
	var id string
	if t.id == "" {
		id = c.newID("toolu_")
		t.clientID = id
		if t.sig != "" {
			c.pendingSignature(t, t.sig)
		}
	} else {
		id = clientToolID(c.nonce(), t.id)
	}
	c.openBlock(kindTool, anthropic.ContentBlock{
		Type:  anthropic.BlockToolUse,
		ID:    id,
		Name:  name,
		Input: json.RawMessage("{}"),
	})
	c.openTool = t
}

// nonce returns 8 characters of [A-Za-z0-9] for a tool-call id.
func (c *StreamConverter) nonce() string {
	s := c.newID("")
	for len(s) < nonceLen {
		s = "0" + s
	}
	return s[:nonceLen]
}

// argsComplete reports whether a call's arguments so far form a whole JSON
// object or array, so that its block may close.
func argsComplete(t *toolCall) bool { return t.whole && !t.broken }

// scan follows the JSON structure of args[from:], the bytes just appended.
// Arguments are validated only when a top-level object or array closes, so
// a call's fragments cost time linear in their length whatever their number
// (validating all the arguments on every fragment was quadratic).
func (t *toolCall) scan(from int) {
	for i := from; i < len(t.args) && !t.broken; i++ {
		ch := t.args[i]
		switch {
		case t.inString:
			switch {
			case t.escaped:
				t.escaped = false
			case ch == '\\':
				t.escaped = true
			case ch == '"':
				t.inString = false
			}
		case t.whole && !isSpace(ch):
			t.broken = true // a second value after a whole one
		case ch == '"':
			t.inString = true
		case ch == '{' || ch == '[':
			t.depth++
		case ch == '}' || ch == ']':
			t.depth--
			switch {
			case t.depth < 0:
				t.broken = true
			case t.depth == 0:
				// A top-level value closed: whole if valid now; if not,
				// nothing appended can mend it.
				t.whole = json.Valid(t.args[:i+1])
				t.broken = !t.whole
			}
		}
	}
}

func isSpace(ch byte) bool { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' }

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
			c.produced += len(input)
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
	raw := []byte(`{"_raw_arguments":`)
	raw = appendString(raw, string(t.args))
	return string(append(raw, '}'))
}

// emit appends an event, preceded by message_start if none was sent yet.
func (c *StreamConverter) emit(e anthropic.Event) {
	if !c.started {
		c.started = true
		c.events = append(c.events, anthropic.MessageStart(anthropic.Message{
			ID:    anthropicID("msg_", c.upstreamID, c.newID),
			Model: c.opts.Model,
			Usage: c.messageUsage(false),
		}))
	}
	c.events = append(c.events, e)
}

// messageUsage maps the upstream usage: OpenAI's prompt_tokens include the
// cached ones, Anthropic's input_tokens do not. In the final usage, a
// figure the upstream did not give is estimated (StreamOptions).
func (c *StreamConverter) messageUsage(final bool) anthropic.Usage {
	var u anthropic.Usage
	if c.haveUsage {
		cached := min(c.usage.CachedTokens, c.usage.PromptTokens)
		u = anthropic.Usage{
			InputTokens:          int(c.usage.PromptTokens - cached),
			CacheReadInputTokens: int(cached),
		}
	}
	if !final {
		return u
	}
	if c.haveUsage {
		u.OutputTokens = int(c.usage.CompletionTokens)
	}
	if (!c.haveUsage || c.usage.PromptTokens <= 0) && c.opts.EstimateInput != nil {
		u.InputTokens = c.opts.EstimateInput()
	}
	if u.OutputTokens <= 0 && c.produced > 0 {
		u.OutputTokens = (c.produced + 3) / 4
	}
	return u
}

// close ends the message: the open block, the state block, message_delta,
// message_stop.
func (c *StreamConverter) close() ([]anthropic.Event, error) {
	c.closeAll()
	var unnamed int64 = -1
	for idx, t := range c.tools {
		if !t.started && (unnamed < 0 || idx < unnamed) {
			unnamed = idx
		}
	}
	if unnamed >= 0 {
		return nil, c.fail(fmt.Errorf("tool call %d: no function name", unnamed))
	}
	c.emitState()
	if !c.haveUsage || c.usage.PromptTokens <= 0 {
		c.warnf("the upstream reported no usage; the figures are estimates")
	}
	c.emit(anthropic.MessageDelta(c.stopReason(), "", c.messageUsage(true)))
	c.emit(anthropic.MessageStop())
	c.done = true
	return c.events, nil
}

// emitState writes the answer's opaque state, if any, as a thinking block
// with no text whose signature carries it (state.go).
func (c *StreamConverter) emitState() {
	for _, d := range c.details {
		c.state.ReasoningDetails = append(c.state.ReasoningDetails, d.encode())
	}
	if c.state.empty() {
		return
	}
	c.openBlock(kindThinking, anthropic.ContentBlock{Type: anthropic.BlockThinking})
	c.emit(anthropic.SignatureDelta(c.openIndex, encodeState(&c.state, c.fam.Name, c.opts.Provider)))
	c.emit(anthropic.BlockStop(c.openIndex))
	c.open = kindNone
}

// stopReason maps finish_reason (finish.go). A server that ends a turn of
// tool calls with "stop" (several do) still gets tool_use: the client runs
// tools only then.
func (c *StreamConverter) stopReason() string {
	r := anthropic.StopEndTurn
	if c.finish != "" {
		var known bool
		r, _, known = stopReason(c.finish)
		if !known {
			c.warnf("unknown finish_reason %q read as max_tokens: the answer may be incomplete", c.finish)
		}
	}
	if r == anthropic.StopEndTurn && c.hasTools {
		r = anthropic.StopToolUse
	}
	if r == anthropic.StopToolUse && !c.hasTools {
		r = anthropic.StopEndTurn
	}
	return r
}
