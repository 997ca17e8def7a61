package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers by which a load client tells the fake upstream how to shape a stream. They
// pass through the proxies untouched, like any other client header.
const (
	headerEvents = "X-Bench-Events" // number of content_block_delta events
	headerGap    = "X-Bench-Gap"    // Go duration between deltas
)

// upstream is a fast fake Anthropic Messages API. It answers every POST /v1/messages
// with a ~1 KB message, or with a full SSE stream when the body asks for one; POST
// /v1/chat/completions is the same as an OpenAI Chat Completions endpoint
// (upstream_chat.go).
type upstream struct {
	events int           // default number of text deltas per stream
	gap    time.Duration // default pause between deltas
}

// answerText is the text of the non-streaming answer, sized so the JSON is ~1 KB.
var answerText = strings.Repeat("The change compiles and the tests pass; nothing else needed editing. ", 11)

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/" && (r.Method == http.MethodHead || r.Method == http.MethodGet) {
		w.WriteHeader(http.StatusOK)
		return
	}
	if r.URL.Path == "/v1/chat/completions" && r.Method == http.MethodPost {
		u.serveChat(w, r)
		return
	}
	if r.URL.Path != "/v1/messages" || r.Method != http.MethodPost {
		http.Error(w, `{"type":"error","error":{"type":"not_found_error","message":"not found"}}`, http.StatusNotFound)
		return
	}
	// Read the whole body before answering, as the real API does: it is also what
	// makes the proxies' request body handling matter.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, `{"type":"error","error":{"type":"invalid_request_error","message":"reading body"}}`, http.StatusBadRequest)
		return
	}
	model, stream, ok := peekRequest(body)
	if !ok {
		http.Error(w, `{"type":"error","error":{"type":"invalid_request_error","message":"no model"}}`, http.StatusBadRequest)
		return
	}
	h := w.Header()
	h.Set("Request-Id", "req_bench")
	h.Set("Anthropic-Ratelimit-Requests-Remaining", "999")
	if !stream {
		h.Set("Content-Type", "application/json")
		out := fmt.Appendf(make([]byte, 0, 1200),
			`{"id":"msg_bench01","type":"message","role":"assistant","model":%q,"content":[{"type":"text","text":%q}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":%d,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":120}}`,
			model, answerText, len(body)/4)
		h.Set("Content-Length", strconv.Itoa(len(out)))
		_, _ = w.Write(out)
		return
	}
	u.stream(w, r, model, len(body)/4)
}

// stream writes message_start, content_block_start, ping, N text deltas with a gap,
// content_block_stop, message_delta and message_stop, flushing each event.
func (u *upstream) stream(w http.ResponseWriter, r *http.Request, model string, inputTokens int) {
	events, gap := u.streamShape(r)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	buf := make([]byte, 0, 512)
	send := func(event, data string) bool {
		buf = append(buf[:0], "event: "...)
		buf = append(buf, event...)
		buf = append(buf, "\ndata: "...)
		buf = append(buf, data...)
		buf = append(buf, "\n\n"...)
		if _, err := w.Write(buf); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	start := fmt.Sprintf(`{"type":"message_start","message":{"id":"msg_bench01","type":"message","role":"assistant","model":%q,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":%d,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}`, model, inputTokens)
	if !send("message_start", start) ||
		!send("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`) ||
		!send("ping", `{"type": "ping"}`) {
		return
	}
	var pace pacer
	for i := range events {
		if i > 0 && !pace.wait(r.Context(), gap) {
			return
		}
		if !send("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"token `+strconv.Itoa(i)+` of the answer "}}`) {
			return
		}
	}
	_ = send("content_block_stop", `{"type":"content_block_stop","index":0}`) &&
		send("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":`+strconv.Itoa(events*4+1)+`}}`) &&
		send("message_stop", `{"type":"message_stop"}`)
}

// pacer spaces a stream's events, with one timer for the whole stream.
type pacer struct{ timer *time.Timer }

// wait waits gap (nothing when gap is 0); false when ctx ended first.
func (p *pacer) wait(ctx context.Context, gap time.Duration) bool {
	if gap <= 0 {
		return true
	}
	if p.timer == nil {
		p.timer = time.NewTimer(gap)
	} else {
		p.timer.Reset(gap)
	}
	select {
	case <-p.timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// streamShape returns the number of deltas and the gap between them for one
// stream: the defaults, or the client's headerEvents and headerGap.
func (u *upstream) streamShape(r *http.Request) (events int, gap time.Duration) {
	events, gap = u.events, u.gap
	if v := r.Header.Get(headerEvents); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			events = n
		}
	}
	if v := r.Header.Get(headerGap); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d >= 0 {
			gap = d
		}
	}
	return events, gap
}

// peekRequest finds the model and the stream flag without decoding the body: the fake
// must stay cheap so that it does not hide the proxies' cost. It relies on the client's
// key order (model first, stream last), which every proxy under test keeps.
func peekRequest(body []byte) (model string, stream bool, ok bool) {
	if model, ok = peekModel(body); !ok {
		return "", false, false
	}
	tail := bytes.TrimRight(body, " \t\r\n}")
	return model, bytes.HasSuffix(tail, []byte(`"stream":true`)), true
}
