package openai

import (
	"fmt"
	"strconv"
)

// block is one content block of a request, as raw spans of the body: the
// fields of every block type, of which each type uses a few. Strings that
// are copied into the converted request (texts, inputs) stay escaped;
// short ones that are looked at (type, ids, names) are decoded.
type block struct {
	typ       string
	text      []byte // text (escaped); nil when absent
	id        string
	name      string
	input     []byte // tool_use, server_tool_use: a JSON value
	toolUseID string
	content   []byte // tool_result, server tool results, compaction: a JSON value
	isError   bool
	source    []byte // image, document, search_result: a JSON value
	title     []byte // document, search_result (escaped)
	context   []byte // document (escaped)
	thinking  []byte // thinking (escaped)
	signature string
	toolName  string // tool_reference
	tool      []byte // tool_addition, tool_removal: a JSON value
	raw       []byte // the whole block
}

// readBlock reads one content block object.
func readBlock(r *cursor) (b block) {
	if r.peek() != '{' {
		r.skip()
		return block{typ: "(not an object)"}
	}
	start := r.i
	r.object()
	n := 0
	for {
		key, ok := r.key(&n)
		if !ok {
			if r.err == nil {
				b.raw = r.b[start:r.i]
			}
			return b
		}
		switch string(key) {
		case "type":
			b.typ = r.text()
		case "text":
			b.text = r.rawText()
		case "id":
			b.id = r.text()
		case "name":
			b.name = r.text()
		case "input":
			b.input = r.raw()
		case "tool_use_id":
			b.toolUseID = r.text()
		case "content":
			b.content = r.raw()
		case "is_error":
			b.isError = r.boolean()
		case "source":
			b.source = r.raw()
		case "title":
			b.title = r.rawText()
		case "context":
			b.context = r.rawText()
		case "thinking":
			b.thinking = r.rawText()
		case "signature":
			b.signature = r.text()
		case "tool_name":
			b.toolName = r.text()
		case "tool":
			b.tool = r.raw()
		default:
			r.skip()
		}
	}
}

// readBlocks reads a content value, a string (one text block) or an array
// of blocks; null is no block.
func readBlocks(r *cursor, into []block) ([]block, error) {
	switch r.peek() {
	case '"':
		raw, _ := r.str()
		return append(into, block{typ: "text", text: raw}), nil
	case '[':
		for range r.elems() {
			into = append(into, readBlock(r))
		}
		return into, nil
	case 'n':
		r.null()
		return into, nil
	}
	r.skip()
	return into, fmt.Errorf("must be a string or an array of content blocks")
}

// part is one part of a user message: text, or an image URL (escaped).
type part struct {
	image bool
	value esc
}

// call is one tool call of an assistant message, as sent upstream.
type call struct {
	id, name string
	input    []byte // the tool_use input, a JSON value
	hasSig   bool   // a thought signature is known for it
	sig      string
}

// messages reads the messages array and converts each message.
func (c *converter) messages(r *cursor) error {
	var first error
	var blocks []block
	for n := range r.elems() {
		var err error
		blocks, err = c.message(r, n, blocks[:0])
		if first == nil {
			first = err
		}
	}
	return first
}

// message reads one message and appends its Chat Completions messages.
// The message is always read whole, also when it is refused.
func (c *converter) message(r *cursor, i int, blocks []block) ([]block, error) {
	path := "messages[" + strconv.Itoa(i) + "]"
	if r.peek() != '{' {
		r.skip()
		return blocks, fmt.Errorf("%s: must be an object", path)
	}
	var role string
	var content []byte
	var err error
	read := false
	for key := range r.members() {
		switch string(key) {
		case "role":
			role = r.text()
		case "content":
			if role != "" {
				// The usual key order: the content is read in place.
				blocks, err = readBlocks(r, blocks)
				read = true
			} else {
				content = r.raw()
			}
		default:
			r.skip()
		}
	}
	if r.err != nil {
		return blocks, nil
	}
	if !read && content != nil {
		sub := cursor{b: content}
		blocks, err = readBlocks(&sub, blocks)
	}
	if err != nil {
		return blocks, fmt.Errorf("%s.content: %w", path, err)
	}
	switch role {
	case "user":
		return blocks, c.user(blocks, path)
	case "assistant":
		return blocks, c.assistant(blocks, path)
	case "system":
		c.systemMessage(blocks)
		return blocks, nil
	}
	return blocks, fmt.Errorf("%s.role: unknown role %q", path, role)
}

