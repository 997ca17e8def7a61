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
			want.StreamMember = got.StreamMember
			checkMember(t, body, got.StreamMember, "stream", raw)
		}
		if raw, ok := top["metadata"]; ok {
			want.Metadata = got.Metadata
			checkMember(t, body, got.Metadata, "metadata", raw)
		}
		// The signature is the body as an object with the same members,
		// metadata and stream aside (TestWriteSignature has their removal;
		// of duplicate keys only the last, the one a decoder keeps, goes).
		var sig bytes.Buffer
		WriteSignature(&sig, body, got)
		var signed map[string]json.RawMessage
		if err := json.Unmarshal(sig.Bytes(), &signed); err != nil {
			t.Fatalf("WriteSignature(%q) = %q, not an object: %v", body, sig.Bytes(), err)
		}
		for _, k := range []string{"metadata", "stream"} {
			delete(top, k)
			delete(signed, k)
		}
		if diff := cmp.Diff(compactAll(top), compactAll(signed)); diff != "" {
			t.Errorf("WriteSignature(%q) (-want +got):\n%s", body, diff)
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

// checkMember checks that span holds the member named name whose value is
// raw: a key that decodes to name, a colon, the value.
func checkMember(t *testing.T, body []byte, span Span, name string, raw json.RawMessage) {
	t.Helper()
	m := body[span.Start:span.End]
	if !bytes.HasSuffix(m, raw) {
		t.Fatalf("%s span %q does not end with its value %q", name, m, raw)
	}
	key := bytes.TrimRight(m[:len(m)-len(raw)], " \t\r\n")
	key = bytes.TrimRight(bytes.TrimSuffix(key, []byte(":")), " \t\r\n")
	var k string
	if err := json.Unmarshal(key, &k); err != nil || k != name {
		t.Fatalf("%s span %q starts with key %q (%v)", name, m, key, err)
	}
}

// compactAll compacts every value, so that objects compare by content.
func compactAll(m map[string]json.RawMessage) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		var b bytes.Buffer
		if err := json.Compact(&b, v); err != nil {
			out[k] = string(v)
			continue
		}
		out[k] = b.String()
	}
	return out
}
