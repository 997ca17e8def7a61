package tokens

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pkoukk/tiktoken-go"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// reference returns a token counter built straight from tiktoken, apart
// from this package's code, for the expected values.
func reference(t testing.TB) func(string) int {
	t.Helper()
	if err := Warm(); err != nil { // installs the offline loader
		t.Fatalf("Warm: %v", err)
	}
	enc, err := tiktoken.GetEncoding(tiktoken.MODEL_CL100K_BASE)
	if err != nil {
		t.Fatal(err)
	}
	return func(s string) int { return len(enc.Encode(s, nil, nil)) }
}

// msg is the cost of one message around its content.
func msg(tok func(string) int, role string) int { return MessageOverhead + tok(role) }

func TestCount(t *testing.T) {
	t.Parallel()
	tok := reference(t)
	const schema = `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"path":{"type":"string","description":"File to read"}},"required":["path"],"additionalProperties":false}`
	tests := []struct {
		name string
		body string
		want int
	}{
		{
			name: "no messages",
			body: `{"model":"claude-sonnet-5","messages":[]}`,
			want: 0,
		},
		{
			name: "string content",
			body: `{"model":"m","messages":[{"role":"user","content":"Hello, world"}]}`,
			want: tok("Hello, world") + msg(tok, "user"),
		},
		{
			name: "system string, null and absent fields ignored",
			body: `{"model":"m","system":"You are terse.","tools":null,"messages":[{"role":"user","content":"hi"}]}`,
			want: tok("You are terse.") + MessageOverhead + tok("hi") + msg(tok, "user"),
		},
		{
			name: "null system",
			body: `{"system":null,"messages":[{"role":"user","content":"hi"}]}`,
			want: tok("hi") + msg(tok, "user"),
		},
		{
			name: "system text blocks with cache_control",
			body: `{"system":[{"type":"text","text":"Billing header"},{"type":"text","text":"Be careful with files.","cache_control":{"type":"ephemeral"}}],
				"messages":[{"role":"user","content":[{"type":"text","text":"List the files"}]}]}`,
			want: tok("Billing header") + tok("Be careful with files.") + MessageOverhead + tok("List the files") + msg(tok, "user"),
		},
		{
			name: "system role inside messages",
			body: `{"messages":[{"role":"user","content":"a"},{"role":"system","content":[{"type":"text","text":"Reminder: stay in the repo."}]}]}`,
			want: tok("a") + msg(tok, "user") + tok("Reminder: stay in the repo.") + msg(tok, "system"),
		},
		{
			name: "tool_use input counted as compact JSON",
			body: `{"messages":[{"role":"assistant","content":[
				{"type":"text","text":"Reading it."},
				{"type":"tool_use","id":"toolu_01","name":"Read","input": { "path" : "/tmp/a.go",  "limit": 20 }}]}]}`,
			want: tok("Reading it.") + tok("Read") + tok(`{"path":"/tmp/a.go","limit":20}`) + msg(tok, "assistant"),
		},
		{
			name: "tool_result as string and as blocks",
			body: `{"messages":[{"role":"user","content":[
				{"type":"tool_result","tool_use_id":"toolu_01","content":"package main\n\nfunc main() {}\n","cache_control":{"type":"ephemeral"}},
				{"type":"tool_result","tool_use_id":"toolu_02","content":[{"type":"text","text":"two files"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]},
				{"type":"tool_result","tool_use_id":"toolu_03","is_error":true}]}]}`,
			want: tok("package main\n\nfunc main() {}\n") + tok("two files") + ImageTokens + msg(tok, "user"),
		},
		{
			name: "image is a fixed estimate whatever its size",
			body: `{"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://example.com/a.png"}},{"type":"text","text":"What is this?"}]}]}`,
			want: ImageTokens + tok("What is this?") + msg(tok, "user"),
		},
		{
			name: "documents: text counted, binary estimated",
			body: `{"messages":[{"role":"user","content":[
				{"type":"document","title":"Notes","source":{"type":"text","media_type":"text/plain","data":"Alpha beta gamma."}},
				{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}}]}]}`,
			want: tok("Notes") + tok("Alpha beta gamma.") + ImageTokens + msg(tok, "user"),
		},
		{
			name: "thinking counted, redacted thinking not",
			body: `{"messages":[{"role":"assistant","content":[
				{"type":"thinking","thinking":"The user wants a list.","signature":"EqQBCkYIBxgCKkA="},
				{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix"},
				{"type":"text","text":"Here it is."}]}]}`,
			want: tok("The user wants a list.") + tok("Here it is.") + msg(tok, "assistant"),
		},
		{
			name: "unknown block type counted as its JSON",
			body: `{"messages":[{"role":"user","content":[{"type":"future_block","payload": {"x": 1}}]}]}`,
			want: tok(`{"type":"future_block","payload":{"x":1}}`) + msg(tok, "user"),
		},
		{
			name: "special-token text is plain text",
			body: `{"messages":[{"role":"user","content":"before <|endoftext|> after"}]}`,
			want: tok("before <|endoftext|> after") + msg(tok, "user"),
		},
		{
			name: "tools: preamble, framing, name, description, schema",
			body: `{"messages":[{"role":"user","content":"go"}],"tools":[
				{"name":"Read","description":"Reads a file.","input_schema":` + schema + `},
				{"name":"Noop","input_schema":{"type":"object"}}]}`,
			want: tok("go") + msg(tok, "user") + ToolsPreamble +
				ToolOverhead + tok("Read") + tok("Reads a file.") + tok(schema) +
				ToolOverhead + tok("Noop") + tok(`{"type":"object"}`),
		},
		{
			name: "server tool without a schema counted as its JSON",
			body: `{"messages":[],"tools":[{"type":"web_search_20250305","name":"web_search","max_uses":5}]}`,
			want: ToolsPreamble + ToolOverhead + tok(`{"type":"web_search_20250305","name":"web_search","max_uses":5}`),
		},
		{
			name: "unicode",
			body: `{"messages":[{"role":"user","content":"Grüße, 世界 🌍"}]}`,
			want: tok("Grüße, 世界 🌍") + msg(tok, "user"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Count([]byte(tt.body))
			if err != nil {
				t.Fatalf("Count: %v", err)
			}
			if got != tt.want {
				t.Errorf("Count = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestCountIgnoresFormatting checks that indentation of the request JSON
// does not change the count: schemas and tool inputs are compacted.
func TestCountIgnoresFormatting(t *testing.T) {
	t.Parallel()
	body := claudeCodeBody(20 << 10)
	var indented bytes.Buffer
	if err := json.Indent(&indented, body, "", "    "); err != nil {
		t.Fatal(err)
	}
	compact, err := Count(body)
	if err != nil {
		t.Fatal(err)
	}
	pretty, err := Count(indented.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if compact != pretty {
		t.Errorf("compact body counts %d, indented body %d", compact, pretty)
	}
}

func TestCountInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		wantMsg string // a part of the error text that locates the fault
	}{
		{"empty body", ``, "decoding body"},
		{"not JSON", `model=claude`, "decoding body"},
		{"truncated", `{"messages":[{"role":"user","content":"hi"}`, "decoding body"},
		{"trailing data", `{"messages":[]} {}`, "decoding body"},
		{"array body", `[]`, "decoding body"},
		{"missing messages", `{"model":"m"}`, "messages: field required"},
		{"null messages", `{"messages":null}`, "messages: field required"},
		{"messages not an array", `{"messages":{"role":"user"}}`, "decoding body"},
		{"message not an object", `{"messages":["hi"]}`, "decoding body"},
		{"content a number", `{"messages":[{"role":"user","content":42}]}`, "messages.0.content: must be a string or an array"},
		{"content an object", `{"messages":[{"role":"user","content":{"type":"text"}}]}`, "messages.0.content"},
		{"block not an object", `{"messages":[{"role":"user","content":["hi"]}]}`, "messages.0.content: 0:"},
		{"block without type", `{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`, "content block without a type"},
		{"text not a string", `{"messages":[{"role":"user","content":[{"type":"text","text":1}]}]}`, "messages.0.content: 0:"},
		{"bad tool_result content", `{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"tool_result","content":7}]}]}`, "messages.0.content: 1: content:"},
		{"system a number", `{"system":1,"messages":[]}`, "system: must be a string"},
		{"tools not an array", `{"messages":[],"tools":{}}`, "decoding body"},
		{"tool not an object", `{"messages":[],"tools":["Read"]}`, "tools.0:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, err := Count([]byte(tt.body))
			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("Count = %d, %v; want an error wrapping ErrInvalidRequest", n, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestCountConcurrent(t *testing.T) {
	t.Parallel()
	bodies := [][]byte{
		claudeCodeBody(8 << 10),
		claudeCodeBody(16 << 10),
		[]byte(`{"messages":[{"role":"user","content":"short"}]}`),
	}
	want := make([]int, len(bodies))
	for i, b := range bodies {
		n, err := Count(b)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = n
	}
	const goroutines = 8
	got := make([][]int, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for round := range 3 {
				for i, b := range bodies {
					n, err := Count(b)
					if err != nil {
						t.Errorf("goroutine %d round %d body %d: %v", g, round, i, err)
						return
					}
					if round == 0 {
						got[g] = append(got[g], n)
					} else if n != got[g][i] {
						t.Errorf("goroutine %d round %d body %d: %d, earlier %d", g, round, i, n, got[g][i])
					}
				}
			}
		})
	}
	wg.Wait()
	for g := range goroutines {
		if diff := cmp.Diff(want, got[g]); diff != "" {
			t.Errorf("goroutine %d counts (-want +got):\n%s", g, diff)
		}
	}
}

// TestClaudeCodeBodyShape keeps the benchmark's fixture honest: about the
// size and mix of a real first request.
func TestClaudeCodeBodyShape(t *testing.T) {
	t.Parallel()
	body := claudeCodeBody(80 << 10)
	if n := len(body); n < 75<<10 || n > 90<<10 {
		t.Errorf("fixture is %d bytes, want about 80 KiB", n)
	}
	var req struct {
		System   []json.RawMessage `json:"system"`
		Messages []json.RawMessage `json:"messages"`
		Tools    []json.RawMessage `json:"tools"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	toolBytes := 0
	for _, tl := range req.Tools {
		toolBytes += len(tl)
	}
	if len(req.System) != 3 || len(req.Tools) != 24 || len(req.Messages) < 4 || toolBytes < len(body)*3/4 {
		t.Errorf("fixture has %d system blocks, %d tools (%d bytes of %d), %d messages",
			len(req.System), len(req.Tools), toolBytes, len(body), len(req.Messages))
	}
	n, err := Count(body)
	if err != nil {
		t.Fatal(err)
	}
	// Plain ASCII prose and JSON run at roughly 3 to 5 bytes a token.
	if n < len(body)/6 || n > len(body)/2 {
		t.Errorf("Count = %d tokens for %d bytes; outside any plausible ratio", n, len(body))
	}
}

func BenchmarkCountClaudeCode80KB(b *testing.B) {
	body := claudeCodeBody(80 << 10)
	if err := Warm(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Count(body); err != nil {
			b.Fatal(err)
		}
	}
}
