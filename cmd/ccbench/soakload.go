package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ccbalancer/ccbalancer/proxy/sse"
)

// hangLimit: a request not over by then hangs. Every soak timeout is a few
// seconds, and a request tries at most three providers.
const hangLimit = 90 * time.Second

// soakResults is what a soak measured; the counters are safe for
// concurrent use.
type soakResults struct {
	Flags              *soakFlags
	Version            string
	Started, LoadEnded time.Time

	mu            sync.Mutex
	Requests      int
	Outcomes      map[string]int // load requests by outcome
	Abuse         map[string]int // abusive clients' requests by outcome
	AbuseLongest  map[string]time.Duration
	Reloads       map[string]int
	FalseComplete int // answers that looked complete but were not
	Hangs         int
	Faults        [faultCount]int64

	Start, Peak, End resources
	nextID           atomic.Uint64
}

func (r *soakResults) count(m *map[string]int, key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	(*m)[key]++
}

// Outcomes of the load's requests.
const (
	outComplete      = "complete answer"
	outAborted       = "aborted after the first byte (honest cut)"
	outTransport     = "connection failed before an answer"
	outFalseComplete = "LOOKED COMPLETE BUT WAS NOT"
	outHang          = "HANG"
)

// soakBodies are the request bodies; "soak-id:N" is spliced into the first
// user message of each request.
var soakBodies = func() map[bool][][]byte {
	m := map[bool][][]byte{}
	for _, stream := range []bool{false, true} {
		small, _ := json.Marshal(map[string]any{"model": "claude-sonnet-5", "max_tokens": 1024, "stream": stream,
			"messages": []any{map[string]any{"role": "user", "content": "Summarise the change."}}})
		m[stream] = [][]byte{small, buildBody(bodyLarge, stream, "claude-sonnet-5")}
	}
	return m
}()

func soakBody(id uint64, stream, large bool) []byte {
	b := soakBodies[stream][0]
	if large {
		b = soakBodies[stream][1]
	}
	marker := fmt.Sprintf(`"messages":[{"role":"user","content":"soak-id:%d"},`, id)
	return bytes.Replace(b, []byte(`"messages":[`), []byte(marker), 1)
}

// runLoad sends requests until ctx ends: seven in ten streamed, one in ten
// with a large (~90 KB) body.
func runLoad(ctx context.Context, c *http.Client, base string, seed uint64, res *soakResults) {
	rng := rand.New(rand.NewPCG(seed, 7))
	h := clientHeaders()
	for ctx.Err() == nil {
		id := res.nextID.Add(1)
		stream := rng.IntN(10) < 7
		out := soakRequest(c, base, h, id, stream, rng.IntN(10) == 0)
		res.mu.Lock()
		res.Requests++
		res.Outcomes[out]++
		switch out {
		case outFalseComplete:
			res.FalseComplete++
		case outHang:
			res.Hangs++
		}
		res.mu.Unlock()
	}
}

// soakRequest sends one request and says how it ended.
func soakRequest(c *http.Client, base string, h http.Header, id uint64, stream, large bool) string {
	ctx, cancel := context.WithTimeout(context.Background(), hangLimit)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/messages?beta=true", bytes.NewReader(soakBody(id, stream, large)))
	req.Header = h.Clone()
	if stream {
		req.Header.Set("Accept", "text/event-stream")
	}
	resp, err := c.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return outHang
		}
		return outTransport
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		_, _ = io.Copy(io.Discard, resp.Body)
		label := "HTTP " + strconv.Itoa(resp.StatusCode)
		if resp.Header.Get("Retry-After") != "" {
			label += " with retry-after"
		}
		return label
	}
	want := soakText(id, 3+int(id%28))
	var text string
	var complete bool
	if stream {
		var stop bool
		rd := sse.NewReader(resp.Body, 0)
		var b strings.Builder
		for {
			ev, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				if ctx.Err() != nil {
					return outHang
				}
				return outAborted
			}
			switch ev.Name {
			case "message_stop":
				stop = true
			case "content_block_delta":
				var d struct {
					Delta struct {
						Text string `json:"text"`
					} `json:"delta"`
				}
				_ = json.Unmarshal(ev.Data, &d)
				b.WriteString(d.Delta.Text)
			}
		}
		text, complete = b.String(), stop
	} else {
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			if ctx.Err() != nil {
				return outHang
			}
			return outAborted
		}
		var m struct {
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
			StopReason string `json:"stop_reason"`
		}
		if json.Unmarshal(body, &m) == nil && len(m.Content) == 1 {
			text, complete = m.Content[0].Text, m.StopReason == "end_turn"
		}
	}
	if !complete || text != want {
		// A clean end that is not the whole answer: what a client must
		// never see.
		fmt.Fprintf(os.Stderr, "ccbench: soak request %d looked complete but was not: %q\n", id, text)
		return outFalseComplete
	}
	return outComplete
}

