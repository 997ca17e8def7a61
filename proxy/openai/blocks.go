package openai

import (
	"strings"

	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
)

// How each content block type of the Messages API (the official SDK's
// ContentBlockParamUnion, its beta twin, and the content of tool_result)
// reaches a Chat Completions provider. No block type fails a request: where
// Chat Completions has an equivalent the block is converted, otherwise it
// is rendered as text the model can read, or dropped with a warning when
// there is nothing to read.
//
//	text                          text
//	image (base64, url)           an image_url part; inside a tool result it
//	                              goes into the user message after the tool
//	                              messages; a file source, or an image in an
//	                              assistant turn or system text, becomes
//	                              "[image omitted: …]"
//	document                      <document title="…">text</document>; a
//	                              PDF or file source becomes a note that it
//	                              was omitted, a URL source its URL
//	search_result                 <search_result title="…" source="…">text</search_result>
//	tool_use / tool_result        assistant tool_calls / tool messages
//	tool_reference (in a result)  "Tool loaded: NAME", and the deferred tool
//	                              NAME is sent from then on
//	tool_addition / tool_removal  "Tool added: NAME" / "Tool removed: NAME",
//	                              and NAME is sent / no longer sent
//	thinking                      reasoning_content (this package's own, no
//	                              signature), the provider's state (state.go),
//	                              or dropped (Anthropic's signed thinking)
//	redacted_thinking             dropped: encrypted for Anthropic alone
//	server_tool_use, mcp_tool_use "[server tool NAME called with INPUT]"
//	*_tool_result, mcp_tool_result, browser_state
//	                              "[TYPE]" and the result's text fields
//	                              (title, url, text, stdout, stderr, …)
//	compaction                    its summary text; dropped when it is
//	                              encrypted only
//	container_upload, mcp_tool_listing, fallback
//	                              dropped: nothing a model elsewhere can use
//	any other type                its "text" when it has one, else dropped
//
// Dropped blocks are named in a warning; rendered ones are not (they are the
// documented conversion).

// asText returns a block as text, by the rules above; ok is false when it is
// dropped. where names the place, for warnings.
func (c *converter) asText(b *block, where string) (esc, bool) {
	switch b.typ {
	case "text":
		return b.text, true
	case "document":
		return c.document(b), true
	case "search_result":
		return c.searchResult(b), true
	case "image":
		p := c.image(b)
		if p.image {
			c.warn("image in %s dropped: only user messages take images", where)
			return nil, false
		}
		return p.value, true
	case "tool_reference":
		c.load(b.toolName, true)
		return esc("Tool loaded: " + escapeString(b.toolName)), true
	case "tool_addition", "tool_removal":
		name := toolChangeName(b.tool)
		if name == "" {
			return nil, false
		}
		c.load(name, b.typ == "tool_addition")
		if b.typ == "tool_addition" {
			return esc("Tool added: " + escapeString(name)), true
		}
		return esc("Tool removed: " + escapeString(name)), true
	case "thinking", "redacted_thinking":
		return nil, false
	case "server_tool_use", "mcp_tool_use":
		return c.serverToolUse(b), true
	case "compaction":
		if len(b.content) > 1 && b.content[0] == '"' {
			return b.content[1 : len(b.content)-1], true
		}
		c.warn("compaction block without a summary text dropped")
		return nil, false
	case "container_upload", "mcp_tool_listing", "fallback":
		c.warn("%s block dropped: nothing a model of this provider can use", b.typ)
		return nil, false
	case "browser_state", "mcp_tool_result":
		return c.serverToolResult(b), true
	}
	if strings.HasSuffix(b.typ, "_tool_result") {
		if b.typ == "tool_search_tool_result" {
			c.loadSearched(b.content)
		}
		return c.serverToolResult(b), true
	}
	if b.text != nil {
		return b.text, true
	}
	c.warn("%s block dropped: unknown block type", b.typ)
	return nil, false
}

