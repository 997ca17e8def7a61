package fake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Script is a scripted upstream in the format of the provider-quirks cases:
// per path suffix, canned answers used in order (the last one repeats) and
// the provider rules ("checks") a real provider enforces, the first failing
// one answering instead.
type Script struct {
	Routes map[string]ScriptRoute `json:"routes"`
}

// ScriptRoute is the script of one path suffix.
type ScriptRoute struct {
	Checks    []string         `json:"checks"`
	Responses []ScriptResponse `json:"responses"`
}

// ScriptResponse is one canned answer.
type ScriptResponse struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	// DelayS delays the status line, in seconds.
	DelayS float64 `json:"delay_s"`
	// JSON is sent as the body; SSE items as "data: <item>" events (a
	// string item as raw bytes), then "data: [DONE]" when Done.
	JSON json.RawMessage   `json:"json"`
	SSE  []json.RawMessage `json:"sse"`
	Done bool              `json:"done"`
	// CallLongestTool answers with a completion calling the request's tool
	// with the longest name, spelled as received.
	CallLongestTool bool `json:"call_longest_tool"`
}

// Scripted serves a Script and records what it received.
type Scripted struct {
	recorder[Script]
	mu       sync.Mutex
	counters map[string]int
	issued   map[string]bool // tool-call ids handed out (echo_tool_ids)
}

// NewScripted returns an upstream that serves s.
func NewScripted(s Script) *Scripted {
	u := &Scripted{counters: map[string]int{}, issued: map[string]bool{}}
	u.script = s
	return u
}

