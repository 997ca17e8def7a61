package anthropic

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPeek(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		want    Fields
		wantErr bool
	}{
		{"stream true", `{"model":"claude-sonnet-5","messages":[],"stream":true}`, Fields{Model: "claude-sonnet-5", ModelStart: 9, ModelEnd: 26, HasModel: true, Stream: true, HasMessages: true, MessagesStart: 38, MessagesEnd: 40}, false},
		{"no stream key", `{"messages":[{"role":"user","content":"hi"}],"model":"x"}`, Fields{Model: "x", ModelStart: 53, ModelEnd: 56, HasModel: true, HasMessages: true, MessagesStart: 12, MessagesEnd: 44}, false},
		{"escaped model", `{"model":"a\"b\u00e9"}`, Fields{Model: "a\"bé", ModelStart: 9, ModelEnd: 21, HasModel: true}, false},
		{"nested model ignored", `{"metadata":{"model":"no"},"model":"yes"}`, Fields{Model: "yes", ModelStart: 35, ModelEnd: 40, HasModel: true}, false},
		{"whitespace", " {\n \"model\" : \"m\" ,\"stream\":false}\n", Fields{Model: "m", ModelStart: 14, ModelEnd: 17, HasModel: true}, false},
		{"numbers and literals", `{"a":-1.5e+3,"b":[true,false,null,0,{}],"model":"m"}`, Fields{Model: "m", ModelStart: 48, ModelEnd: 51, HasModel: true}, false},
		{"unsigned thinking", `{"messages":[{"content":[{"signature":""}]}]}`, Fields{HasMessages: true, MessagesStart: 12, MessagesEnd: 44, UnsignedThinking: true}, false},
		{"empty signature outside the messages", `{"metadata":{"signature":""},"messages":[]}`, Fields{HasMessages: true, MessagesStart: 40, MessagesEnd: 42}, false},
		{"signed thinking", `{"messages":[{"content":[{"signature":"s"}]}]}`, Fields{HasMessages: true, MessagesStart: 12, MessagesEnd: 45}, false},
		{"missing model", `{"messages":[]}`, Fields{HasMessages: true, MessagesStart: 12, MessagesEnd: 14}, false},
		{"empty object", `{}`, Fields{}, false},
		{"not an object", `[1]`, Fields{}, true},
		{"truncated", `{"model":"x","messages":[`, Fields{}, true},
		{"trailing garbage", `{"model":"x"} {}`, Fields{}, true},
		{"model not a string", `{"model":5}`, Fields{}, true},
		{"bad escape", `{"model":"\x"}`, Fields{}, true},
		{"control char", "{\"model\":\"a\nb\"}", Fields{}, true},
		{"leading zero", `{"a":01}`, Fields{}, true},
		{"empty", ``, Fields{}, true},
		{"missing colon", `{"model" "x"}`, Fields{}, true},
		{"trailing comma", `{"model":"x",}`, Fields{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Peek([]byte(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("Peek err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				if !IsSyntaxError(err) {
					t.Errorf("error %v is not a *SyntaxError", err)
				}
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Peek (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPeekAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`{"a":[1,2,{"b":"\u0041"}],"model":"m"}`, `{"model":"m","x":1e5}`, `{"x":"\ud83d\ude00"}`} {
		if _, err := Peek([]byte(body)); (err == nil) != json.Valid([]byte(body)) {
			t.Errorf("Peek(%s) err = %v, json.Valid = %v", body, err, json.Valid([]byte(body)))
		}
	}
}

func TestRewriteModel(t *testing.T) {
	t.Parallel()
	body := []byte(`{"model":"claude-sonnet-5","messages":[{"role":"user","content":"model"}],"thinking":{"type":"adaptive"},"stream":true}`)
	f, err := Peek(body)
	if err != nil {
		t.Fatal(err)
	}
	got := RewriteModel(body, f, `vendor/model "x"`)
	want := `{"model":"vendor/model \"x\"","messages":[{"role":"user","content":"model"}],"thinking":{"type":"adaptive"},"stream":true}`
	if string(got) != want {
		t.Fatalf("RewriteModel =\n%s\nwant\n%s", got, want)
	}
	// Everything but the model value is byte for byte the same.
	if !bytes.Equal(got[:f.ModelStart], body[:f.ModelStart]) || !bytes.HasSuffix(got, body[f.ModelEnd:]) {
		t.Error("bytes outside the model value changed")
	}
	if same := RewriteModel(body, f, "claude-sonnet-5"); &same[0] != &body[0] {
		t.Error("unchanged model should return the body itself, not a copy")
	}
}

func TestWriteError(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	WriteError(rec, 413, "", "request body exceeds 32 MiB")
	if rec.Code != 413 {
		t.Errorf("status = %d", rec.Code)
	}
	typ, msg, ok := ParseError(rec.Body.Bytes())
	if !ok || typ != ErrRequestTooLarge || !strings.Contains(msg, "32 MiB") {
		t.Errorf("ParseError = %q, %q, %v; body %s", typ, msg, ok, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("content-type = %q", ct)
	}
}

func FuzzPeek(f *testing.F) {
	f.Add(`{"model":"m","stream":true,"messages":[]}`)
	f.Add(`{"a":[{"b":null}],"model":"\u00e9"}`)
	f.Fuzz(func(t *testing.T, body string) {
		fields, err := Peek([]byte(body))
		if err == nil && !json.Valid([]byte(body)) {
			t.Fatalf("Peek accepted invalid JSON %q", body)
		}
		if err != nil && json.Valid([]byte(body)) && strings.HasPrefix(strings.TrimSpace(body), "{") {
			var m map[string]json.RawMessage
			if json.Unmarshal([]byte(body), &m) == nil {
				if raw, ok := m["model"]; !ok || (len(raw) > 0 && raw[0] == '"') {
					t.Fatalf("Peek rejected valid object %q: %v", body, err)
				}
			}
		}
		if err == nil && fields.HasModel {
			out := RewriteModel([]byte(body), fields, "x")
			g, err := Peek(out)
			if err != nil || g.Model != "x" {
				t.Fatalf("rewritten body %q: %v, model %q", out, err, g.Model)
			}
		}
	})
}

func TestHasControl(t *testing.T) {
	t.Parallel()
	for i := 0; i < 256; i++ {
		for pos := 0; pos < 19; pos++ {
			b := []byte(strings.Repeat("a", 19))
			b[pos] = byte(i)
			if got, want := hasControl(b), i < 0x20; got != want {
				t.Fatalf("hasControl with byte %#x at %d = %v", i, pos, got)
			}
		}
	}
}

func TestPeekManyEscapes(t *testing.T) {
	t.Parallel()
	// A long string full of escapes, as tool results are, followed by the model.
	body := `{"messages":[{"content":"` + strings.Repeat(`line\n\"q\"\\`, 20000) + `"}],"model":"m"}`
	f, err := Peek([]byte(body))
	if err != nil || f.Model != "m" {
		t.Fatalf("Peek = %+v, %v", f, err)
	}
}

func TestRewriteModelParts(t *testing.T) {
	t.Parallel()
	body := []byte(`{"model":"claude-sonnet-5","messages":[]}`)
	f, _ := Peek(body)
	parts, ok := RewriteModelParts(body, f, "other")
	if !ok || string(bytes.Join(parts[:], nil)) != string(RewriteModel(body, f, "other")) {
		t.Fatalf("parts %q, ok %v", parts, ok)
	}
	if _, ok := RewriteModelParts(body, f, "claude-sonnet-5"); ok {
		t.Error("unchanged model reported a rewrite")
	}
}