// abuser is a client that tries to make the proxy hold resources.
type abuser struct {
	name string
	// once makes one attempt and returns its outcome.
	once func(ctx context.Context, addr string) string
}

func (a abuser) run(ctx context.Context, addr string, res *soakResults) {
	for ctx.Err() == nil {
		start := time.Now()
		key := a.name + ": " + a.once(ctx, addr)
		res.mu.Lock()
		res.Abuse[key]++
		res.AbuseLongest[key] = max(res.AbuseLongest[key], time.Since(start))
		res.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// rawExchange dials addr, writes head and body, then waits (at most 60 s)
// for the status line of the answer.
func rawExchange(ctx context.Context, addr, head string, body io.Reader) string {
	c, err := dialLoopback(ctx, addr)
	if err != nil {
		return "dial failed"
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.WriteString(c, head); err != nil {
		return "write failed"
	}
	if body != nil {
		go func() { _, _ = io.Copy(c, body) }()
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return "no answer in 60 s"
		}
		return "connection closed without an answer"
	}
	resp.Body.Close()
	return "HTTP " + strconv.Itoa(resp.StatusCode)
}

// trickle yields a byte every gap until ctx ends.
type trickle struct {
	ctx context.Context
	gap time.Duration
}

func (t trickle) Read(p []byte) (int, error) {
	select {
	case <-t.ctx.Done():
		return 0, io.EOF
	case <-time.After(t.gap):
	}
	p[0] = ' '
	return 1, nil
}

func postHeadFor(path, length string) string {
	h := "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Api-Key: k\r\n"
	if length == "chunked" {
		return h + "Transfer-Encoding: chunked\r\n\r\n"
	}
	return h + "Content-Length: " + length + "\r\n\r\n"
}

var hugeText = base64.StdEncoding.EncodeToString(make([]byte, 6<<20))

var abusers = []abuser{
	{"slow body (headers, then silence)", func(ctx context.Context, addr string) string {
		return rawExchange(ctx, addr, postHeadFor("/v1/messages", "5000")+`{"model":"claude-sonnet-5","messages":[`, nil)
	}},
	{"trickled body (a byte every 200 ms)", func(ctx context.Context, addr string) string {
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return rawExchange(ctx, addr, postHeadFor("/v1/messages", "1000"), trickle{tctx, 200 * time.Millisecond})
	}},
	{"body past max_body_size", func(ctx context.Context, addr string) string {
		return rawExchange(ctx, addr, postHeadFor("/v1/messages", strconv.Itoa(64<<20)), nil)
	}},
	{"endless chunked body", func(ctx context.Context, addr string) string {
		zctx, cancel := context.WithCancel(ctx)
		defer cancel()
		pr, pw := io.Pipe()
		go func() {
			buf := make([]byte, 32<<10)
			for i := range buf {
				buf[i] = '0'
			}
			chunk := append(append([]byte(fmt.Sprintf("%x\r\n", len(buf))), buf...), "\r\n"...)
			for zctx.Err() == nil {
				if _, err := pw.Write(chunk); err != nil {
					return
				}
			}
			pw.Close()
		}()
		defer pr.Close()
		return rawExchange(ctx, addr, postHeadFor("/v1/messages", "chunked"), pr)
	}},
	{"huge count_tokens (6 MiB run of letters)", func(ctx context.Context, addr string) string {
		body := `{"model":"claude-sonnet-5","messages":[{"role":"user","content":"` + hugeText + `"}]}`
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/v1/messages/count_tokens", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		c := &http.Client{Timeout: 2 * time.Minute}
		resp, err := c.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return "cut short by the end of the soak"
			}
			return "no answer: " + shortErr(err)
		}
		resp.Body.Close()
		return "HTTP " + strconv.Itoa(resp.StatusCode)
	}},
	{"huge count_tokens, client hangs up after 1 s", func(ctx context.Context, addr string) string {
		body := `{"model":"claude-sonnet-5","messages":[{"role":"user","content":"` + hugeText + `"}]}`
		hctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(hctx, http.MethodPost, "http://"+addr+"/v1/messages/count_tokens", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "hung up"
		}
		resp.Body.Close()
		return "HTTP " + strconv.Itoa(resp.StatusCode)
	}},
	{"connection flood (150 idle keep-alive connections)", func(ctx context.Context, addr string) string {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		served := 0
		for range 150 {
			c, err := dialLoopback(ctx, addr)
			if err != nil {
				break
			}
			conns = append(conns, c)
			c.SetDeadline(time.Now().Add(30 * time.Second))
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
			if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
				resp.Body.Close()
				served++
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
		return fmt.Sprintf("%d of 150 served", served)
	}},
}

func shortErr(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return "connection error"
}