// open starts a message in msgs.
func (c *converter) open(role byte) {
	c.spans = append(c.spans, msgSpan{start: len(c.msgs), role: role})
	switch role {
	case 's':
		c.msgs = append(c.msgs, `{"role":"system","content":`...)
	case 'u':
		c.msgs = append(c.msgs, `{"role":"user","content":`...)
	case 'a':
		c.msgs = append(c.msgs, `{"role":"assistant","content":`...)
	case 't':
		c.msgs = append(c.msgs, `{"role":"tool","tool_call_id":`...)
	}
}

// close ends the message open in msgs.
func (c *converter) close() {
	c.msgs = append(c.msgs, '}')
	c.spans[len(c.spans)-1].end = len(c.msgs)
}

// systemMessage converts a role "system" message inside messages: its text
// goes as a system message in place; what is not text is rendered as text
// or dropped (blocks.go).
func (c *converter) systemMessage(blocks []block) {
	texts := c.texts[:0]
	for i := range blocks {
		if t, ok := c.asText(&blocks[i], "a system message"); ok {
			texts = append(texts, t)
		}
	}
	c.open('s')
	c.msgs = appendJoined(c.msgs, texts)
	c.close()
	c.texts = texts[:0]
}

// systemPrompt reads the top-level system prompt: a string or text blocks.
func (c *converter) systemPrompt(r *cursor) error {
	blocks, err := readBlocks(r, nil)
	if err != nil {
		return fmt.Errorf("system: %w", err)
	}
	for i := range blocks {
		b := &blocks[i]
		if b.typ == "text" && isBillingLine(b.text) {
			continue
		}
		if t, ok := c.asText(b, "the system prompt"); ok {
			c.system = append(c.system, t)
		}
	}
	return nil
}

// billingHeader starts the first system block of every Claude Code request
// ("x-anthropic-billing-header: cc_version=…; cch=…;"): accounting for
// Anthropic's API, different on every request. Left in the system prompt it
// would make the prompt's first bytes differ between turns, and no provider
// could reuse its cache of the prompt.
const billingHeader = "x-anthropic-billing-header:"

func isBillingLine(text []byte) bool {
	return len(text) >= len(billingHeader) && string(text[:len(billingHeader)]) == billingHeader
}

