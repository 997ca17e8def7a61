package fake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ToolCall is a function call an OpenAI upstream answers with.
type ToolCall struct {
	ID, Name, Arguments string
}

// ChatReply describes one Chat Completions answer.
type ChatReply struct {
	Status    int // non-zero: an OpenAI-style error with this status
	Message   string
	Text      string
	ToolCalls []ToolCall
	// Cut ends a stream after the first content chunk without [DONE].
	Cut bool
	// Header is sent with the answer (rate-limit headers, for example).
	Header http.Header
	// Usage, when set, is the answer's usage (default: 20 prompt tokens,
	// 7 completion tokens, none cached).
	Usage *ChatUsage
}

// ChatUsage is a Chat Completions usage: Prompt includes Cached.
type ChatUsage struct {
	Prompt, Completion, Cached int
}

func (u *ChatUsage) json() map[string]any {
	if u == nil {
		u = &ChatUsage{Prompt: 20, Completion: 7}
	}
	return map[string]any{"prompt_tokens": u.Prompt, "completion_tokens": u.Completion, "total_tokens": u.Prompt + u.Completion,
		"prompt_tokens_details": map[string]any{"cached_tokens": u.Cached}}
}

// OpenAI is a fake Chat Completions upstream speaking the real wire format:
// chat.completion objects, and chat.completion.chunk SSE streams with
// fragmented tool-call arguments, a usage-only final chunk and [DONE].
type OpenAI struct {
	Name string

	recorder[func(n int, req map[string]any) ChatReply]
	Models
}

// NewOpenAI returns an upstream that answers with a short text.
func NewOpenAI(name string) *OpenAI {
	u := &OpenAI{Name: name}
	u.script = func(int, map[string]any) ChatReply { return ChatReply{} }
	return u
}

// SetScript sets how request n (from 1) is answered; req is the decoded body.
func (u *OpenAI) SetScript(f func(n int, req map[string]any) ChatReply) { u.setScript(f) }

// ServeHTTP implements Chat Completions.
func (u *OpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/models") {
		u.keep(r)
		status, names := u.answer()
		if status != 0 {
			openaiError(w, status, "")
			return
		}
		var data []map[string]any
		for _, n := range names {
			data = append(data, map[string]any{"id": n, "object": "model", "created": 1767225600, "owned_by": u.Name})
		}
		b, _ := json.Marshal(map[string]any{"object": "list", "data": data})
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
		return
	}
	n, body, script := u.record(r)
	if !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		openaiError(w, 404, "Unknown path "+r.URL.Path)
		return
	}
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		openaiError(w, 400, "We could not parse the JSON body of your request.")
		return
	}
	rep := script(n, req)
	for k, vs := range rep.Header {
		w.Header()[http.CanonicalHeaderKey(k)] = vs
	}
	if rep.Status != 0 {
		openaiError(w, rep.Status, rep.Message)
		return
	}
	if rep.Text == "" && len(rep.ToolCalls) == 0 {
		rep.Text = fmt.Sprintf("Hello from %s.", u.Name)
	}
	model, _ := req["model"].(string)
	id := fmt.Sprintf("chatcmpl-%s-%d", strings.ToLower(u.Name), n)
	finish := "stop"
	if len(rep.ToolCalls) > 0 {
		finish = "tool_calls"
	}
	if stream, _ := req["stream"].(bool); !stream {
		msg := map[string]any{"role": "assistant", "content": nil}
		if rep.Text != "" {
			msg["content"] = rep.Text
		}
		if len(rep.ToolCalls) > 0 {
			var tcs []any
			for _, tc := range rep.ToolCalls {
				tcs = append(tcs, map[string]any{"id": tc.ID, "type": "function", "function": map[string]any{"name": tc.Name, "arguments": tc.Arguments}})
			}
			msg["tool_calls"] = tcs
		}
		b, _ := json.Marshal(map[string]any{
			"id": id, "object": "chat.completion", "created": time.Now().Unix(), "model": model,
			"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}},
			"usage":   rep.Usage.json(),
		})
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	rc := http.NewResponseController(w)
	chunk := func(delta map[string]any, finish any) {
		b, _ := json.Marshal(map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": time.Now().Unix(), "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}},
		})
		fmt.Fprintf(w, "data: %s\n\n", b)
		rc.Flush()
	}
	chunk(map[string]any{"role": "assistant", "content": ""}, nil)
	for i, part := range split(rep.Text, 3) {
		if rep.Text == "" {
			break
		}
		chunk(map[string]any{"content": part}, nil)
		if rep.Cut && i == 0 {
			return
		}
	}
	for i, tc := range rep.ToolCalls {
		chunk(map[string]any{"tool_calls": []any{map[string]any{"index": i, "id": tc.ID, "type": "function", "function": map[string]any{"name": tc.Name, "arguments": ""}}}}, nil)
		for _, frag := range split(tc.Arguments, 3) {
			chunk(map[string]any{"tool_calls": []any{map[string]any{"index": i, "function": map[string]any{"arguments": frag}}}}, nil)
		}
	}
	chunk(map[string]any{}, finish)
	b, _ := json.Marshal(map[string]any{"id": id, "object": "chat.completion.chunk", "created": time.Now().Unix(), "model": model,
		"choices": []any{}, "usage": rep.Usage.json()})
	fmt.Fprintf(w, "data: %s\n\ndata: [DONE]\n\n", b)
}

func openaiError(w http.ResponseWriter, status int, msg string) {
	if msg == "" {
		msg = http.StatusText(status)
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": "server_error", "code": nil}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}
