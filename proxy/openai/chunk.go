package openai

import (
	"unicode/utf16"
	"unicode/utf8"
)

// chatChunk is one chat.completion.chunk of a stream, or a whole
// chat.completion (whose choices carry message where a chunk's carry
// delta), read by readChunk. Its slices are reused from chunk to chunk.
type chatChunk struct {
	scratch  []byte // unescaped arguments of this chunk's tool calls
	id       []byte // escaped
	choices  []chunkChoice
	usage    chatUsage
	hasUsage bool
	err      []byte // the error member, a JSON value; nil when absent
}

type chunkChoice struct {
	index  int64
	delta  chunkDelta
	finish string // "" when absent or null
}

// chunkDelta is the incremental content of a choice. Reasoning arrives as
// reasoning_content (DeepSeek, vLLM, llama.cpp) or reasoning (OpenRouter,
// Ollama), and OpenRouter adds reasoning_details; content is a string, or
// (Mistral's reasoning models) an array of text and thinking parts; tool
// calls come as tool_calls or, from old servers, function_call.
type chunkDelta struct {
	content          []byte // escaped
	contentText      string // from an array of parts
	contentThinking  string // from an array of parts
	reasoning        []byte // escaped
	refusal          []byte // escaped
	toolCalls        []chunkToolCall
	functionCall     *chunkToolCall
	reasoningDetails []byte // a JSON array
}

type chunkToolCall struct {
	index    int64
	hasIndex bool
	id       string
	name     string
	args     []byte // a fragment of the arguments string (unescaped), or an object's JSON
	// thoughtSig is Gemini's extra_content.google.thought_signature.
	thoughtSig string
}

type chatUsage struct {
	PromptTokens     int64
	CompletionTokens int64
	// CachedTokens is prompt_tokens_details.cached_tokens, or DeepSeek's
	// prompt_cache_hit_tokens.
	CachedTokens int64
}

// readChunk reads one chunk (or whole completion) into ch.
func readChunk(data []byte, ch *chatChunk) error {
	for i := range ch.choices {
		ch.choices[i].delta.toolCalls = ch.choices[i].delta.toolCalls[:0]
	}
	*ch = chatChunk{choices: ch.choices[:0], scratch: ch.scratch[:0]}
	r := cursor{b: data}
	if r.peek() != '{' {
		r.fail("a chunk must be a JSON object")
		return r.err
	}
	for key := range r.members() {
		switch string(key) {
		case "id":
			ch.id = r.rawText()
		case "choices":
			if r.peek() != '[' {
				r.skip()
				continue
			}
			for range r.elems() {
				ch.choices = readChoice(&r, ch.choices, &ch.scratch)
			}
		case "usage":
			ch.hasUsage = readUsage(&r, &ch.usage)
		case "error":
			if !r.null() {
				ch.err = r.raw()
			}
		default:
			r.skip()
		}
	}
	r.end()
	return r.err
}

func readChoice(r *cursor, choices []chunkChoice, scratch *[]byte) []chunkChoice {
	if r.peek() != '{' {
		r.skip()
		return choices
	}
	var calls []chunkToolCall
	if len(choices) < cap(choices) {
		calls = choices[:len(choices)+1][len(choices)].delta.toolCalls[:0]
	}
	choices = append(choices, chunkChoice{})
	ch := &choices[len(choices)-1]
	ch.delta.toolCalls = calls
	for key := range r.members() {
		switch string(key) {
		case "index":
			ch.index, _ = r.int()
		case "delta", "message":
			readDelta(r, &ch.delta, scratch)
		case "finish_reason":
			if !r.null() {
				ch.finish = r.text()
			}
		default:
			r.skip()
		}
	}
	return choices
}

func readDelta(r *cursor, d *chunkDelta, scratch *[]byte) {
	if r.peek() != '{' {
		r.skip()
		return
	}
	for key := range r.members() {
		switch string(key) {
		case "content":
			switch r.peek() {
			case '"':
				d.content, _ = r.str()
			case '[':
				readContentParts(r, d)
			default:
				if !r.null() {
					r.fail("content must be a string, an array of parts or null")
				}
			}
		case "reasoning_content":
			if t := r.rawText(); len(t) > 0 {
				d.reasoning = t
			}
		case "reasoning":
			// A provider that sends both carries the same text twice.
			if t := r.rawText(); len(t) > 0 && len(d.reasoning) == 0 {
				d.reasoning = t
			}
		case "refusal":
			d.refusal = r.rawText()
		case "tool_calls":
			if r.peek() != '[' {
				r.skip()
				continue
			}
			for range r.elems() {
				var tc chunkToolCall
				if readToolCall(r, &tc, scratch) {
					d.toolCalls = append(d.toolCalls, tc)
				}
			}
		case "function_call":
			var tc chunkToolCall
			if r.peek() == '{' && readFunction(r, &tc, scratch) {
				d.functionCall = &tc
			} else {
				r.skip()
			}
		case "reasoning_details":
			if r.peek() == '[' {
				d.reasoningDetails = r.raw()
			} else {
				r.skip()
			}
		default:
			r.skip()
		}
	}
	return
}

