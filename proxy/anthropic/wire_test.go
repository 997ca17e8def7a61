package anthropic

import (
	"bytes"
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
		{"stream true", `{"model":"claude-sonnet-5","messages":[],"stream":true}`, Fields{Model: "claude-sonnet-5", ModelStart: 9, ModelEnd: 26, HasModel: true, Stream: true, HasMessages: true, MessagesStart: 38, MessagesEnd: 40, StreamMember: Span{41, 54}}, false},
		{"no stream key", `{"messages":[{"role":"user","content":"hi"}],"model":"x"}`, Fields{Model: "x", ModelStart: 53, ModelEnd: 56, HasModel: true, HasMessages: true, MessagesStart: 12, MessagesEnd: 44}, false},
		{"escaped model", `{"model":"a\"b\u00e9"}`, Fields{Model: "a\"bé", ModelStart: 9, ModelEnd: 21, HasModel: true}, false},
		{"nested model ignored", `{"metadata":{"model":"no"},"model":"yes"}`, Fields{Model: "yes", ModelStart: 35, ModelEnd: 40, HasModel: true, Metadata: Span{1, 26}}, false},
		{"whitespace", " {\n \"model\" : \"m\" ,\"stream\":false}\n", Fields{Model: "m", ModelStart: 14, ModelEnd: 17, HasModel: true, StreamMember: Span{19, 33}}, false},
		{"numbers and literals", `{"a":-1.5e+3,"b":[true,false,null,0,{}],"model":"m"}`, Fields{Model: "m", ModelStart: 48, ModelEnd: 51, HasModel: true}, false},
		{"unsigned thinking", `{"messages":[{"content":[{"signature":""}]}]}`, Fields{HasMessages: true, MessagesStart: 12, MessagesEnd: 44, UnsignedThinking: true}, false},
		{"empty signature outside the messages", `{"metadata":{"signature":""},"messages":[]}`, Fields{HasMessages: true, MessagesStart: 40, MessagesEnd: 42, Metadata: Span{1, 28}}, false},
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
		{"escaped model key", `{"mod\u0065l":"claude-sonnet-5","messages":[]}`, Fields{Model: "claude-sonnet-5", ModelStart: 14, ModelEnd: 31, HasModel: true, HasMessages: true, MessagesStart: 43, MessagesEnd: 45}, false},
		{"fully escaped keys", `{"\u006d\u006f\u0064\u0065\u006c":"m","\u0073tream":true}`, Fields{Model: "m", ModelStart: 34, ModelEnd: 37, HasModel: true, Stream: true, StreamMember: Span{38, 56}}, false},
		{"escaped messages and signature keys", `{"m\u0065ssages":[{"content":[{"sign\u0061ture":""}]}]}`, Fields{HasMessages: true, MessagesStart: 17, MessagesEnd: 54, UnsignedThinking: true}, false},
		{"escaped slash is not a model key", `{"mod\/el":"x"}`, Fields{}, false},
		{"key case matters", `{"Model":"x"}`, Fields{}, false},
		{"last model wins", `{"model":"a","mod\u0065l":"b"}`, Fields{Model: "b", ModelStart: 26, ModelEnd: 29, HasModel: true}, false},
		{"last model wins over a bad one", `{"model":1,"model":"b"}`, Fields{Model: "b", ModelStart: 19, ModelEnd: 22, HasModel: true}, false},
		{"last model not a string", `{"model":"a","model":null}`, Fields{}, true},
		{"signature of an earlier messages forgotten", `{"messages":[{"signature":""}],"messages":[]}`, Fields{HasMessages: true, MessagesStart: 42, MessagesEnd: 44}, false},
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

func TestPeekAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		want    Answer
		wantErr bool
	}{
		{"message", `{"id":"m","type":"message","content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":3,"output_tokens":2}}`,
			Answer{Type: "message", Usage: []byte(`{"input_tokens":3,"output_tokens":2}`)}, false},
		{"error body", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
			Answer{Type: "error", Error: []byte(`{"type":"overloaded_error","message":"Overloaded"}`)}, false},
		{"escaped key", `{"typ\u0065":"message"}`, Answer{Type: "message"}, false},
		{"nested type is not the answer's", `{"content":[{"type":"text"}]}`, Answer{}, false},
		{"cut", `{"type":"message","content":[`, Answer{Type: "message"}, true},
		{"not an object", `["type","message"]`, Answer{}, true},
		{"type not a string", `{"type":1}`, Answer{}, true},
		{"trailing data", `{"type":"message"} x`, Answer{Type: "message"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PeekAnswer([]byte(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want an error: %v", err, tt.wantErr)
			}
			if err == nil {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}
		})
	}
	for _, tt := range []struct {
		in      string
		want    Usage
		wantErr bool
	}{
		{`{"input_tokens":3,"cache_read_input_tokens":5,"output_tokens":2}`, Usage{InputTokens: 3, CacheReadInputTokens: 5, OutputTokens: 2}, false},
		{`{"input_tokens":12,"cache_creation_input_tokens":null,"server_tool_use":{"web_search_requests":1},"output_tokens":7}`, Usage{InputTokens: 12, OutputTokens: 7}, false},
		{`{ "output_tokens" : 40 }`, Usage{OutputTokens: 40}, false},
		{`{"input_tokens":-1}`, Usage{}, true},
		{`{"input_tokens":1.5}`, Usage{}, true},
		{`{"input_tokens":3`, Usage{}, true},
		{`[1]`, Usage{}, true},
	} {
		u, err := ParseUsage([]byte(tt.in))
		if (err != nil) != tt.wantErr || u != tt.want {
			t.Errorf("ParseUsage(%s) = %+v, %v; want %+v (error: %v)", tt.in, u, err, tt.want, tt.wantErr)
		}
	}
}
