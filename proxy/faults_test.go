package proxy

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
	"github.com/ccbalancer/ccbalancer/proxy/health"
)

// wire is a provider type as the fault suite's upstream speaks it.
type wire string

const (
	wireAnthropic wire = "anthropic"
	wireOpenAI    wire = "openai"
)

// head is the part of a stream before its first content.
func (w wire) head() string {
	if w == wireAnthropic {
		return "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_a\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n" +
			"event: ping\ndata: {\"type\":\"ping\"}\n\n"
	}
	return "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
}

// content is one piece of text content.
func (w wire) content(text string) string {
	if w == wireAnthropic {
		return "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"" + text + "\"}}\n\n"
	}
	return "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + text + "\"},\"finish_reason\":null}]}\n\n"
}

// tail ends an answer.
func (w wire) tail() string {
	if w == wireAnthropic {
		return "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
			"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":3}}\n\n" +
			"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	}
	return "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}\n\ndata: [DONE]\n\n"
}

// errorEvent is an error inside a 200 stream.
func (w wire) errorEvent() string {
	if w == wireAnthropic {
		return "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
	}
	return "data: {\"error\":{\"message\":\"Overloaded\",\"code\":503}}\n\n"
}

// brokenOff ends a stream with the provider saying the answer broke off:
// Anthropic's error event, a Chat Completions finish_reason such as GLM's
// network_error.
func (w wire) brokenOff() string {
	if w == wireAnthropic {
		return w.errorEvent()
	}
	return "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"network_error\"}]}\n\ndata: [DONE]\n\n"
}

// brokenOffReason is what the provider's last error says after brokenOff.
func (w wire) brokenOffReason() string {
	if w == wireAnthropic {
		return "Overloaded"
	}
	return `finish_reason "network_error"`
}

// overflowBody is the provider's "the prompt does not fit".
func (w wire) overflowBody() string {
	if w == wireAnthropic {
		return `{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}`
	}
	return `{"error":{"message":"The input (210000 tokens) is longer than the model's context length (200000 tokens).","type":"BadRequestError","code":400}}`
}

// message is a whole non-streamed answer.
func (w wire) message(text string) string {
	if w == wireAnthropic {
		return `{"id":"msg_a","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"` + text + `"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":3}}`
	}
	return `{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"` + text + `"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}`
}

// errorBody is an error answer in the provider's own shape.
func (w wire) errorBody(msg string) string {
	if w == wireAnthropic {
		return `{"type":"error","error":{"type":"api_error","message":"` + msg + `"}}`
	}
	return `{"error":{"message":"` + msg + `","type":"server_error","code":null}}`
}

// answer writes a whole answer: a stream (head, content, tail) or a message.
func (w wire) answer(rw http.ResponseWriter, stream bool, text string) {
	if stream {
		rw.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(rw, w.head()+w.content(text)+w.tail())
		return
	}
	rw.Header().Set("Content-Type", "application/json")
	io.WriteString(rw, w.message(text))
}

// faultServer is a loopback upstream whose connections are counted, so a
// test can check that none is left open.
type faultServer struct {
	*httptest.Server
	mu   sync.Mutex
	open map[net.Conn]bool
}

func newFaultServer(t *testing.T, h http.HandlerFunc, tls bool) *faultServer {
	fs := &faultServer{open: map[net.Conn]bool{}}
	fs.Server = httptest.NewUnstartedServer(h)
	fs.Config.ConnState = func(c net.Conn, st http.ConnState) {
		fs.mu.Lock()
		defer fs.mu.Unlock()
		switch st {
		case http.StateClosed, http.StateHijacked:
			delete(fs.open, c)
		default:
			fs.open[c] = true
		}
	}
	if tls {
		fs.StartTLS()
	} else {
		fs.Start()
	}
	t.Cleanup(fs.Close)
	return fs
}

// waitNoActive waits until the server holds no connection but idle
// keep-alive ones, after the proxy closed its idle connections: whatever
// the fault, the proxy left nothing hanging.
func (fs *faultServer) waitNoActive(t *testing.T, closeIdle func()) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		closeIdle()
		fs.mu.Lock()
		n := len(fs.open)
		fs.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d upstream connections still open after the request", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hang blocks until the proxy gives up on the request. The body is read
// first, as a real server does: net/http notices a closed connection only
// once the request body has been consumed.
func hang(r *http.Request) {
	io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
}

