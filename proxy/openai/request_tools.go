package openai

import (
	"errors"
	"fmt"
)

// toolDef is one tool definition of the request.
type toolDef struct {
	typ      string
	name     string
	desc     []byte // escaped; nil when absent
	schema   []byte // input_schema, a JSON value
	deferred bool   // defer_loading: sent once the history loads it
}

// toolChoice is the request's tool_choice.
type toolChoice struct {
	set             bool
	typ, name       string
	disableParallel bool
}

func (c *converter) toolDefs(r *cursor) error {
	if r.peek() != '[' {
		r.skip()
		return errors.New("tools: must be an array")
	}
	for range r.elems() {
		var t toolDef
		if r.peek() != '{' {
			r.skip()
			c.tools = append(c.tools, t)
			continue
		}
		for key := range r.members() {
			switch string(key) {
			case "type":
				t.typ = r.text()
			case "name":
				t.name = r.text()
			case "description":
				t.desc = r.rawText()
			case "input_schema":
				t.schema = r.raw()
			case "defer_loading":
				t.deferred = r.boolean()
			default:
				r.skip()
			}
		}
		c.tools = append(c.tools, t)
	}
	return nil
}

func (c *converter) toolChoice(r *cursor) error {
	if r.null() {
		return nil
	}
	if r.peek() != '{' {
		r.skip()
		return errors.New("tool_choice: must be an object")
	}
	c.choice.set = true
	for key := range r.members() {
		switch string(key) {
		case "type":
			c.choice.typ = r.text()
		case "name":
			c.choice.name = r.text()
		case "disable_parallel_tool_use":
			c.choice.disableParallel = r.boolean()
		default:
			r.skip()
		}
	}
	return nil
}

// appendTools writes the function tools and the tool choice. Server tools
// (no input_schema) are dropped: Chat Completions takes only functions.
// Deferred tools are sent once a tool_reference or tool_addition in the
// history has loaded them; a tool_removal takes a tool out.
func (c *converter) appendTools(out []byte) ([]byte, error) {
	sent := 0
	for i := range c.tools {
		t := &c.tools[i]
		if len(t.schema) == 0 || string(t.schema) == "null" {
			c.warn("server tool %q (type %q) dropped: Chat Completions takes only functions", t.name, t.typ)
			continue
		}
		if t.name == "" {
			return nil, fmt.Errorf("tools[%d].name: missing", i)
		}
		if loaded, known := c.loaded[t.name]; known && !loaded || !known && t.deferred {
			continue
		}
		if sent == 0 {
			out = append(out, `,"tools":[`...)
		} else {
			out = append(out, ',')
		}
		sent++
		out = append(out, `{"type":"function","function":{"name":`...)
		out = appendString(out, c.upstreamName(t.name))
		if t.desc != nil {
			out = append(out, `,"description":`...)
			out = appendRaw(out, t.desc)
		}
		out = append(out, `,"parameters":`...)
		if c.fam.schemaSubset {
			out = appendSchemaSubset(out, t.schema, 0)
		} else {
			out = append(out, t.schema...)
		}
		out = append(out, `}}`...)
	}
	if sent > 0 {
		out = append(out, ']')
	}
	ch := c.choice
	if !ch.set {
		return out, nil
	}
	if sent == 0 {
		if len(c.tools) > 0 {
			c.warn("tool_choice dropped: no function tools left")
		}
		return out, nil
	}
	switch ch.typ {
	case "auto":
		out = append(out, `,"tool_choice":"auto"`...)
	case "any":
		out = append(out, `,"tool_choice":"required"`...)
	case "none":
		out = append(out, `,"tool_choice":"none"`...)
	case "tool":
		if ch.name == "" {
			return nil, errors.New("tool_choice.name: missing")
		}
		out = append(out, `,"tool_choice":{"type":"function","function":{"name":`...)
		out = appendString(out, c.upstreamName(ch.name))
		out = append(out, `}}`...)
	default:
		return nil, fmt.Errorf("tool_choice.type: unknown value %q", ch.typ)
	}
	if ch.disableParallel && ch.typ != "none" && !c.fam.noParallelToolCalls {
		out = append(out, `,"parallel_tool_calls":false`...)
	}
	return out, nil
}

// geminiSchemaKeywords are the JSON Schema keywords Gemini's function
// declarations take (its OpenAPI subset); any other ($schema,
// additionalProperties, propertyNames, const, ...) is refused with "Invalid
// JSON payload received. Unknown name".
var geminiSchemaKeywords = map[string]bool{
	"type": true, "format": true, "title": true, "description": true, "nullable": true, "enum": true,
	"items": true, "maxItems": true, "minItems": true, "properties": true, "required": true,
	"minProperties": true, "maxProperties": true, "minLength": true, "maxLength": true, "pattern": true,
	"example": true, "anyOf": true, "propertyOrdering": true, "default": true, "minimum": true, "maximum": true,
}

// appendSchemaSubset writes a JSON Schema with only the keywords Gemini
// takes: others are left out, at every level (properties, items, anyOf);
// a list of types (["string","null"]) becomes its first non-null type and
// nullable.
func appendSchemaSubset(out, schema []byte, depth int) []byte {
	r := cursor{b: schema}
	if r.peek() != '{' || depth > 64 {
		return append(out, schema...)
	}
	out = append(out, '{')
	first := true
	member := func(key string) {
		if !first {
			out = append(out, ',')
		}
		first = false
		out = appendString(out, key)
		out = append(out, ':')
	}
	for key := range r.members() {
		k := string(key)
		switch {
		case !geminiSchemaKeywords[k]:
			r.skip()
		case k == "properties" && r.peek() == '{':
			member(k)
			r.object()
			out = append(out, '{')
			m := 0
			for {
				name, ok := r.key(&m)
				if !ok {
					break
				}
				if m > 1 {
					out = append(out, ',')
				}
				out = appendString(out, string(name))
				out = append(out, ':')
				out = appendSchemaSubset(out, r.raw(), depth+1)
			}
			out = append(out, '}')
		case k == "items" && r.peek() == '{':
			member(k)
			out = appendSchemaSubset(out, r.raw(), depth+1)
		case k == "anyOf" && r.peek() == '[':
			member(k)
			out = append(out, '[')
			for m := range r.elems() {
				if m > 0 {
					out = append(out, ',')
				}
				out = appendSchemaSubset(out, r.raw(), depth+1)
			}
			out = append(out, ']')
		case k == "type" && r.peek() == '[':
			typ, nullable := "", false
			for range r.elems() {
				switch t := r.text(); {
				case t == "null":
					nullable = true
				case typ == "":
					typ = t
				}
			}
			if typ != "" {
				member("type")
				out = appendString(out, typ)
			}
			if nullable {
				member("nullable")
				out = append(out, "true"...)
			}
		default:
			member(k)
			out = append(out, r.raw()...)
		}
	}
	return append(out, '}')
}
