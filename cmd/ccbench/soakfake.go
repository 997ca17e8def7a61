package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The soak's providers: fake Messages API and Chat Completions servers that
// fail at random. Each request carries "soak-id:N" in its first user
// message; a complete answer's text is soakText(N, words), so that the load
// client can tell a complete answer from one that only looks complete.

// fault is one way a soak provider answers.
type fault int

const (
	faultOK      fault = iota // a whole answer
	faultSlow                 // a whole answer, slowly
	fault500                  // HTTP 500
	fault529                  // HTTP 529 overloaded
	fault429                  // HTTP 429 with retry-after
	faultCut                  // some content, then the connection is cut
	faultStall                // some content (or nothing), then silence
	faultEndless              // an event (or JSON body) that never ends
	faultCount
)

var faultNames = [faultCount]string{"ok", "slow", "500", "529", "429", "cut", "stall", "endless"}

// faultWeights are the chances of each fault, in parts of 1000.
var faultWeights = [faultCount]int{700, 100, 40, 50, 20, 40, 30, 20}

func pickFault(r *rand.Rand) fault {
	n := r.IntN(1000)
	for f, w := range faultWeights {
		if n < w {
			return fault(f)
		}
		n -= w
	}
	return faultOK
}

// soakText is the text of a complete answer to request id.
func soakText(id uint64, words int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "soak %d:", id)
	for i := range words {
		fmt.Fprintf(&b, " w%d", i)
	}
	fmt.Fprintf(&b, " end %d.", id)
	return b.String()
}

// soakWords splits soakText into the deltas a stream sends.
func soakWords(text string) []string {
	parts := strings.SplitAfter(text, " ")
	return parts
}

// soakID reads the request id from a request body.
func soakID(body []byte) (uint64, bool) {
	i := bytes.Index(body, []byte("soak-id:"))
	if i < 0 {
		return 0, false
	}
	j := i + len("soak-id:")
	k := j
	for k < len(body) && body[k] >= '0' && body[k] <= '9' {
		k++
	}
	id, err := strconv.ParseUint(string(body[j:k]), 10, 64)
	return id, err == nil
}

// soakProvider is one fake provider: wire "anthropic" or "openai".
type soakProvider struct {
	name   string
	wire   string
	faults [faultCount]atomic.Int64 // injected, by kind
}

func (p *soakProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	id, ok := soakID(body)
	if !ok {
		http.Error(w, `{"type":"error","error":{"type":"invalid_request_error","message":"no soak-id"}}`, http.StatusBadRequest)
		return
	}
	var req struct {
		Stream bool `json:"stream"`
	}
	_ = json.Unmarshal(body, &req)
	rng := rand.New(rand.NewPCG(id, uint64(time.Now().UnixNano())))
	f := pickFault(rng)
	p.faults[f].Add(1)
	text := soakText(id, 3+int(id%28))
	gap := time.Duration(0)
	switch f {
	case fault500, fault529, fault429:
		status := map[fault]int{fault500: 500, fault529: 529, fault429: 429}[f]
		if f == fault429 {
			w.Header().Set("Retry-After", "1")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if p.wire == "openai" {
			fmt.Fprintf(w, `{"error":{"message":"fault %s","type":"server_error","code":%d}}`, faultNames[f], status)
		} else {
			fmt.Fprintf(w, `{"type":"error","error":{"type":"overloaded_error","message":"fault %s"}}`, faultNames[f])
		}
		return
	case faultSlow:
		gap = time.Duration(10+rng.IntN(40)) * time.Millisecond
	}
	if !req.Stream {
		p.message(w, r, f, id, text, gap)
		return
	}
	p.stream(w, r, f, text, gap, rng)
}

func (p *soakProvider) message(w http.ResponseWriter, r *http.Request, f fault, id uint64, text string, gap time.Duration) {
	var out []byte
	if p.wire == "openai" {
		out, _ = json.Marshal(map[string]any{"id": "chatcmpl-" + strconv.FormatUint(id, 10), "object": "chat.completion", "created": 1, "model": "m",
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": text}, "finish_reason": "stop"}},
			"usage":   map[string]any{"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})
	} else {
		out, _ = json.Marshal(map[string]any{"id": "msg_" + strconv.FormatUint(id, 10), "type": "message", "role": "assistant", "model": "m",
			"content": []any{map[string]any{"type": "text", "text": text}}, "stop_reason": "end_turn", "stop_sequence": nil,
			"usage": map[string]any{"input_tokens": 10, "output_tokens": 5}})
	}
	switch f {
	case faultSlow:
		if !sleepCtx(r, gap*5) {
			return
		}
	case faultStall:
		<-r.Context().Done()
		return
	case faultEndless:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"msg_x","content":[{"type":"text","text":"`)
		endless(w, r, []byte(strings.Repeat("x", 32<<10)))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	if f == faultCut {
		w.Write(out[:len(out)/2])
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler)
	}
	w.Write(out)
}

func (p *soakProvider) stream(w http.ResponseWriter, r *http.Request, f fault, text string, gap time.Duration, rng *rand.Rand) {
	w.Header().Set("Content-Type", "text/event-stream")
	rc := http.NewResponseController(w)
	send := func(s string) bool {
		if _, err := io.WriteString(w, s); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	words := soakWords(text)
	// Faults strike at a random point: before any content, or midway.
	at := rng.IntN(len(words) + 1)
	if !send(p.head()) {
		return
	}
	for i, word := range words {
		if i == at {
			switch f {
			case faultCut:
				panic(http.ErrAbortHandler)
			case faultStall:
				<-r.Context().Done()
				return
			case faultEndless:
				line := strings.TrimSuffix(p.delta("more "), "\n\n") + "\n"
				endless(w, r, []byte(strings.Repeat(line, 64)))
				return
			}
		}
		if gap > 0 && !sleepCtx(r, gap) {
			return
		}
		if !send(p.delta(word)) {
			return
		}
	}
	send(p.tail())
}

func (p *soakProvider) head() string {
	if p.wire == "openai" {
		return "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
	}
	return "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_s\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
}

func (p *soakProvider) delta(text string) string {
	t, _ := json.Marshal(text)
	if p.wire == "openai" {
		return "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":" + string(t) + "},\"finish_reason\":null}]}\n\n"
	}
	return "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":" + string(t) + "}}\n\n"
}

func (p *soakProvider) tail() string {
	if p.wire == "openai" {
		return "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15}}\n\ndata: [DONE]\n\n"
	}
	return "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":5}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
}

// endless writes chunk until the client goes away.
func endless(w http.ResponseWriter, r *http.Request, chunk []byte) {
	for r.Context().Err() == nil {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

// sleepCtx waits d, or less if the request ends; it reports whether the
// request is still on.
func sleepCtx(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}
