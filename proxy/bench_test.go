package proxy_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy"
)

// The benchmarks below send real requests over loopback through the proxy's
// handler and, for reference, through a bare httputil.ReverseProxy (FlushInterval
// -1, pooled transport) in front of the same fake upstream. Client, proxy and
// upstream share the process, so ns/op and allocs/op include all three: the
// difference between the two rows is what the proxy adds.

// benchUpstream answers like the Messages API: ~1 KB JSON, or an SSE stream of
// `events` deltas when the body ends with "stream":true. It reads the whole body first.
func benchUpstream(events int) http.Handler {
	answer := []byte(`{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-5","content":[{"type":"text","text":"` +
		strings.Repeat("The change compiles and the tests pass. ", 22) +
		`"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":2000,"output_tokens":120}}`)
	var stream []byte
	ev := func(name, data string) { stream = fmt.Appendf(stream, "event: %s\ndata: %s\n\n", name, data) }
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !bytes.HasSuffix(body, []byte(`"stream":true}`)) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
			_, _ = w.Write(answer)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		send := func(name, data string) {
			stream = stream[:0]
			ev(name, data)
			_, _ = w.Write(stream)
			_ = rc.Flush()
		}
		send("message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":2000,"output_tokens":1}}}`)
		send("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
		for i := range events {
			send("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"token `+strconv.Itoa(i)+` "}}`)
		}
		send("content_block_stop", `{"type":"content_block_stop","index":0}`)
		send("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":40}}`)
		send("message_stop", `{"type":"message_stop"}`)
	})
}

// benchRequestBody is a Claude Code shaped body; tools=24 gives ~90 KB.
func benchRequestBody(tools int, stream bool) []byte {
	word := strings.Repeat("read the file and return each line that matches the pattern ", 4)
	var b bytes.Buffer
	b.WriteString(`{"model":"claude-sonnet-5","messages":[{"role":"user","content":[{"type":"text","text":"` + word + `"}]},` +
		`{"role":"system","content":[{"type":"text","text":"` + word + `"}]}`)
	for i := range tools / 4 {
		fmt.Fprintf(&b, `,{"role":"assistant","content":[{"type":"text","text":"%s"},{"type":"tool_use","id":"toolu_%d","name":"Read","input":{"path":"/tmp/x.go"}}]}`, word, i)
		fmt.Fprintf(&b, `,{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_%d","content":"%s","cache_control":{"type":"ephemeral"}}]}`, i, strings.Repeat(word, 7))
	}
	b.WriteString(`],"system":[{"type":"text","text":"x"},{"type":"text","text":"` + word + `","cache_control":{"type":"ephemeral"}},{"type":"text","text":"` + word + `","cache_control":{"type":"ephemeral"}}],"tools":[`)
	for i := range tools {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"Tool%d","description":"%s","input_schema":{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{`, i, word+word)
		for j := range 8 {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"p%d":{"type":"string","description":"%s"}`, j, word)
		}
		b.WriteString(`},"additionalProperties":false}}`)
	}
	b.WriteString(`],"metadata":{"user_id":"u"},"max_tokens":64000,"thinking":{"type":"adaptive"}`)
	if stream {
		b.WriteString(`,"stream":true`)
	}
	b.WriteString(`}`)
	return b.Bytes()
}

// benchServers starts the fake upstream, ccbalancer's handler and the bare proxy.
func benchServers(b *testing.B, model string) (ccb, bare string) {
	return benchServersWith(b, model, "enable_deduplication: false", proxy.Options{})
}

// benchServersWith is benchServers with the given settings (a YAML flow
// mapping's entries) and options.
func benchServersWith(b *testing.B, model, settings string, opts proxy.Options) (ccb, bare string) {
	b.Helper()
	up := httptest.NewServer(benchUpstream(20))
	b.Cleanup(up.Close)
	yaml := fmt.Sprintf(`providers:
  - {name: A, type: anthropic, base_url: %q, auth_type: api_key, auth_value: "sk-ant-api03-bench1-Zq8xR2mKpL5vN7wT3yH6bJ9cF4dG1sA0Zq8xR2mKpL5vN7wT3yH6bJ9cF4dG1sA0Zq8xR2mKpL5vN7w-AA"}
  - {name: B, type: anthropic, base_url: %q, auth_type: api_key, auth_value: "sk-ant-api03-bench2-Zq8xR2mKpL5vN7wT3yH6bJ9cF4dG1sA0Zq8xR2mKpL5vN7wT3yH6bJ9cF4dG1sA0Zq8xR2mKpL5vN7w-AA"}
model_routes:
  "*sonnet*":
    - {provider: A, model: %q, priority: 1}
    - {provider: B, model: %q, priority: 2}
settings: {%s, log_color: false}
`, up.URL, up.URL, model, model, settings)
	cfg, err := config.Parse("bench.yaml", []byte(yaml), nil)
	if err != nil {
		b.Fatal(err)
	}
	s, err := proxy.New(cfg, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	front := httptest.NewServer(s.Handler())
	b.Cleanup(front.Close)
	u, _ := url.Parse(up.URL)
	rp := &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { pr.SetURL(u) },
		FlushInterval: -1,
		Transport:     &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256},
	}
	bareSrv := httptest.NewServer(rp)
	b.Cleanup(bareSrv.Close)
	return front.URL, bareSrv.URL
}