// readContentParts reads content given as an array of parts: text parts,
// and thinking parts whose thinking is a string or an array of text parts.
func readContentParts(r *cursor, d *chunkDelta) {
	for range r.elems() {
		if r.peek() != '{' {
			r.skip()
			continue
		}
		var typ, text, thinking string
		for key := range r.members() {
			switch string(key) {
			case "type":
				typ = r.text()
			case "text":
				text = r.text()
			case "thinking":
				thinking = partsText(r)
			default:
				r.skip()
			}
		}
		switch typ {
		case "text":
			d.contentText += text
		case "thinking":
			d.contentThinking += thinking
		}
	}
}

// partsText reads a string, or an array of text parts, as text.
func partsText(r *cursor) string {
	switch r.peek() {
	case '"':
		return r.text()
	case '[':
		var s string
		for range r.elems() {
			if r.peek() != '{' {
				r.skip()
				continue
			}
			for key := range r.members() {
				if string(key) == "text" {
					s += r.text()
				} else {
					r.skip()
				}
			}
		}
		return s
	}
	r.skip()
	return ""
}

// readToolCall reads one element of tool_calls.
func readToolCall(r *cursor, tc *chunkToolCall, scratch *[]byte) bool {
	if r.peek() != '{' {
		r.skip()
		return false
	}
	for key := range r.members() {
		switch string(key) {
		case "index":
			tc.index, tc.hasIndex = r.int()
		case "id":
			tc.id = r.text()
		case "function":
			if r.peek() == '{' {
				readFunction(r, tc, scratch)
			} else {
				r.skip()
			}
		case "extra_content":
			tc.thoughtSig = readThoughtSignature(r)
		default:
			r.skip()
		}
	}
	return true
}

// readFunction reads a function object: its name and arguments. Arguments
// are a string on the wire; a few servers send the object itself, which is
// kept as its JSON text.
func readFunction(r *cursor, tc *chunkToolCall, scratch *[]byte) bool {
	for key := range r.members() {
		switch string(key) {
		case "name":
			tc.name = r.text()
		case "arguments":
			switch r.peek() {
			case '"':
				raw, esc := r.str()
				if esc {
					start := len(*scratch)
					*scratch = appendUnescaped(*scratch, raw)
					tc.args = (*scratch)[start:]
				} else {
					tc.args = raw
				}
			case 'n':
				r.null()
			default:
				tc.args = r.raw()
			}
		default:
			r.skip()
		}
	}
	return true
}

// readThoughtSignature reads extra_content: {"google":{"thought_signature":…}}.
func readThoughtSignature(r *cursor) string {
	sig := ""
	if r.peek() != '{' {
		r.skip()
		return ""
	}
	for key := range r.members() {
		if string(key) != "google" || r.peek() != '{' {
			r.skip()
			continue
		}
		for k := range r.members() {
			if string(k) == "thought_signature" {
				sig = r.text()
			} else {
				r.skip()
			}
		}
	}
	return sig
}

func readUsage(r *cursor, u *chatUsage) bool {
	if r.peek() != '{' {
		r.skip()
		return false
	}
	for key := range r.members() {
		switch string(key) {
		case "prompt_tokens":
			u.PromptTokens, _ = r.int()
		case "completion_tokens":
			u.CompletionTokens, _ = r.int()
		case "prompt_cache_hit_tokens":
			if v, _ := r.int(); u.CachedTokens == 0 {
				u.CachedTokens = v
			}
		case "prompt_tokens_details":
			if r.peek() != '{' {
				r.skip()
				continue
			}
			for k := range r.members() {
				if v, _ := r.int(); string(k) == "cached_tokens" && v > 0 {
					u.CachedTokens = v
				}
			}
		default:
			r.skip()
		}
	}
	return true
}

// appendUnescaped appends the value of a string's raw content (validated)
// to dst: the common escapes by hand, surrogate pairs joined, a lone
// surrogate as U+FFFD (as encoding/json decodes it).
func appendUnescaped(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		ch := raw[i]
		if ch != '\\' {
			dst = append(dst, ch)
			continue
		}
		i++
		switch raw[i] {
		case 'n':
			dst = append(dst, '\n')
		case 't':
			dst = append(dst, '\t')
		case 'r':
			dst = append(dst, '\r')
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'u':
			r := hex4(raw[i+1 : i+5])
			i += 4
			if utf16.IsSurrogate(r) {
				if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
					if r2 := hex4(raw[i+3 : i+7]); utf16.DecodeRune(r, r2) != utf8.RuneError {
						dst = utf8.AppendRune(dst, utf16.DecodeRune(r, r2))
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/'
			dst = append(dst, raw[i])
		}
	}
	return dst
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}

// decoded returns the value of a string's raw content.
func decoded(raw []byte) string {
	for _, c := range raw {
		if c == '\\' {
			return string(appendUnescaped(make([]byte, 0, len(raw)), raw))
		}
	}
	return string(raw)
}
