package anthropic

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzPeek holds Peek to encoding/json, which decodes keys as the Messages
// API does (escapes resolved, case kept, the last of duplicate keys wins).
// On every body Peek accepts exactly what json.Unmarshal accepts as an
// object (but for nesting past maxDepth and a model that is not a string,
// which Peek refuses on purpose), and its fields are what the decoded object
// holds: model, stream and messages, spans included. UnsignedThinking may
// say yes when there is nothing to strip, never no when there is. Seeds are
// in testdata/fuzz/FuzzPeek.
func FuzzPeek(f *testing.F) {
	for _, bb := range benchBodies {
		f.Add(bb.body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := Peek(body)
		var top map[string]json.RawMessage
		jerr := json.Unmarshal(body, &top)
		if err != nil {
			if !IsSyntaxError(err) {
				t.Fatalf("Peek(%q) error %v is not a *SyntaxError", body, err)
			}
			if jerr == nil && top != nil && isString(top["model"]) && nesting(body) <= maxDepth {
				t.Fatalf("Peek refused %q (%v); encoding/json decodes it", body, err)
			}
			return
		}
		if jerr != nil || top == nil {
			t.Fatalf("Peek accepted %q; encoding/json: %v (an object: %v)", body, jerr, top != nil)
		}
		want := Fields{UnsignedThinking: got.UnsignedThinking}
		if raw, ok := top["model"]; ok {
			if err := json.Unmarshal(raw, &want.Model); err != nil {
				t.Fatalf("Peek accepted %q whose model %s is not a string", body, raw)
			}
			want.HasModel = true
			want.ModelStart, want.ModelEnd = got.ModelStart, got.ModelEnd
			if !bytes.Equal(body[got.ModelStart:got.ModelEnd], raw) {
				t.Errorf("model span %q, want %q", body[got.ModelStart:got.ModelEnd], raw)
			}
		}
		if raw, ok := top["stream"]; ok {
			want.Stream = string(raw) == "true"
		}
		if raw, ok := top["messages"]; ok {
			want.HasMessages = raw[0] == '['
			want.MessagesStart, want.MessagesEnd = got.MessagesStart, got.MessagesEnd
			if !bytes.Equal(body[got.MessagesStart:got.MessagesEnd], raw) {
				t.Errorf("messages span %q, want %q", body[got.MessagesStart:got.MessagesEnd], raw)
			}
			if !got.UnsignedThinking && hasEmptySignature(raw) {
				t.Errorf("UnsignedThinking false, but the messages hold a \"signature\":\"\"")
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("Peek(%q) (-encoding/json +Peek):\n%s", body, diff)
		}
	})
}

// isString reports whether raw, if present, is a JSON string.
func isString(raw json.RawMessage) bool { return len(raw) == 0 || raw[0] == '"' }

// nesting returns the deepest nesting of arrays and objects in a JSON text.
func nesting(body []byte) int {
	dec := json.NewDecoder(bytes.NewReader(body))
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return deepest
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			deepest = max(deepest, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

// hasEmptySignature reports whether some object in v has "signature": "".
func hasEmptySignature(raw json.RawMessage) bool {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false
	}
	var walk func(any) bool
	walk = func(v any) bool {
		switch v := v.(type) {
		case map[string]any:
			if sig, ok := v["signature"].(string); ok && sig == "" {
				return true
			}
			for _, x := range v {
				if walk(x) {
					return true
				}
			}
		case []any:
			for _, x := range v {
				if walk(x) {
					return true
				}
			}
		}
		return false
	}
	return walk(v)
}
