package anthropic

import (
	"bytes"
	"testing"
)

func TestWriteSignature(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"no members to drop", `{"model":"m","messages":[]}`, `{"model":"m","messages":[]}`},
		{"metadata in the middle", `{"model":"m","metadata":{"user_id":"a"},"messages":[]}`, `{"model":"m","messages":[]}`},
		{"metadata first", `{"metadata":{"user_id":"a"},"model":"m"}`, `{"model":"m"}`},
		{"metadata last", `{"model":"m","metadata":{"user_id":"a"}}`, `{"model":"m"}`},
		{"both adjacent at the end", `{"model":"m","metadata":{},"stream":true}`, `{"model":"m"}`},
		{"both adjacent at the start", `{"metadata":{},"stream":true,"model":"m"}`, `{"model":"m"}`},
		{"stream before metadata", `{"stream":false, "model":"m", "metadata":{"a":[1,2]}}`, `{"model":"m"}`},
		{"only dropped members", `{"metadata":{},"stream":true}`, `{}`},
		{"blanks around", " {\n \"model\" : \"m\" ,\n \"metadata\" : {} \n} \n", " {\"model\" : \"m\"} \n"},
		{"nested metadata key is kept", `{"model":"m","messages":[{"metadata":1}]}`, `{"model":"m","messages":[{"metadata":1}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Peek([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			WriteSignature(&got, []byte(tt.body), f)
			if got.String() != tt.want {
				t.Errorf("WriteSignature(%s) = %s, want %s", tt.body, got.String(), tt.want)
			}
		})
	}
}

// TestSignatureIgnoresMetadataAndStream: bodies that differ only in metadata
// or the stream member sign alike; any other difference signs apart.
func TestSignatureIgnoresMetadataAndStream(t *testing.T) {
	sig := func(body string) string {
		f, err := Peek([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		WriteSignature(&b, []byte(body), f)
		return b.String()
	}
	base := sig(`{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":5}`)
	for _, same := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":5,"stream":true}`,
		`{"model":"m","metadata":{"user_id":"x"},"messages":[{"role":"user","content":"hi"}],"max_tokens":5}`,
		`{"model":"m","metadata":{"user_id":"y"},"messages":[{"role":"user","content":"hi"}],"max_tokens":5,"stream":false}`,
	} {
		if got := sig(same); got != base {
			t.Errorf("%s signs as %s, want %s", same, got, base)
		}
	}
	for _, other := range []string{
		`{"model":"m","messages":[{"role":"user","content":"ho"}],"max_tokens":5}`,
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":6}`,
		`{"model":"n","messages":[{"role":"user","content":"hi"}],"max_tokens":5}`,
	} {
		if got := sig(other); got == base {
			t.Errorf("%s signs like the base body", other)
		}
	}
}
