package openai

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzCursorSkip: the cursor accepts exactly the documents encoding/json
// accepts (nesting beyond maxNesting aside), and a string's raw content,
// unescaped, is what encoding/json decodes.
func FuzzCursorSkip(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `{"a":[1,2,{"b":null}],"c":"x\"y\\u00e9\ud83d\ude00"}`, `[true,false,null,-0.5e+3]`,
		`{"a":}`, `{"a" 1}`, `[1,]`, `{"a":1,}`, `"\u12"`, "\"a\tb\"", `01`, `1.`, `-`, `{"a":"b"}x`, `[[[[]]]]`,
		`"\ud800"`, `"\udc00\ud800"`, `{"k":"v","k2":[{"x":{}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if bytes.Count(in, []byte("["))+bytes.Count(in, []byte("{")) >= maxNesting {
			return
		}
		c := cursor{b: in}
		c.skip()
		c.end()
		if (c.err == nil) != json.Valid(in) {
			t.Fatalf("cursor err %v, json.Valid %v for %q", c.err, json.Valid(in), in)
		}
		// Invalid UTF-8 is replaced before conversion (ConvertRequest) or
		// when events are encoded (chunks), not by the cursor.
		if c.err != nil || !utf8.Valid(in) || len(bytes.TrimSpace(in)) == 0 || bytes.TrimSpace(in)[0] != '"' {
			return
		}
		r := cursor{b: in}
		raw, _ := r.str()
		var want string
		if err := json.Unmarshal(in, &want); err != nil {
			t.Fatal(err)
		}
		if got := decoded(raw); got != want {
			t.Fatalf("decoded %q, encoding/json %q", got, want)
		}
	})
}