func flush(w http.ResponseWriter) { http.NewResponseController(w).Flush() }

// abort cuts the connection: no clean end of the response.
func abort(w http.ResponseWriter) {
	flush(w)
	panic(http.ErrAbortHandler)
}

// outcome kinds for the client.
const (
	byB     = "failover" // B served the whole answer
	byA     = "served"   // A served the whole answer
	relayed = "relayed"  // A's error answer reached the client
	aborted = "aborted"  // the client's response was cut
)

// fault is one way a provider misbehaves.
type fault struct {
	name string
	// modes the fault exists in: "stream", "message" or both (empty).
	only string
	// upstream returns provider A's base URL for the wire; most faults are a
	// handler, some need a special listener.
	handler  func(w wire, stream bool) http.HandlerFunc
	listener func(t *testing.T) string
	tls      bool
	want     func(w wire, stream bool) faultWant
	// settings adjusts the suite's settings for this fault.
	settings func(*config.Settings)
}

type faultWant struct {
	client string
	status int          // the client's status for relayed answers
	state  health.State // A's state afterwards; "" healthy
	reason string       // in A's last error
	failed bool         // A counted a failure (also without a state change)
}

func failsOver(state health.State, reason string) func(wire, bool) faultWant {
	return func(wire, bool) faultWant { return faultWant{client: byB, state: state, reason: reason, failed: true} }
}

func status(code int, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
	}
}

