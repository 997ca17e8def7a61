// Package fake is a fake Anthropic Messages API upstream that speaks the real
// wire format (JSON answers and SSE streams) and can misbehave on demand: fail
// with a status, answer 200 then an error event, stall, or cut a stream. The
// tests and the built-in demo use it.
package fake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Mode is how the upstream answers one request.
type Mode int

// Modes.
const (
	OK                Mode = iota // a normal answer, JSON or SSE as requested
	Status                        // Reply.Status with an Anthropic error body
	ErrorEvent                    // 200, message_start, then event: error (overloaded)
	CutAfterContent               // stream: some deltas, then the connection is cut
	StallMidStream                // stream: some deltas, then silence until the client leaves
	StallHeaders                  // no response headers until the client leaves
	CloseConn                     // the connection is closed without a response
	EndWithoutStop                // stream: content, then a clean end without message_stop
	ErrorAfterContent             // stream: content, then event: error
	StallAfterStart               // stream: message_start, then silence until the client leaves
)

// Reply describes one answer.
type Reply struct {
	Mode       Mode
	Status     int    // for Status
	RetryAfter string // Retry-After header value, for Status
	Message    string // error message, for Status and ErrorEvent
	Text       string // the answer's text; "" gives a default
	Deltas     int    // text deltas in a stream (default 3)
	Gap        time.Duration
	// Usage, when set, is the answer's token usage: a stream sends the
	// input and cache counts in message_start and the output count in
	// message_delta, as the Messages API does. Without it a message reports
	// 12 input and 5 output tokens; a stream 12 input and one output token
	// per delta.
	Usage *Usage
	// Step, when set, paces the answer by the test: each delta of a stream
	// waits for a value on it (after Gap, if any); a whole message waits
	// for one value before it is sent.
	Step <-chan struct{}
	// Header is sent with the answer, whatever the mode (rate-limit
	// headers, for example).
	Header http.Header
}

// Usage is an answer's token usage, as the Messages API counts it.
type Usage struct {
	Input, Output, CacheRead, CacheWrite int
}

// Request is what the upstream received.
type Request struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

// Upstream is an http.Handler. Set Script before serving, or use SetScript.
type Upstream struct {
	Name string

	recorder[func(n int, r *http.Request) Reply]
	Models
	// Cancelled receives one value each time a request's context ends while
	// the handler is still writing or waiting (the client went away).
	Cancelled chan struct{}
}

// Models answers GET /v1/models (Anthropic) or GET /models (OpenAI) with a
// list of Names, or with an error of Status when it is not 0. It is shared
// by both fakes; the requests are recorded, but not counted as the
// numbered requests a script sees.
type Models struct {
	mu     sync.Mutex
	names  []string
	status int
}

// SetModels sets the answer to a model list request.
func (m *Models) SetModels(status int, names ...string) {
	m.mu.Lock()
	m.status, m.names = status, names
	m.mu.Unlock()
}

func (m *Models) answer() (int, []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.names == nil && m.status == 0 {
		return 0, []string{"claude-sonnet-5", "claude-haiku-5-5"}
	}
	return m.status, m.names
}

// New returns an upstream that answers every request with OK.
func New(name string) *Upstream {
	u := &Upstream{Name: name, Cancelled: make(chan struct{}, 1024)}
	u.script = func(int, *http.Request) Reply { return Reply{} }
	return u
}

// SetScript sets how request n (counted from 1) is answered.
func (u *Upstream) SetScript(f func(n int, r *http.Request) Reply) { u.setScript(f) }

// Always answers every request with rep.
func (u *Upstream) Always(rep Reply) { u.SetScript(func(int, *http.Request) Reply { return rep }) }