// load marks a tool loaded or removed by the history.
func (c *converter) load(name string, loaded bool) {
	if name == "" {
		return
	}
	if c.loaded == nil {
		c.loaded = map[string]bool{}
	}
	c.loaded[name] = loaded
}

// toolChangeName reads the tool a tool_addition or tool_removal names:
// {"type":"tool_reference","name":…}.
func toolChangeName(raw []byte) string {
	r := cursor{b: raw}
	if r.peek() != '{' {
		return ""
	}
	name := ""
	for key := range r.members() {
		if string(key) == "name" {
			name = r.text()
		} else {
			r.skip()
		}
	}
	return name
}

// loadSearched marks the tools a tool_search_tool_result loaded: its
// content's tool_references.
func (c *converter) loadSearched(raw []byte) {
	walkStrings(raw, func(key, value string) {
		if key == "tool_name" {
			c.load(value, true)
		}
	})
}

// image returns an image block as an image part, or, for a source that
// Chat Completions cannot take, as a text part saying so.
func (c *converter) image(b *block) part {
	src := readSource(b.source)
	switch {
	case src.typ == "base64" && src.media != "" && len(src.data) > 0:
		v := make([]byte, 0, len("data:;base64,")+len(src.media)+len(src.data))
		v = append(v, "data:"...)
		v = append(v, escapeString(src.media)...)
		v = append(v, ";base64,"...)
		return part{image: true, value: append(v, src.data...)}
	case src.typ == "url" && len(src.url) > 0:
		return part{image: true, value: src.url}
	}
	var what string
	switch src.typ {
	case "":
		what = "without a source"
	case "base64":
		what = "without data or media_type"
	default:
		what = "from a " + src.typ + " source"
	}
	c.warn("image %s sent as a note: the provider cannot read it", what)
	return part{value: esc("[image omitted: " + escapeString(what) + "]")}
}

// source is the source object of an image or document block: its type
// (base64, url, text, content, file), media_type, data and url as JSON
// string content, and content as raw JSON.
type source struct {
	typ, media         string
	data, url, content []byte
}

// readSource reads a block's source object; an absent or malformed one has
// no type.
func readSource(raw []byte) source {
	var s source
	r := cursor{b: raw}
	if r.peek() != '{' {
		return s
	}
	for key := range r.members() {
		switch string(key) {
		case "type":
			s.typ = r.text()
		case "media_type":
			s.media = r.text()
		case "data":
			s.data = r.rawText()
		case "url":
			s.url = r.rawText()
		case "content":
			s.content = r.raw()
		default:
			r.skip()
		}
	}
	return s
}

// document renders a document block as text.
func (c *converter) document(b *block) esc {
	var out []byte
	out = append(out, "<document"...)
	if len(b.title) > 0 {
		out = append(out, ` title=\"`...)
		out = append(out, b.title...)
		out = append(out, `\"`...)
	}
	out = append(out, `>\n`...)
	if len(b.context) > 0 {
		out = append(out, b.context...)
		out = append(out, `\n\n`...)
	}
	src := readSource(b.source)
	typ, media, data, url, content := src.typ, src.media, src.data, src.url, src.content
	switch typ {
	case "":
		c.warn("document without source sent as an empty document")
	case "text":
		out = append(out, data...)
		c.warn("document sent as plain text")
	case "content":
		if len(content) > 0 && content[0] == '"' {
			out = append(out, content[1:len(content)-1]...)
		} else {
			sub := cursor{b: content}
			blocks, _ := readBlocks(&sub, nil)
			first := true
			for i := range blocks {
				if blocks[i].typ == "text" {
					if !first {
						out = append(out, `\n\n`...)
					}
					out = append(out, blocks[i].text...)
					first = false
				}
			}
		}
		c.warn("document sent as plain text")
	case "url":
		out = append(out, "Document at "...)
		out = append(out, url...)
		c.warn("document sent as its URL only: the provider cannot fetch documents")
	default:
		what := "document from a " + typ + " source"
		if media != "" {
			what = media + " document"
		}
		out = append(out, '[')
		out = append(out, escapeString(what)...)
		out = append(out, " omitted: the provider cannot read it]"...)
		c.warn("%s omitted: the provider cannot read it", what)
	}
	return append(out, `\n</document>`...)
}