func faults() []fault {
	statusFault := func(code int, msg string, header ...string) func(wire, bool) http.HandlerFunc {
		return func(w wire, _ bool) http.HandlerFunc {
			return func(rw http.ResponseWriter, r *http.Request) {
				status(code, header...)(rw, r)
				io.WriteString(rw, w.errorBody(msg))
			}
		}
	}
	return []fault{
		{name: "connection refused", listener: refusedURL, want: failsOver(health.StateCooling, "connection refused")},
		{name: "connection reset", listener: resetURL, want: failsOver(health.StateCooling, "connection")},
		{name: "TLS to a plain HTTP port", handler: func(w wire, stream bool) http.HandlerFunc {
			return func(rw http.ResponseWriter, r *http.Request) { w.answer(rw, stream, "plain") }
		}, tls: false, want: failsOver(health.StateCooling, "does not speak TLS")},
		{name: "TLS certificate not trusted", handler: func(w wire, stream bool) http.HandlerFunc {
			return func(rw http.ResponseWriter, r *http.Request) { w.answer(rw, stream, "untrusted") }
		}, tls: true, want: failsOver(health.StateCooling, "certificate not trusted")},
		{name: "connect timeout", listener: func(t *testing.T) string { return blackholeURL(t) }, want: failsOver(health.StateCooling, "connect timeout")},
		{name: "no first byte", handler: func(wire, bool) http.HandlerFunc { return func(_ http.ResponseWriter, r *http.Request) { hang(r) } },
			want: func(_ wire, stream bool) faultWant {
				if stream {
					return faultWant{client: byB, state: health.StateCooling, reason: "no response within request_timeout", failed: true}
				}
				return faultWant{client: byB, state: health.StateCooling, reason: "no answer within nonstream_timeout", failed: true}
			}},
		{name: "stall before content", handler: func(w wire, stream bool) http.HandlerFunc {
			return func(rw http.ResponseWriter, r *http.Request) {
				if stream {
					rw.Header().Set("Content-Type", "text/event-stream")
					io.WriteString(rw, w.head())
				} else {
					body := w.message("stalled")
					rw.Header().Set("Content-Type", "application/json")
					rw.Header().Set("Content-Length", fmt.Sprint(len(body)))
					io.WriteString(rw, body[:10])
				}
				flush(rw)
				hang(r)
			}
		}, want: failsOver(health.StateCooling, "no data within stream_idle_timeout")},
		{name: "error body stalls", handler: func(w wire, _ bool) http.HandlerFunc {
			return func(rw http.ResponseWriter, r *http.Request) {
				status(503)(rw, r)
				io.WriteString(rw, `{"error":`)
				flush(rw)
				hang(r)
			}
		}, want: failsOver(health.StateCooling, "error body not received within request_timeout")},
		{name: "302 redirect", handler: func(w wire, _ bool) http.HandlerFunc {
			return func(rw http.ResponseWriter, r *http.Request) {
				http.Redirect(rw, r, "https://elsewhere.example/v1/messages", http.StatusFound)
			}
		}, want: failsOver(health.StateCooling, "HTTP 302")},
		{name: "500", handler: statusFault(500, "boom"), want: failsOver(health.StateCooling, "HTTP 500: boom")},
		{name: "502", handler: statusFault(502, "bad gateway"), want: failsOver(health.StateCooling, "HTTP 502: bad gateway")},
		{name: "503", handler: statusFault(503, "unavailable", "Retry-After", "5"), want: failsOver(health.StateCooling, "HTTP 503: unavailable")},
		{name: "529", handler: statusFault(529, "Overloaded"), want: failsOver(health.StateCooling, "HTTP 529: Overloaded")},
		{name: "429", handler: statusFault(429, "slow down", "Retry-After", "7"), want: failsOver(health.StateRateLimited, "HTTP 429: slow down")},
		{name: "402", handler: statusFault(402, "no credit"), want: failsOver(health.StateNeedsAttention, "HTTP 402: no credit")},
		{name: "401", handler: statusFault(401, "invalid key"), want: failsOver(health.StateNeedsAttention, "HTTP 401: invalid key")},
		{name: "403", handler: statusFault(403, "forbidden"), want: failsOver(health.StateNeedsAttention, "HTTP 403: forbidden")},
		{name: "404", handler: statusFault(404, "no such model"), want: func(wire, bool) faultWant {
			return faultWant{client: byB, reason: "HTTP 404: no such model", failed: true}
		}},
		{name: "400", handler: statusFault(400, "max_tokens: too large"), want: func(w wire, _ bool) faultWant {
			if w == wireAnthropic {
				// The client's own body was refused: relayed as is.
				return faultWant{client: relayed, status: 400}
			}
			// Our conversion was refused: the next entry serves.
			return faultWant{client: byB, reason: "HTTP 400: max_tokens: too large", failed: true}
		}},
		{name: "400 from a front server", handler: func(wire, bool) http.HandlerFunc {
			return func(rw http.ResponseWriter, r *http.Request) {
				rw.Header().Set("Content-Type", "text/html")
				rw.WriteHeader(400)
				io.WriteString(rw, "<html><body>400 The plain HTTP request was sent to HTTPS port</body></html>")
			}
		}, want: failsOver(health.StateCooling, "not an API error body")},
		{name: "431 from a front server", handler: func(wire, bool) http.HandlerFunc {
			// The client's headers are too large for this provider's front
			// server: the client's matter, not a broken provider.
			return func(rw http.ResponseWriter, r *http.Request) {
				rw.Header().Set("Content-Type", "text/plain")
				rw.WriteHeader(431)
				io.WriteString(rw, "Request Header Fields Too Large")
			}
		}, want: func(w wire, _ bool) faultWant {
			if w == wireAnthropic {
				return faultWant{client: relayed, status: 431}
			}
			return faultWant{client: byB, reason: "HTTP 431: Request Header Fields Too Large", failed: true}
		}},
		{name: "200 then error event", only: "stream", handler: func(w wire, _ bool) http.HandlerFunc {
			return func(rw http.ResponseWriter, r *http.Request) {
				rw.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(rw, w.head()+w.errorEvent())
			}
		}, want: failsOver(health.StateCooling, "Overloaded")},
		{name: "200 with an HTML page", handler: func(wire, bool) http.HandlerFunc {
			return func(rw http.ResponseWriter, r *http.Request) {
				rw.Header().Set("Content-Type", "text/html; charset=utf-8")
				io.WriteString(rw, "<html>Welcome to nginx!</html>")
			}
		}, want: failsOver(health.StateCooling, `content type "text/html"`)},
		{name: "200 with a JSON error page", only: "message", handler: func(w wire, _ bool) http.HandlerFunc {
			return func(rw http.ResponseWriter, r *http.Request) {
				rw.Header().Set("Content-Type", "application/json")
				if w == wireAnthropic {
					io.WriteString(rw, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)
				} else {
					io.WriteString(rw, `{"error":{"message":"Overloaded","code":503}}`)
				}
			}
		}, want: failsOver(health.StateCooling, "Overloaded")},
		{name: "cut before the first byte", handler: func(w wire, stream bool) http.HandlerFunc {
			return func(rw http.ResponseWriter, r *http.Request) {
				if stream {
					rw.Header().Set("Content-Type", "text/event-stream")
					io.WriteString(rw, w.head())
				} else {
					body := w.message("cut")
					rw.Header().Set("Content-Type", "application/json")
					rw.Header().Set("Content-Length", fmt.Sprint(len(body)))
					io.WriteString(rw, body[:len(body)/2])
				}
				abort(rw)
			}
		}, want: failsOver(health.StateCooling, "cut")},
		{name: "context overflow", handler: func(w wire, _ bool) http.HandlerFunc {
			return func(rw http.ResponseWriter, r *http.Request) {
				status(400)(rw, r)
				io.WriteString(rw, w.overflowBody())
			}
		}, want: func(w wire, _ bool) faultWant {
			if w == wireAnthropic {
				return faultWant{client: relayed, status: 400}
			}
			// Another provider may have a larger window: a refusal, no state.
			return faultWant{client: byB, reason: "HTTP 400: prompt is too long: 210000 tokens > 200000 maximum", failed: true}
		}},
		{name: "broken off before content", handler: func(w wire, stream bool) http.HandlerFunc {
			return func(rw http.ResponseWriter, r *http.Request) {
				switch {
				case stream:
					rw.Header().Set("Content-Type", "text/event-stream")
					io.WriteString(rw, w.head()+w.brokenOff())
				case w == wireAnthropic:
					rw.Header().Set("Content-Type", "application/json")
					io.WriteString(rw, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)
				default:
					rw.Header().Set("Content-Type", "application/json")
					io.WriteString(rw, strings.Replace(w.message("The config has three sec"), `"finish_reason":"stop"`, `"finish_reason":"network_error"`, 1))
				}
			}
		}, want: func(w wire, _ bool) faultWant {
			return faultWant{client: byB, state: health.StateCooling, reason: w.brokenOffReason(), failed: true}
		}},
		{name: "broken off after content", only: "stream", handler: func(w wire, _ bool) http.HandlerFunc {
			return func(rw http.ResponseWriter, r *http.Request) {
				rw.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(rw, w.head()+w.content("The config has three sec")+w.brokenOff())
			}
		}, want: func(w wire, _ bool) faultWant {
			return faultWant{client: aborted, state: health.StateCooling, reason: w.brokenOffReason(), failed: true}
		}},
		{name: "cut after the first byte", only: "stream", handler: func(w wire, _ bool) http.HandlerFunc {
			return func(rw http.ResponseWriter, r *http.Request) {
				rw.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(rw, w.head()+w.content("partial"))
				abort(rw)
			}
		}, want: func(wire, bool) faultWant {
			return faultWant{client: aborted, state: health.StateCooling, reason: "stream cut", failed: true}
		}},
		{name: "message_stop then silence", only: "stream", handler: func(w wire, _ bool) http.HandlerFunc {
			return func(rw http.ResponseWriter, r *http.Request) {
				rw.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(rw, w.head()+w.content("complete")+w.tail())
				flush(rw)
				hang(r)
			}
		}, want: func(wire, bool) faultWant { return faultWant{client: byA} }},
		{name: "malformed stream", only: "stream", handler: func(w wire, _ bool) http.HandlerFunc {
			return func(rw http.ResponseWriter, r *http.Request) {
				rw.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(rw, "data: {\"not\": \"a known event\"\n\n")
			}
		}, want: func(w wire, _ bool) faultWant {
			if w == wireAnthropic {
				return faultWant{client: byB, state: health.StateCooling, reason: "does not start with message_start", failed: true}
			}
			return faultWant{client: byB, state: health.StateCooling, reason: "malformed answer", failed: true}
		}},
		{name: "invalid JSON", only: "message", handler: func(w wire, _ bool) http.HandlerFunc {
			return func(rw http.ResponseWriter, r *http.Request) {
				rw.Header().Set("Content-Type", "application/json")
				io.WriteString(rw, w.message("x")[:20])
			}
		}, want: func(w wire, _ bool) faultWant {
			return faultWant{client: byB, state: health.StateCooling, reason: "JSON", failed: true}
		}},
		{name: "gzip", handler: func(w wire, stream bool) http.HandlerFunc {
			return func(rw http.ResponseWriter, r *http.Request) {
				if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
					http.Error(rw, "gzip expected", 500)
					return
				}
				rw.Header().Set("Content-Encoding", "gzip")
				zw := gzip.NewWriter(rw)
				defer zw.Close()
				if stream {
					rw.Header().Set("Content-Type", "text/event-stream")
					io.WriteString(zw, w.head()+w.content("zipped")+w.tail())
				} else {
					rw.Header().Set("Content-Type", "application/json")
					io.WriteString(zw, w.message("zipped"))
				}
			}
		}, want: func(wire, bool) faultWant { return faultWant{client: byA} }},
		{name: "endless body", handler: func(w wire, stream bool) http.HandlerFunc {
			return func(rw http.ResponseWriter, r *http.Request) {
				ct := "application/json"
				if stream {
					ct = "text/event-stream"
				}
				rw.Header().Set("Content-Type", ct)
				io.WriteString(rw, "data: ")
				chunk := []byte(strings.Repeat("x", 32<<10))
				for r.Context().Err() == nil {
					if _, err := rw.Write(chunk); err != nil {
						return
					}
				}
			}
		}, settings: func(s *config.Settings) {
			// 16 MB through the race detector on a busy machine: what is
			// tested is the bound, not the speed.
			s.StreamIdleTimeout = 10 * time.Second
		}, want: func(_ wire, stream bool) faultWant {
			if stream {
				return faultWant{client: byB, state: health.StateCooling, reason: "longer than max_event_size", failed: true}
			}
			return faultWant{client: byB, state: health.StateCooling, reason: "larger than", failed: true}
		}},
		{name: "endless event", handler: func(w wire, stream bool) http.HandlerFunc {
			// Data lines that each end, but never the blank line that ends
			// an event: the event grows without bound.
			return func(rw http.ResponseWriter, r *http.Request) {
				ct := "application/json"
				if stream {
					ct = "text/event-stream"
				}
				rw.Header().Set("Content-Type", ct)
				endlessEvent(rw, r, w)
			}
		}, settings: func(s *config.Settings) { s.StreamIdleTimeout = 10 * time.Second },
			want: func(_ wire, stream bool) faultWant {
				if stream {
					return faultWant{client: byB, state: health.StateCooling, reason: "longer than max_event_size", failed: true}
				}
				return faultWant{client: byB, state: health.StateCooling, reason: "larger than", failed: true}
			}},
		{name: "endless event after content", only: "stream", handler: func(w wire, _ bool) http.HandlerFunc {
			return func(rw http.ResponseWriter, r *http.Request) {
				rw.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(rw, w.head()+w.content("partial"))
				flush(rw)
				endlessEvent(rw, r, w)
			}
		}, settings: func(s *config.Settings) { s.StreamIdleTimeout = 10 * time.Second },
			want: func(wire, bool) faultWant {
				return faultWant{client: aborted, state: health.StateCooling, reason: "longer than max_event_size", failed: true}
			}},
	}
}

