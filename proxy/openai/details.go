package openai

import (
	"encoding/json"
	"strconv"
)

// detail is one entry of OpenRouter's reasoning_details, merged from the
// fragments of a stream: fragments of one entry share its index (entries
// without one are told apart by position); their text, summary and data
// strings are concatenated, and every other field keeps its last non-null
// value ("the complete reasoning sequence is built by concatenating all
// chunks in order", OpenRouter's reasoning tokens guide).
type detail struct {
	index  int64
	fields map[string]json.RawMessage
	joined map[string]string
}

// concatenated are the fields whose fragments are joined.
var concatenated = map[string]bool{"text": true, "summary": true, "data": true}

// addDetails merges a reasoning_details array (a chunk's fragments, or a
// whole message's entries) into the answer's.
func (c *StreamConverter) addDetails(raw []byte) {
	var entries []map[string]json.RawMessage
	if json.Unmarshal(raw, &entries) != nil {
		c.warnf("reasoning_details that are not an array of objects dropped")
		return
	}
	for _, e := range entries {
		idx := int64(len(c.details))
		if v, ok := e["index"]; ok {
			if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
				idx = n
			}
		}
		var d *detail
		for i := range c.details {
			if c.details[i].index == idx {
				d = &c.details[i]
			}
		}
		if d == nil {
			c.details = append(c.details, detail{index: idx, fields: map[string]json.RawMessage{}, joined: map[string]string{}})
			d = &c.details[len(c.details)-1]
		}
		for k, v := range e {
			if string(v) == "null" {
				continue
			}
			var s string
			if concatenated[k] && json.Unmarshal(v, &s) == nil {
				d.joined[k] += s
				continue
			}
			d.fields[k] = v
		}
	}
}

// encode returns the merged entry as JSON.
func (d *detail) encode() json.RawMessage {
	m := make(map[string]any, len(d.fields)+len(d.joined))
	for k, v := range d.fields {
		m[k] = v
	}
	for k, v := range d.joined {
		m[k] = v
	}
	b, _ := json.Marshal(m) // strings and raw JSON: cannot fail
	return b
}