// searchResult renders a search_result block as text.
func (c *converter) searchResult(b *block) esc {
	var out []byte
	out = append(out, "<search_result"...)
	if len(b.title) > 0 {
		out = append(out, ` title=\"`...)
		out = append(out, b.title...)
		out = append(out, `\"`...)
	}
	// A search result's source is a string (its URL or name).
	if len(b.source) > 1 && b.source[0] == '"' {
		out = append(out, ` source=\"`...)
		out = append(out, b.source[1:len(b.source)-1]...)
		out = append(out, `\"`...)
	}
	out = append(out, `>\n`...)
	sub := cursor{b: b.content}
	blocks, _ := readBlocks(&sub, nil)
	first := true
	for i := range blocks {
		if blocks[i].typ != "text" {
			continue
		}
		if !first {
			out = append(out, `\n\n`...)
		}
		out = append(out, blocks[i].text...)
		first = false
	}
	return append(out, `\n</search_result>`...)
}

// serverToolUse renders a call of a tool that ran on Anthropic's side
// (web search, code execution, an MCP server), which no other provider can
// continue, as a note of what was called.
func (c *converter) serverToolUse(b *block) esc {
	out := []byte("[server tool " + escapeString(b.name) + " called with ")
	if len(b.input) == 0 {
		out = append(out, "{}"...)
	} else {
		arg := appendArguments(nil, b.input)
		out = append(out, arg[1:len(arg)-1]...)
	}
	return append(out, ']')
}

// serverToolResult renders the result of a server tool as "[TYPE]" and the
// text fields it holds, one "key: value" line each (encrypted fields are
// left out); a fetched page (web_fetch_tool_result) as its document.
func (c *converter) serverToolResult(b *block) esc {
	out := []byte("[" + escapeString(b.typ) + "]")
	if len(b.content) > 0 && b.content[0] == '"' {
		out = append(out, `\n`...)
		return append(out, b.content[1:len(b.content)-1]...)
	}
	if doc := fetchedDocument(b.content); doc.typ == "document" {
		out = append(out, `\n`...)
		return append(out, c.document(&doc)...)
	}
	walkStrings(b.raw, func(key, value string) {
		switch key {
		case "title", "url", "text", "stdout", "stderr", "content", "error_code", "tool_name", "query", "page_age", "return_code":
			out = append(out, `\n`...)
			out = append(out, key...)
			out = append(out, ": "...)
			out = append(out, escapeString(value)...)
		}
	})
	return out
}

// fetchedDocument returns the document of a web_fetch_result: content's
// "content" member, a document block.
func fetchedDocument(content []byte) block {
	r := cursor{b: content}
	if r.peek() != '{' {
		return block{}
	}
	var doc block
	for key := range r.members() {
		if string(key) == "content" && r.peek() == '{' {
			doc = readBlock(&r)
		} else {
			r.skip()
		}
	}
	return doc
}

// walkStrings calls fn for every member of every object in a JSON value
// whose value is a string or a number, in document order.
func walkStrings(raw []byte, fn func(key, value string)) {
	r := cursor{b: raw}
	var walk func(depth int)
	walk = func(depth int) {
		if depth > 64 {
			r.skip()
			return
		}
		switch r.peek() {
		case '{':
			for key := range r.members() {
				switch p := r.peek(); {
				case p == '"':
					fn(string(key), r.text())
				case p == '-' || p >= '0' && p <= '9':
					fn(string(key), string(r.number()))
				default:
					walk(depth + 1)
				}
			}
			return
		case '[':
			for range r.elems() {
				walk(depth + 1)
			}
		default:
			r.skip()
		}
	}
	walk(0)
}

// escapeString returns s escaped as JSON string content.
func escapeString(s string) string {
	return string(anthropic.AppendEscaped(nil, s))
}