// ServeHTTP answers by the script.
func (u *Scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, body, script := u.record(r)
	var key string
	for k := range script.Routes {
		if strings.HasSuffix(r.URL.Path, k) && len(k) > len(key) {
			key = k
		}
	}
	if key == "" {
		openaiError(w, http.StatusNotFound, "no route for "+r.URL.Path)
		return
	}
	route := script.Routes[key]
	var req map[string]any
	if err := json.Unmarshal(body, &req); err == nil {
		for _, name := range route.Checks {
			check, ok := Checks[name]
			if !ok {
				openaiError(w, http.StatusInternalServerError, "unknown check "+name)
				return
			}
			if err := check(u, req); err != nil {
				writeCheckError(w, err)
				return
			}
		}
	}
	u.mu.Lock()
	i := min(u.counters[key], len(route.Responses)-1)
	u.counters[key]++
	u.mu.Unlock()
	resp := route.Responses[i]
	if resp.CallLongestTool {
		resp = callLongestTool(req)
	}
	u.noteIssued(resp)
	if resp.DelayS > 0 {
		select {
		case <-time.After(time.Duration(resp.DelayS * float64(time.Second))):
		case <-r.Context().Done():
			return
		}
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	if resp.SSE != nil {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(status)
		rc := http.NewResponseController(w)
		for _, item := range resp.SSE {
			var raw string
			if json.Unmarshal(item, &raw) == nil {
				fmt.Fprint(w, raw)
			} else {
				fmt.Fprintf(w, "data: %s\n\n", compact(item))
			}
			_ = rc.Flush()
		}
		if resp.Done {
			fmt.Fprint(w, "data: [DONE]\n\n")
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(compact(resp.JSON))
}

func compact(raw json.RawMessage) []byte {
	var b strings.Builder
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return raw
	}
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return []byte(strings.TrimSuffix(b.String(), "\n"))
}

// noteIssued remembers the tool-call ids an answer hands out.
func (u *Scripted) noteIssued(resp ScriptResponse) {
	items := resp.SSE
	if resp.JSON != nil {
		items = append(items, resp.JSON)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, it := range items {
		var obj struct {
			Choices []struct {
				Delta, Message struct {
					ToolCalls []struct {
						ID string `json:"id"`
					} `json:"tool_calls"`
				}
			} `json:"choices"`
		}
		if json.Unmarshal(it, &obj) != nil {
			continue
		}
		for _, ch := range obj.Choices {
			for _, tc := range append(ch.Delta.ToolCalls, ch.Message.ToolCalls...) {
				if tc.ID != "" {
					u.issued[tc.ID] = true
				}
			}
		}
	}
}

func callLongestTool(req map[string]any) ScriptResponse {
	name := "none"
	for _, t := range list(req["tools"]) {
		if n, _ := obj(obj(t)["function"])["name"].(string); len(n) > len(name) || name == "none" {
			name = n
		}
	}
	b, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-longest", "object": "chat.completion", "model": req["model"],
		"choices": []any{map[string]any{"index": 0, "finish_reason": "tool_calls", "message": map[string]any{
			"role": "assistant", "content": nil,
			"tool_calls": []any{map[string]any{"id": "call_0001", "type": "function",
				"function": map[string]any{"name": name, "arguments": `{"insightName": "LCP"}`}}}}}},
		"usage": map[string]any{"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59},
	})
	return ScriptResponse{JSON: b}
}

// CheckError is a provider rule a request broke: the provider's 400 answer.
type CheckError struct {
	Message, Param, Code string
}

func (e *CheckError) Error() string { return e.Message }

func writeCheckError(w http.ResponseWriter, err error) {
	ce, _ := err.(*CheckError)
	if ce == nil {
		ce = &CheckError{Message: err.Error()}
	}
	e := map[string]any{"message": ce.Message, "type": "invalid_request_error", "param": nil, "code": nil}
	if ce.Param != "" {
		e["param"] = ce.Param
	}
	if ce.Code != "" {
		e["code"] = ce.Code
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write(b)
}

// Checks are the provider rules a Script may name, each as the provider
// words its refusal.
var Checks = map[string]func(u *Scripted, req map[string]any) error{
	"openai_tool_name_64":     func(_ *Scripted, req map[string]any) error { return CheckToolNames(req) },
	"openai_reasoning_params": func(_ *Scripted, req map[string]any) error { return checkReasoningParams(req) },
	"echo_tool_ids":           (*Scripted).checkEchoIDs,
	"openai_chat_shape":       func(_ *Scripted, req map[string]any) error { return CheckChatShape(req) },
}

var functionName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// CheckToolNames applies OpenAI's function-name rule, ^[a-zA-Z0-9_-]{1,64}$.
func CheckToolNames(req map[string]any) error {
	for i, t := range list(req["tools"]) {
		name, _ := obj(obj(t)["function"])["name"].(string)
		if len(name) > 64 {
			return &CheckError{Message: fmt.Sprintf("Invalid 'tools[%d].function.name': string too long. Expected a string with maximum length 64, but got a string with length %d instead.", i, len(name)),
				Param: fmt.Sprintf("tools[%d].function.name", i), Code: "string_above_max_length"}
		}
		if !functionName.MatchString(name) {
			return &CheckError{Message: fmt.Sprintf("Invalid 'tools[%d].function.name': string does not match pattern.", i),
				Param: fmt.Sprintf("tools[%d].function.name", i), Code: "invalid_value"}
		}
	}
	return nil
}

// checkReasoningParams is what OpenAI's reasoning models refuse.
func checkReasoningParams(req map[string]any) error {
	if _, ok := req["max_tokens"]; ok {
		return &CheckError{Message: "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
			Param: "max_tokens", Code: "unsupported_parameter"}
	}
	if t, ok := req["temperature"]; ok && t != 1.0 {
		return &CheckError{Message: fmt.Sprintf("Unsupported value: 'temperature' does not support %v with this model. Only the default (1) value is supported.", t),
			Param: "temperature", Code: "unsupported_value"}
	}
	return nil
}

// checkEchoIDs requires the tool-call ids of the history to be ids this
// upstream issued (Kimi's rule).
func (u *Scripted) checkEchoIDs(req map[string]any) error {
	u.mu.Lock()
	known := make(map[string]bool, len(u.issued))
	issued := make([]string, 0, len(u.issued))
	for id := range u.issued {
		known[id] = true
		issued = append(issued, id)
	}
	u.mu.Unlock()
	sort.Strings(issued)
	for i, m := range list(req["messages"]) {
		mm := obj(m)
		var ids []string
		switch mm["role"] {
		case "assistant":
			for _, tc := range list(mm["tool_calls"]) {
				id, _ := obj(tc)["id"].(string)
				ids = append(ids, id)
			}
		case "tool":
			id, _ := mm["tool_call_id"].(string)
			ids = append(ids, id)
		}
		for _, id := range ids {
			if !known[id] {
				return &CheckError{Message: fmt.Sprintf("messages[%d]: tool call id %q was not issued by this server (issued: %v)", i, id, issued)}
			}
		}
	}
	return nil
}

// CheckChatShape applies the parts of OpenAI's request validation that a
// converter can get wrong: known roles, content parts of the types each
// role takes, tool_calls answered at once by tool messages, tools as
// functions. The messages follow OpenAI's wording.
func CheckChatShape(req map[string]any) error {
	partsOK := map[string]map[string]bool{
		"system": {"text": true}, "developer": {"text": true}, "tool": {"text": true},
		"user":      {"text": true, "image_url": true, "input_audio": true, "file": true},
		"assistant": {"text": true, "refusal": true},
	}
	msgs := list(req["messages"])
	if len(msgs) == 0 {
		return &CheckError{Message: "Missing required parameter: 'messages'.", Param: "messages", Code: "missing_required_parameter"}
	}
	pending := map[string]bool{}
	pendingList := func() string {
		var ids []string
		for id := range pending {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		return strings.Join(ids, ", ")
	}
	for i, m := range msgs {
		mm := obj(m)
		role, _ := mm["role"].(string)
		allowed, ok := partsOK[role]
		if !ok {
			return &CheckError{Message: fmt.Sprintf("Invalid value: %q. Supported values are: 'system', 'assistant', 'user', 'tool', 'function', and 'developer'.", role),
				Param: fmt.Sprintf("messages[%d].role", i), Code: "invalid_value"}
		}
		if len(pending) > 0 && role != "tool" {
			return &CheckError{Message: "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: " + pendingList(), Param: "messages"}
		}
		switch c := mm["content"].(type) {
		case []any:
			for j, p := range c {
				pp := obj(p)
				typ, _ := pp["type"].(string)
				if !allowed[typ] {
					return &CheckError{Message: fmt.Sprintf("Invalid value: %q. Supported values are: %s.", typ, quotedKeys(allowed)),
						Param: fmt.Sprintf("messages[%d].content[%d].type", i, j), Code: "invalid_value"}
				}
				if _, isStr := pp["text"].(string); typ == "text" && !isStr {
					return &CheckError{Message: fmt.Sprintf("Invalid type for 'messages[%d].content[%d].text': expected a string.", i, j), Code: "invalid_type"}
				}
			}
		case string:
		case nil:
			if role != "assistant" || len(list(mm["tool_calls"])) == 0 {
				return &CheckError{Message: "Invalid value for 'content': expected a string, got null.", Param: fmt.Sprintf("messages[%d].content", i)}
			}
		default:
			return &CheckError{Message: fmt.Sprintf("Invalid type for 'messages[%d].content': expected one of a string or array of objects.", i), Code: "invalid_type"}
		}
		if role == "assistant" {
			for j, tc := range list(mm["tool_calls"]) {
				t := obj(tc)
				fn := obj(t["function"])
				id, idOK := t["id"].(string)
				_, nameOK := fn["name"].(string)
				_, argsOK := fn["arguments"].(string)
				if !idOK || t["type"] != "function" || fn == nil || !nameOK || !argsOK {
					return &CheckError{Message: fmt.Sprintf("Invalid 'messages[%d].tool_calls[%d]': each tool call needs a string id, type 'function' and function.name / function.arguments strings.", i, j), Code: "invalid_value"}
				}
				pending[id] = true
			}
		}
		if role == "tool" {
			id, _ := mm["tool_call_id"].(string)
			if !pending[id] {
				return &CheckError{Message: "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", Param: fmt.Sprintf("messages[%d].role", i)}
			}
			delete(pending, id)
		}
	}
	if len(pending) > 0 {
		return &CheckError{Message: "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: " + pendingList(), Param: "messages"}
	}
	for i, t := range list(req["tools"]) {
		tt := obj(t)
		fn := obj(tt["function"])
		if _, ok := fn["name"].(string); tt["type"] != "function" || fn == nil || !ok {
			return &CheckError{Message: fmt.Sprintf("Invalid value for 'tools[%d]': expected a function tool.", i), Param: fmt.Sprintf("tools[%d]", i), Code: "invalid_value"}
		}
		if p, ok := fn["parameters"]; ok {
			if _, isObj := p.(map[string]any); !isObj {
				return &CheckError{Message: fmt.Sprintf("Invalid type for 'tools[%d].function.parameters': expected an object.", i), Code: "invalid_type"}
			}
		}
	}
	return nil
}

func quotedKeys(m map[string]bool) string {
	var ks []string
	for k := range m {
		ks = append(ks, "'"+k+"'")
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}

func list(v any) []any { l, _ := v.([]any); return l }

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }
