package openai

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// claudeCodeBody builds a request shaped like Claude Code's (see
// shared/claude-code-traffic.md): three system blocks, 24 tools with JSON
// Schema 2020-12 making up most of the bytes, a role:"system" message inside
// messages, and a few rounds of tool history.
func claudeCodeBody(tb testing.TB) []byte {
	tb.Helper()
	type obj = map[string]any
	filler := strings.Repeat("Describe what the tool does, when to use it and when not to. ", 8)
	var tools []obj
	for i := range 24 {
		props := obj{}
		for j := range 6 {
			props[fmt.Sprintf("param_%d", j)] = obj{"type": "string", "description": filler[:200]}
		}
		tools = append(tools, obj{
			"name":        fmt.Sprintf("Tool%02d", i),
			"description": filler + filler + filler,
			"input_schema": obj{
				"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
				"properties": props, "required": []string{"param_0"}, "additionalProperties": false,
			},
		})
	}
	eph := obj{"type": "ephemeral"}
	messages := []obj{
		{"role": "user", "content": []obj{
			{"type": "text", "text": "<system-reminder>" + filler + "</system-reminder>"},
			{"type": "text", "text": "Fix the failing test in the parser package.", "cache_control": eph},
		}},
		{"role": "system", "content": "The user switched to plan mode."},
	}
	for i := range 6 {
		id := fmt.Sprintf("toolu_01%022d", i)
		messages = append(messages,
			obj{"role": "assistant", "content": []obj{
				{"type": "text", "text": "Let me look at the next file."},
				{"type": "tool_use", "id": id, "name": "Tool01", "input": obj{"param_0": fmt.Sprintf("/src/file%d.go", i)}},
			}},
			obj{"role": "user", "content": []obj{
				{"type": "tool_result", "tool_use_id": id, "content": strings.Repeat("func f() {}\n", 40), "cache_control": eph},
			}},
		)
	}
	body, err := json.Marshal(obj{
		"model":    "claude-sonnet-5",
		"messages": messages,
		"system": []obj{
			{"type": "text", "text": "x-billing-header: cc_version=2.1.197"},
			{"type": "text", "text": "You are an interactive CLI tool. " + filler, "cache_control": eph},
			{"type": "text", "text": strings.Repeat("Environment and instructions. ", 120), "cache_control": eph},
		},
		"tools":      tools,
		"metadata":   obj{"user_id": `{"device_id":"d","account_uuid":"","session_id":"s"}`},
		"max_tokens": 64000,
		"thinking":   obj{"type": "adaptive"},
		"stream":     true,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

func TestClaudeCodeBodyConverts(t *testing.T) {
	body := claudeCodeBody(t)
	if len(body) < 70_000 || len(body) > 95_000 {
		t.Fatalf("body is %d bytes, want about 80 KB", len(body))
	}
	conv, err := ConvertRequest(body, RequestOptions{Model: "gpt-4.1", Reasoning: true})
	if err != nil {
		t.Fatal(err)
	}
	out := conv.Body
	var req struct {
		Messages []struct{ Role string } `json:"messages"`
		Tools    []json.RawMessage       `json:"tools"`
	}
	if err := json.Unmarshal(out, &req); err != nil {
		t.Fatal(err)
	}
	// system + user + system + 6 * (assistant + tool)
	if len(req.Messages) != 15 || len(req.Tools) != 24 {
		t.Errorf("%d messages and %d tools, want 15 and 24", len(req.Messages), len(req.Tools))
	}
}

// cpuTime is the process's CPU time (user and system): on a machine shared
// with other work, CPU per operation says more than wall time does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds a cpu-ns/op metric to a benchmark; call the returned
// function after the loop.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// BenchmarkConvertRequest converts an 85 KB Claude Code request: into a
// new buffer, and into a reused one, as the proxy does (RequestOptions.Buffer).
func BenchmarkConvertRequest(b *testing.B) {
	body := claudeCodeBody(b)
	for _, reuse := range []bool{false, true} {
		name := "new_buffer"
		if reuse {
			name = "reused_buffer"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			var buf []byte
			defer reportCPU(b)()
			for b.Loop() {
				req, err := ConvertRequest(body, RequestOptions{Model: "gpt-4.1", Reasoning: true, Buffer: buf})
				if err != nil {
					b.Fatal(err)
				}
				if reuse {
					buf = req.Body
				}
			}
		})
	}
}

// BenchmarkStreamConverter measures one chunk: a typical text delta, and a
// tool-call argument fragment.
func BenchmarkStreamConverter(b *testing.B) {
	chunks := map[string]string{
		"text":      `{"id":"chatcmpl-Aa1","object":"chat.completion.chunk","created":1764100000,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_7e2b","choices":[{"index":0,"delta":{"content":" the parser <keeps> going"},"logprobs":null,"finish_reason":null}],"usage":null}`,
		"tool_args": `{"id":"chatcmpl-Bb2","object":"chat.completion.chunk","created":1764100000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ing\": \"/src/"}}]},"logprobs":null,"finish_reason":null}],"usage":null}`,
	}
	open := `{"id":"chatcmpl-Bb2","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"Read","arguments":""}}]}}]}`
	for _, name := range []string{"text", "tool_args"} {
		chunk := []byte(chunks[name])
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(chunk)))
			b.ReportAllocs()
			var c *StreamConverter
			n := 0
			defer reportCPU(b)()
			for b.Loop() {
				if n%1000 == 0 {
					// A fresh message now and then keeps buffers realistic.
					c = NewStreamConverter(StreamOptions{Model: "claude-sonnet-5"})
					if _, err := c.Process([]byte(open)); err != nil {
						b.Fatal(err)
					}
				}
				n++
				if _, err := c.Process(chunk); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