// user converts a user turn: tool results first, as tool messages, then the
// other blocks as one user message.
func (c *converter) user(blocks []block, path string) error {
	parts := c.parts[:0]
	hasImage, toolMessages := false, 0
	for j := range blocks {
		b := &blocks[j]
		switch b.typ {
		case "tool_result":
			images, err := c.toolResult(b, path+".content["+strconv.Itoa(j)+"]")
			if err != nil {
				return err
			}
			toolMessages++
			if len(images) > 0 {
				parts = append(parts, part{value: esc("Images returned by tool call " + b.toolUseID + ":")})
				parts = append(parts, images...)
				hasImage = true
			}
		case "image":
			p := c.image(b)
			parts = append(parts, p)
			hasImage = hasImage || p.image
		case "tool_use":
			c.warn("tool_use block in a user turn dropped")
		default:
			if t, ok := c.asText(b, "a user turn"); ok {
				parts = append(parts, part{value: t})
			}
		}
	}
	c.parts = parts[:0]
	// A turn that held only tool results needs no user message; an empty
	// turn is kept as an empty one so the conversation keeps its shape.
	if len(parts) == 0 && toolMessages > 0 {
		return nil
	}
	c.open('u')
	if hasImage {
		c.msgs = append(c.msgs, '[')
		first := true
		for _, p := range parts {
			switch {
			case p.image:
				if !first {
					c.msgs = append(c.msgs, ',')
				}
				c.msgs = append(c.msgs, `{"type":"image_url","image_url":{"url":`...)
				c.msgs = appendRaw(c.msgs, p.value)
				c.msgs = append(c.msgs, `}}`...)
			case len(p.value) > 0: // an empty text part is refused by some servers
				if !first {
					c.msgs = append(c.msgs, ',')
				}
				c.msgs = append(c.msgs, `{"type":"text","text":`...)
				c.msgs = appendRaw(c.msgs, p.value)
				c.msgs = append(c.msgs, '}')
			default:
				continue
			}
			first = false
		}
		c.msgs = append(c.msgs, ']')
	} else {
		c.msgs = append(c.msgs, '"')
		for i, p := range parts {
			if i > 0 {
				c.msgs = append(c.msgs, `\n\n`...)
			}
			c.msgs = append(c.msgs, p.value...)
		}
		c.msgs = append(c.msgs, '"')
	}
	c.close()
	return nil
}

// toolResult writes a tool_result block as a tool message, and returns the
// images it held, which a tool message cannot carry.
func (c *converter) toolResult(b *block, path string) ([]part, error) {
	if b.toolUseID == "" {
		return nil, fmt.Errorf("%s.tool_use_id: missing", path)
	}
	var texts []esc
	var images []part
	if len(b.content) > 0 && b.content[0] == '"' {
		texts = append(texts, b.content[1:len(b.content)-1])
	} else if len(b.content) > 0 {
		sub := cursor{b: b.content}
		inner, err := readBlocks(&sub, nil)
		if err != nil {
			return nil, fmt.Errorf("%s.content: %w", path, err)
		}
		for k := range inner {
			ib := &inner[k]
			if ib.typ == "image" {
				if p := c.image(ib); p.image {
					images = append(images, p)
				} else {
					texts = append(texts, p.value)
				}
				continue
			}
			if t, ok := c.asText(ib, "a tool result"); ok {
				texts = append(texts, t)
			}
		}
	}
	c.open('t')
	c.msgs = appendString(c.msgs, sentToolID(c.fam, b.toolUseID))
	c.msgs = append(c.msgs, `,"content":"`...)
	if b.isError {
		c.msgs = append(c.msgs, "Error: "...)
	}
	for i, t := range texts {
		if i > 0 {
			c.msgs = append(c.msgs, `\n\n`...)
		}
		c.msgs = append(c.msgs, t...)
	}
	c.msgs = append(c.msgs, '"')
	c.close()
	return images, nil
}