// ServeHTTP implements the Messages API.
func (u *Upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/v1/models" {
		u.keep(r)
		status, names := u.answer()
		if status != 0 {
			writeError(w, status, errorType(status), http.StatusText(status))
			return
		}
		var data []map[string]any
		for _, n := range names {
			data = append(data, map[string]any{"type": "model", "id": n, "display_name": n, "created_at": "2026-01-01T00:00:00Z"})
		}
		b, _ := json.Marshal(map[string]any{"data": data, "has_more": false, "first_id": names[0], "last_id": names[len(names)-1]})
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
		return
	}
	n, body, script := u.record(r)
	if r.URL.Path != "/v1/messages" || r.Method != http.MethodPost {
		writeError(w, http.StatusNotFound, "not_found_error", "no such endpoint "+r.URL.Path)
		return
	}
	var req struct {
		Model  string `json:"model"`
		Stream bool   `json:"stream"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "body: "+err.Error())
		return
	}
	rep := script(n, r)
	for k, vs := range rep.Header {
		w.Header()[http.CanonicalHeaderKey(k)] = vs
	}
	if rep.Text == "" {
		rep.Text = fmt.Sprintf("Hello from %s.", u.Name)
	}
	if rep.Deltas == 0 {
		rep.Deltas = 3
	}
	id := fmt.Sprintf("msg_%s_%d", strings.ToLower(u.Name), n)
	switch rep.Mode {
	case Status:
		if rep.RetryAfter != "" {
			w.Header().Set("Retry-After", rep.RetryAfter)
		}
		msg := rep.Message
		if msg == "" {
			msg = http.StatusText(rep.Status)
		}
		writeError(w, rep.Status, errorType(rep.Status), msg)
		return
	case StallHeaders:
		<-r.Context().Done()
		u.Cancelled <- struct{}{}
		return
	case CloseConn:
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	if !req.Stream {
		if rep.Step != nil {
			select {
			case <-rep.Step:
			case <-r.Context().Done():
				u.Cancelled <- struct{}{}
				return
			}
		}
		us := Usage{Input: 12, Output: 5}
		if rep.Usage != nil {
			us = *rep.Usage
		}
		writeMessage(w, u.Name, id, req.Model, rep.Text, us)
		return
	}
	u.stream(w, r, id, req.Model, rep)
}

func (u *Upstream) stream(w http.ResponseWriter, r *http.Request, id, model string, rep Reply) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Request-Id", "req_"+id)
	h.Set("Anthropic-Ratelimit-Requests-Remaining", "999")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	send := func(name string, v any) bool {
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	wait := func(d time.Duration) bool {
		if d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				u.Cancelled <- struct{}{}
				return false
			}
		}
		if rep.Step != nil {
			select {
			case <-rep.Step:
			case <-r.Context().Done():
				u.Cancelled <- struct{}{}
				return false
			}
		}
		return true
	}
	us := Usage{Input: 12}
	if rep.Usage != nil {
		us = *rep.Usage
	}
	send("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": us.Input, "cache_creation_input_tokens": us.CacheWrite, "cache_read_input_tokens": us.CacheRead, "output_tokens": 1},
	}})
	if rep.Mode == ErrorEvent {
		msg := rep.Message
		if msg == "" {
			msg = "Overloaded"
		}
		send("error", map[string]any{"type": "error", "error": map[string]any{"type": "overloaded_error", "message": msg}})
		return
	}
	if rep.Mode == StallAfterStart {
		<-r.Context().Done()
		u.Cancelled <- struct{}{}
		return
	}
	send("content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "text", "text": ""}})
	send("ping", map[string]any{"type": "ping"})
	parts := split(rep.Text, rep.Deltas)
	for i, p := range parts {
		if !wait(rep.Gap) {
			return
		}
		if !send("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "text_delta", "text": p}}) {
			u.Cancelled <- struct{}{}
			return
		}
		if i == len(parts)/2 {
			switch rep.Mode {
			case CutAfterContent:
				panic(http.ErrAbortHandler)
			case StallMidStream:
				<-r.Context().Done()
				u.Cancelled <- struct{}{}
				return
			case ErrorAfterContent:
				send("error", map[string]any{"type": "error", "error": map[string]any{"type": "overloaded_error", "message": "Overloaded"}})
				return
			}
		}
	}
	send("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0})
	out := len(parts)
	if rep.Usage != nil {
		out = rep.Usage.Output
	}
	send("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": "end_turn", "stop_sequence": nil}, "usage": map[string]any{"output_tokens": out}})
	if rep.Mode == EndWithoutStop {
		return
	}
	send("message_stop", map[string]any{"type": "message_stop"})
}

// split cuts text into n pieces of about equal length (at least one).
func split(text string, n int) []string {
	rs := []rune(text)
	n = max(1, min(n, len(rs)))
	var out []string
	for i := range n {
		out = append(out, string(rs[i*len(rs)/n:(i+1)*len(rs)/n]))
	}
	return out
}

func writeMessage(w http.ResponseWriter, name, id, model, text string, us Usage) {
	b, _ := json.Marshal(map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": model,
		"content":     []any{map[string]any{"type": "text", "text": text}},
		"stop_reason": "end_turn", "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": us.Input, "cache_creation_input_tokens": us.CacheWrite, "cache_read_input_tokens": us.CacheRead, "output_tokens": us.Output},
	})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Header().Set("Request-Id", "req_"+id)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	b, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func errorType(status int) string {
	switch status {
	case 400, 413, 422:
		return "invalid_request_error"
	case 401:
		return "authentication_error"
	case 402:
		return "billing_error"
	case 403:
		return "permission_error"
	case 404:
		return "not_found_error"
	case 429:
		return "rate_limit_error"
	case 529, 503:
		return "overloaded_error"
	}
	return "api_error"
}

// recorder keeps what a fake upstream received and its script (S, a
// function deciding each answer).
type recorder[S any] struct {
	mu       sync.Mutex
	script   S
	requests []Request
	n        atomic.Int64
}

func (rc *recorder[S]) setScript(s S) {
	rc.mu.Lock()
	rc.script = s
	rc.mu.Unlock()
}

// record reads and keeps one request; it returns its number (from 1), its
// body and the script in force.
func (rc *recorder[S]) record(r *http.Request) (int, []byte, S) {
	body, _ := io.ReadAll(r.Body)
	n := int(rc.n.Add(1))
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.requests = append(rc.requests, Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	return n, body, rc.script
}

// keep records a request that is not one of the numbered ones.
func (rc *recorder[S]) keep(r *http.Request) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.requests = append(rc.requests, Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone()})
}

// Requests returns copies of the requests received so far.
func (rc *recorder[S]) Requests() []Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Request(nil), rc.requests...)
}

// Count returns how many requests arrived.
func (rc *recorder[S]) Count() int { return int(rc.n.Load()) }