// endlessEvent writes data lines of the wire's content chunks, each line
// ended but never the event, until the client goes away.
func endlessEvent(rw http.ResponseWriter, r *http.Request, w wire) {
	line := strings.TrimSuffix(w.content("more"), "\n")
	if w == wireAnthropic {
		line = line[strings.LastIndex(line, "\n")+1:]
	}
	chunk := []byte(strings.Repeat(strings.TrimSuffix(line, "\n")+"\n", 256))
	for r.Context().Err() == nil {
		if _, err := rw.Write(chunk); err != nil {
			return
		}
	}
}

// resetURL is a loopback server that reads the request and resets the
// connection without answering.
func resetURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			br := bufio.NewReader(c)
			if req, err := http.ReadRequest(br); err == nil {
				io.Copy(io.Discard, req.Body)
			}
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// TestFaultSuite: provider A fails in one way, B (an Anthropic provider) is
// healthy. For each fault, each provider type of A, streamed and not: what
// the client gets, A's state afterwards (DESIGN.md section 10), and that no
// upstream connection is left open (goroutines are checked by TestMain).
func TestFaultSuite(t *testing.T) {
	t.Parallel()
	for _, f := range faults() {
		for _, w := range []wire{wireAnthropic, wireOpenAI} {
			for _, stream := range []bool{true, false} {
				if (f.only == "stream" && !stream) || (f.only == "message" && stream) {
					continue
				}
				t.Run(fmt.Sprintf("%s/%s/stream=%v", f.name, w, stream), func(t *testing.T) {
					t.Parallel()
					runFault(t, f, w, stream)
				})
			}
		}
	}
}