func benchPost(b *testing.B, c *http.Client, base string, body []byte, stream bool) {
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/messages?beta=true", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Anthropic-Version", "2023-06-01")
	req.Header.Set("Anthropic-Beta", "claude-code-20250219,interleaved-thinking-2025-05-14")
	req.Header.Set("X-Api-Key", "client")
	req.Header.Set("X-Claude-Code-Session-Id", "00000000-0000-4000-8000-000000000000")
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("status %d, err %v: %.200s", resp.StatusCode, err, got)
	}
	if stream && !bytes.Contains(got, []byte("event: message_stop")) {
		b.Fatal("stream without message_stop")
	}
}

func BenchmarkServe(b *testing.B) {
	for _, model := range []string{config.Passthrough, "claude-sonnet-4-5"} {
		ccb, bare := benchServers(b, model)
		scenarios := []struct {
			name   string
			body   []byte
			stream bool
		}{
			{"small", benchRequestBody(1, false), false},
			{"large", benchRequestBody(24, false), false},
			{"stream20", benchRequestBody(1, true), true},
		}
		targets := []struct{ name, url string }{{"bare", bare}, {"ccbalancer", ccb}}
		for _, sc := range scenarios {
			for _, t := range targets {
				if t.name == "bare" && model != config.Passthrough {
					continue // the reference never rewrites
				}
				name := fmt.Sprintf("%s_%dB/%s", sc.name, len(sc.body), t.name)
				if t.name != "bare" && model != config.Passthrough {
					name += "_rewrite"
				}
				b.Run(name, func(b *testing.B) {
					c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
					defer c.CloseIdleConnections()
					b.SetBytes(int64(len(sc.body)))
					b.ReportAllocs()
					for b.Loop() {
						benchPost(b, c, t.url, sc.body, sc.stream)
					}
				})
			}
		}
	}
}

// BenchmarkShare is the cost of going through package dedup (the default)
// for requests that share nothing (one request at a time, each its own
// Flight), and of the usage ledger, each against the direct path.
func BenchmarkShare(b *testing.B) {
	direct, _ := benchServers(b, config.Passthrough)
	shared, _ := benchServersWith(b, config.Passthrough, "enable_deduplication: true", proxy.Options{})
	ledger, _ := benchServersWith(b, config.Passthrough, "enable_deduplication: false",
		proxy.Options{UsagePath: filepath.Join(b.TempDir(), "usage.db")})
	for _, sc := range []struct {
		name   string
		body   []byte
		stream bool
	}{{"large", benchRequestBody(24, false), false}, {"stream20", benchRequestBody(1, true), true}} {
		for _, t := range []struct{ name, url string }{{"direct", direct}, {"dedup", shared}, {"ledger", ledger}} {
			b.Run(sc.name+"/"+t.name, func(b *testing.B) {
				c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
				defer c.CloseIdleConnections()
				b.ReportAllocs()
				for b.Loop() {
					benchPost(b, c, t.url, sc.body, sc.stream)
				}
			})
		}
	}
}

// BenchmarkServeParallel is the throughput view: many clients at once.
func BenchmarkServeParallel(b *testing.B) {
	ccb, bare := benchServers(b, config.Passthrough)
	body := benchRequestBody(1, false)
	for _, t := range []struct{ name, url string }{{"bare", bare}, {"ccbalancer", ccb}} {
		b.Run(t.name, func(b *testing.B) {
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
			defer c.CloseIdleConnections()
			b.SetParallelism(8)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					benchPost(b, c, t.url, body, false)
				}
			})
		})
	}
}

// benchChatUpstream answers like Chat Completions: a ~1 KB chat.completion,
// after reading the whole body.
func benchChatUpstream() http.Handler {
	answer := []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1764100000,"model":"gpt-4.1","choices":[{"index":0,"message":{"role":"assistant","content":"` +
		strings.Repeat("The change compiles and the tests pass. ", 22) +
		`","refusal":null},"finish_reason":"stop"}],"usage":{"prompt_tokens":2000,"completion_tokens":120,"total_tokens":2120}}`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
		_, _ = w.Write(answer)
	})
}

// BenchmarkServeOpenAI is BenchmarkServe's non-streamed rows through an
// OpenAI-compatible provider: the request and the answer are converted.
func BenchmarkServeOpenAI(b *testing.B) {
	up := httptest.NewServer(benchChatUpstream())
	b.Cleanup(up.Close)
	yaml := fmt.Sprintf(`providers:
  - {name: O, type: openai, base_url: "%s/v1", auth_value: "k1"}
model_routes:
  "*sonnet*":
    - {provider: O, model: gpt-4.1}
settings: {enable_deduplication: false, log_color: false}
`, up.URL)
	cfg, err := config.Parse("bench.yaml", []byte(yaml), nil)
	if err != nil {
		b.Fatal(err)
	}
	s, err := proxy.New(cfg, proxy.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	front := httptest.NewServer(s.Handler())
	b.Cleanup(front.Close)
	for _, sc := range []struct {
		name string
		body []byte
	}{{"small", benchRequestBody(1, false)}, {"large", benchRequestBody(24, false)}} {
		b.Run(fmt.Sprintf("%s_%dB", sc.name, len(sc.body)), func(b *testing.B) {
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			defer c.CloseIdleConnections()
			b.SetBytes(int64(len(sc.body)))
			b.ReportAllocs()
			for b.Loop() {
				benchPost(b, c, front.URL, sc.body, false)
			}
		})
	}
}