// assistant converts an assistant turn: its text, its tool calls, the
// reasoning this package made of an upstream's (reasoning_content), and
// the state this provider attached to it.
func (c *converter) assistant(blocks []block, path string) error {
	texts, reasoning, calls := c.texts[:0], c.reasoning[:0], c.calls[:0]
	c.state = providerState{}
	for j := range blocks {
		b := &blocks[j]
		switch b.typ {
		case "text":
			texts = append(texts, b.text)
		case "thinking":
			c.thinkingBlock(b, &reasoning)
		case "redacted_thinking":
		case "tool_use":
			if b.id == "" || b.name == "" {
				return fmt.Errorf("%s.content[%d]: tool_use without id or name", path, j)
			}
			if len(b.input) > 0 && b.input[0] != '{' && string(b.input) != "null" {
				return fmt.Errorf("%s.content[%d].input: not a JSON object", path, j)
			}
			calls = append(calls, call{id: sentToolID(c.fam, b.id), name: c.upstreamName(b.name), input: b.input})
		case "image", "document", "tool_result":
			c.warn("%s block in an assistant turn dropped", b.typ)
		default:
			if t, ok := c.asText(b, "an assistant turn"); ok {
				texts = append(texts, t)
			}
		}
	}
	c.open('a')
	switch {
	case len(texts) > 0:
		c.msgs = appendJoined(c.msgs, texts)
	case len(calls) > 0:
		c.msgs = append(c.msgs, "null"...)
	default:
		c.msgs = append(c.msgs, `""`...)
	}
	if len(calls) > 0 {
		c.spans[len(c.spans)-1].calls = true
		c.msgs = append(c.msgs, `,"tool_calls":[`...)
		for k := range calls {
			cl := &calls[k]
			if k > 0 {
				c.msgs = append(c.msgs, ',')
			}
			c.msgs = append(c.msgs, `{"id":`...)
			c.msgs = appendString(c.msgs, cl.id)
			c.msgs = append(c.msgs, `,"type":"function","function":{"name":`...)
			c.msgs = appendString(c.msgs, cl.name)
			c.msgs = append(c.msgs, `,"arguments":`...)
			if len(cl.input) == 0 || string(cl.input) == "null" {
				c.msgs = append(c.msgs, `"{}"`...)
			} else {
				c.msgs = appendArguments(c.msgs, cl.input)
			}
			c.msgs = append(c.msgs, '}')
			if sig := c.thoughtSignature(cl.id, k); sig != "" {
				c.msgs = append(c.msgs, `,"extra_content":{"google":{"thought_signature":`...)
				c.msgs = appendString(c.msgs, sig)
				c.msgs = append(c.msgs, `}}`...)
			}
			c.msgs = append(c.msgs, '}')
		}
		c.msgs = append(c.msgs, ']')
	}
	if len(reasoning) > 0 {
		c.msgs = append(c.msgs, `,"reasoning_content":`...)
		c.msgs = appendJoined(c.msgs, reasoning)
	}
	if len(c.state.ReasoningDetails) > 0 && c.fam.state.reasoningDetails {
		c.msgs = append(c.msgs, `,"reasoning_details":[`...)
		for k, d := range c.state.ReasoningDetails {
			if k > 0 {
				c.msgs = append(c.msgs, ',')
			}
			c.msgs = append(c.msgs, d...)
		}
		c.msgs = append(c.msgs, ']')
	}
	c.close()
	c.texts, c.reasoning, c.calls = texts[:0], reasoning[:0], calls[:0]
	return nil
}

// thinkingBlock takes a thinking block of the history: reasoning this
// package made of an upstream's (no signature) goes back as
// reasoning_content; a block carrying this provider's state gives it back;
// any other (Anthropic's own thinking, another provider's state) means
// nothing here and is dropped.
func (c *converter) thinkingBlock(b *block, reasoning *[]esc) {
	if b.signature == "" {
		if len(b.thinking) > 0 {
			*reasoning = append(*reasoning, b.thinking)
		}
		return
	}
	st, ours := decodeState(b.signature, c.fam.Name, c.opts.Provider)
	switch {
	case st != nil:
		c.state.merge(st)
	case ours:
		c.warn("provider state of another provider dropped")
	}
}

// thoughtSignature returns the thought signature to send with the k-th tool
// call of an assistant turn: the one its answer carried, or the family's
// sentinel for the first call of a turn that has none (a call another model
// made, which Gemini's thinking models would otherwise refuse).
func (c *converter) thoughtSignature(id string, k int) string {
	if !c.fam.state.thoughtSignatures {
		return ""
	}
	if sig, ok := c.state.Signatures[id]; ok {
		return sig
	}
	if k == 0 {
		return c.fam.sentinelSignature
	}
	return ""
}

// upstreamName returns the name a client tool name goes upstream with, and
// remembers a changed one for the answer.
func (c *converter) upstreamName(name string) string {
	up := c.fam.toolNames.upstreamName(name)
	if up != name {
		if c.names == nil {
			c.names = map[string]string{}
		}
		c.names[up] = name
	}
	return up
}