func runFault(t *testing.T, f fault, w wire, stream bool) {
	var fs *faultServer
	var url string
	switch {
	case f.listener != nil:
		url = f.listener(t)
	default:
		fs = newFaultServer(t, f.handler(w, stream), f.tls)
		url = fs.URL
		if f.name == "TLS to a plain HTTP port" {
			url = strings.Replace(url, "http://", "https://", 1)
		}
	}
	if w == wireOpenAI {
		url += "/v1"
	}
	const cooldown = time.Hour
	e := newEnv(t, func(c *config.Config) {
		c.Providers[0].Type = config.ProviderType(w)
		c.Settings.FailureCooldown = cooldown
		// Short enough for a quick suite, long enough for a TLS handshake or
		// a 16 MB body under the race detector on a busy 2-core machine.
		c.Settings.RequestTimeout = time.Second
		c.Settings.NonstreamTimeout = time.Second
		c.Settings.StreamIdleTimeout = time.Second
		c.Settings.ConnectTimeout = 500 * time.Millisecond
		c.Settings.MaxEventBytes = 64 << 10
		if f.settings != nil {
			f.settings(&c.Settings)
		}
	}, upSpec{name: "A", url: url}, upSpec{name: "B"})
	want := f.want(w, stream)
	start := time.Now()
	resp, body, err := e.send(stream, nil)

	switch want.client {
	case byB, byA:
		servedBy, text := "B", "Hello from B."
		if want.client == byA {
			servedBy = "A"
		}
		if err != nil || resp.StatusCode != 200 || resp.Header.Get("X-Provider-Used") != servedBy {
			t.Fatalf("got %d from %q (read error %v), want 200 from %s; body %s", resp.StatusCode, resp.Header.Get("X-Provider-Used"), err, servedBy, body)
		}
		if servedBy == "B" && (stream && streamText(t, body) != text || !stream && !strings.Contains(body, text)) {
			t.Errorf("B's answer is incomplete: %s", body)
		}
		if stream && !strings.Contains(body, "message_stop") {
			t.Errorf("stream has no message_stop: %s", body)
		}
		if loc := resp.Header.Get("Location"); loc != "" {
			t.Errorf("a redirect target reached the client: %s", loc)
		}
	case relayed:
		if err != nil || resp.StatusCode != want.status || resp.Header.Get("X-Provider-Used") != "A" {
			t.Fatalf("got %d from %q, want A's %d relayed; body %s", resp.StatusCode, resp.Header.Get("X-Provider-Used"), want.status, body)
		}
		if _, _, shaped := anthropic.ParseError([]byte(body)); !shaped {
			t.Errorf("the relayed answer is not an API error body: %s", body)
		}
		if got := e.ups["B"].Count(); got != 0 {
			t.Errorf("B was asked %d times for a request the client must fix", got)
		}
	case aborted:
		if err == nil || errors.Is(err, io.EOF) {
			t.Fatalf("the client saw a clean end (err %v); body %s", err, body)
		}
		if strings.Contains(body, "message_stop") || strings.Contains(body, "event: error") {
			t.Errorf("an end was invented: %s", body)
		}
	}

	a := e.srv.Snapshot().Providers[0]
	wantState := want.state
	if wantState == "" {
		wantState = health.StateHealthy
	}
	if a.State != wantState {
		t.Errorf("A's state = %s (%s), want %s", a.State, a.LastError, wantState)
	}
	if !strings.Contains(a.LastError, want.reason) {
		t.Errorf("A's last error = %q, want it to contain %q", a.LastError, want.reason)
	}
	if (a.Failures > 0) != want.failed {
		t.Errorf("A counted %d failures, want a failure counted: %v", a.Failures, want.failed)
	}
	switch want.state {
	case health.StateCooling:
		if a.Until.Before(start.Add(cooldown)) {
			t.Errorf("A cools down until %v, want failure_cooldown (%v) from the failure", a.Until.Sub(start), cooldown)
		}
	case health.StateRateLimited:
		// retry-after (7 s) is shorter than failure_cooldown: the provider's
		// own word sets the window.
		if d := a.Until.Sub(start); d < 7*time.Second || d > 8*time.Second {
			t.Errorf("A rate limited for %v, want retry-after's 7 s", d)
		}
	case health.StateNeedsAttention:
		if !a.Until.IsZero() {
			t.Errorf("A needs attention until %v: that state has no timer", a.Until)
		}
	}
	if fs != nil {
		fs.waitNoActive(t, func() {
			for _, u := range e.srv.state.Load().upstreams {
				u.close()
			}
		})
	}
}
