package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// serveChat is the fake's OpenAI Chat Completions endpoint, POST
// /v1/chat/completions, for the OpenAI-provider target: a ~1 KB
// chat.completion, or, when the body asks for a stream, chunks as
// OpenAI sends them (a role chunk, N content deltas with the gap, a
// finish_reason chunk, a usage chunk, data: [DONE]).
func (u *upstream) serveChat(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, `{"error":{"message":"reading body","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	model, ok := peekModel(body)
	if !ok {
		http.Error(w, `{"error":{"message":"no model","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	h := w.Header()
	h.Set("X-Request-Id", "req_bench")
	if !chatStream(body) {
		h.Set("Content-Type", "application/json")
		out := fmt.Appendf(make([]byte, 0, 1200),
			`{"id":"chatcmpl-bench01","object":"chat.completion","created":1764100000,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":%q,"refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":%d,"completion_tokens":120,"total_tokens":%d,"prompt_tokens_details":{"cached_tokens":0}}}`,
			model, answerText, len(body)/4, len(body)/4+120)
		h.Set("Content-Length", strconv.Itoa(len(out)))
		_, _ = w.Write(out)
		return
	}
	events, gap := u.streamShape(r)
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	buf := make([]byte, 0, 512)
	prefix := `{"id":"chatcmpl-bench01","object":"chat.completion.chunk","created":1764100000,"model":` + strconv.Quote(model) + `,"choices":[{"index":0,"delta":`
	send := func(data string) bool {
		buf = append(buf[:0], "data: "...)
		buf = append(buf, data...)
		buf = append(buf, "\n\n"...)
		if _, err := w.Write(buf); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send(prefix + `{"role":"assistant","content":""},"finish_reason":null}]}`) {
		return
	}
	var pace pacer
	for i := range events {
		if i > 0 && !pace.wait(r.Context(), gap) {
			return
		}
		if !send(prefix + `{"content":"token ` + strconv.Itoa(i) + ` of the answer "},"finish_reason":null}]}`) {
			return
		}
	}
	_ = send(prefix+`{},"finish_reason":"stop"}]}`) &&
		send(`{"id":"chatcmpl-bench01","object":"chat.completion.chunk","created":1764100000,"model":`+strconv.Quote(model)+
			`,"choices":[],"usage":{"prompt_tokens":`+strconv.Itoa(len(body)/4)+`,"completion_tokens":`+strconv.Itoa(events*4+1)+`,"total_tokens":`+strconv.Itoa(len(body)/4+events*4+1)+`}}`) &&
		send("[DONE]")
}

// peekModel finds the first "model" string of a body without decoding it.
func peekModel(body []byte) (string, bool) {
	const modelKey = `"model":"`
	i := bytes.Index(body, []byte(modelKey))
	if i < 0 {
		return "", false
	}
	rest := body[i+len(modelKey):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return "", false
	}
	return string(rest[:j]), true
}

// chatStream reports "stream":true among the last members of a Chat
// Completions body, where ccbalancer writes it (before stream_options).
func chatStream(body []byte) bool {
	tail := body[max(0, len(body)-256):]
	return bytes.Contains(tail, []byte(`"stream":true`))
}
