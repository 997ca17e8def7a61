package proxy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/internal/fake"
	"github.com/ccbalancer/ccbalancer/proxy/cache"
	"github.com/ccbalancer/ccbalancer/proxy/dedup"
)

// answer is what one client got.
type answer struct {
	status  int
	header  http.Header
	body    string
	readErr error
}

// text is the answer's text: the joined deltas of a stream, or the text
// blocks of a message.
func (a answer) text(t *testing.T) string {
	t.Helper()
	if strings.HasPrefix(a.header.Get("Content-Type"), "text/event-stream") {
		return streamText(t, a.body)
	}
	var m struct {
		Type    string `json:"type"`
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
	}
	if err := json.Unmarshal([]byte(a.body), &m); err != nil || m.Type != "message" {
		t.Fatalf("not a message (%v): %s", err, a.body)
	}
	var b strings.Builder
	for _, c := range m.Content {
		b.WriteString(c.Text)
	}
	return b.String()
}

// ask sends a messages request in the background; its answer arrives on the
// channel once the body is read to its end.
func (e *env) ask(ctx context.Context, body []byte) <-chan answer {
	ch := make(chan answer, 1)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.front.URL+"/v1/messages", strings.NewReader(string(body)))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Anthropic-Version", "2023-06-01")
	req.Header.Set("X-Api-Key", "client-key")
	go func() {
		resp, err := e.client.Do(req)
		if err != nil {
			ch <- answer{readErr: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		ch <- answer{status: resp.StatusCode, header: resp.Header, body: string(b), readErr: err}
	}()
	return ch
}

// waitUntil polls cond until it holds (what is being waited for is named in
// the failure).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func get(t *testing.T, ch <-chan answer) answer {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no answer")
	}
	return answer{}
}

// withMetadata is claudeBody with another per-session user_id, as a second
// Claude Code window would send it.
func withMetadata(body []byte, user string) []byte {
	return []byte(strings.Replace(string(body), `"metadata":{"user_id":"{\"device_id\":\"d\",\"session_id\":\"s\"}"}`,
		`"metadata":{"user_id":"`+user+`"}`, 1))
}

// TestDedupConcurrent: N identical requests in flight at once, streamed,
// not streamed, or mixed, and differing only in metadata, make one
// upstream request; each client gets the whole answer in the form it asked
// for.
func TestDedupConcurrent(t *testing.T) {
	t.Parallel()
	const n = 5
	tests := []struct {
		name   string
		stream func(i int) bool // request i asks for a stream; 0 leads
	}{
		{"stream", func(int) bool { return true }},
		{"message", func(int) bool { return false }},
		{"mixed", func(i int) bool { return i%2 == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil, ups("A")...)
			step := make(chan struct{})
			e.ups["A"].Always(fake.Reply{Step: step, Deltas: 4, Text: "one answer for all"})
			var chans []<-chan answer
			chans = append(chans, e.ask(t.Context(), claudeBody("claude-sonnet-5", tt.stream(0))))
			waitUntil(t, "the leader reaches the upstream", func() bool { return e.ups["A"].Count() == 1 })
			for i := 1; i < n; i++ {
				chans = append(chans, e.ask(t.Context(), withMetadata(claudeBody("claude-sonnet-5", tt.stream(i)), fmt.Sprint("user", i))))
			}
			waitUntil(t, "every request waits for the shared answer", func() bool { return e.srv.flights.Waiting() == n })
			close(step)
			for i, ch := range chans {
				a := get(t, ch)
				if a.readErr != nil || a.status != http.StatusOK {
					t.Fatalf("request %d: status %d, read error %v: %s", i, a.status, a.readErr, a.body)
				}
				wantType := "application/json"
				if tt.stream(i) {
					wantType = "text/event-stream"
				}
				if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, wantType) {
					t.Errorf("request %d: content type %q, want %s", i, ct, wantType)
				}
				if got := a.text(t); got != "one answer for all" {
					t.Errorf("request %d: text %q", i, got)
				}
				if got := a.header.Get("X-Provider-Used"); got != "A" {
					t.Errorf("request %d: x-provider-used %q", i, got)
				}
			}
			if got := e.ups["A"].Count(); got != 1 {
				t.Errorf("the upstream saw %d requests, want 1", got)
			}
		})
	}
}

// TestDedupKeepsDifferentRequestsApart: requests that differ in what shapes
// the answer (the body, a beta header, the client's credential, a stream
// asked while a message is in flight) are not shared.
func TestDedupKeepsDifferentRequestsApart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		second func(e *env) <-chan answer
	}{
		{"other body", func(e *env) <-chan answer {
			return e.ask(context.Background(), []byte(strings.Replace(string(claudeBody("claude-sonnet-5", true)), "hello", "hullo", 1)))
		}},
		{"other beta header", func(e *env) <-chan answer {
			return e.askWith(claudeBody("claude-sonnet-5", true), map[string]string{"Anthropic-Beta": "context-1m-2025-08-07"})
		}},
		{"other credential", func(e *env) <-chan answer {
			return e.askWith(claudeBody("claude-sonnet-5", true), map[string]string{"X-Api-Key": "another-client"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil, ups("A")...)
			step := make(chan struct{})
			e.ups["A"].Always(fake.Reply{Step: step, Deltas: 2})
			first := e.ask(t.Context(), claudeBody("claude-sonnet-5", true))
			waitUntil(t, "the first reaches the upstream", func() bool { return e.ups["A"].Count() == 1 })
			second := tt.second(e)
			waitUntil(t, "the second reaches the upstream too", func() bool { return e.ups["A"].Count() == 2 })
			close(step)
			for _, ch := range []<-chan answer{first, second} {
				if a := get(t, ch); a.status != http.StatusOK || a.readErr != nil {
					t.Errorf("status %d, %v", a.status, a.readErr)
				}
			}
		})
	}
}

func (e *env) askWith(body []byte, hdr map[string]string) <-chan answer {
	ch := make(chan answer, 1)
	go func() {
		resp := e.post("/v1/messages", body, hdr)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		ch <- answer{status: resp.StatusCode, header: resp.Header, body: string(b), readErr: err}
	}()
	return ch
}

// readUntil reads a stream's lines until one starts with prefix; it returns
// what was read.
func readUntil(t *testing.T, br *bufio.Reader, prefix string) string {
	t.Helper()
	var b strings.Builder
	for {
		line, err := br.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			t.Fatalf("stream ended before %q: %v", prefix, err)
		}
		if strings.HasPrefix(line, prefix) {
			return b.String()
		}
	}
}

// TestDedupLateJoiner: a request that joins after events went out gets them
// first, then the rest live: the same bytes as the leader's client.
func TestDedupLateJoiner(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, ups("A")...)
	step := make(chan struct{})
	e.ups["A"].Always(fake.Reply{Step: step, Deltas: 4, Text: "early and late"})
	resp := e.post("/v1/messages", claudeBody("claude-sonnet-5", true), nil)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	step <- struct{}{}
	head := readUntil(t, br, "data: {\"delta\"") // the first delta's data line
	late := e.ask(t.Context(), claudeBody("claude-sonnet-5", true))
	waitUntil(t, "the late request joins", func() bool { return e.srv.flights.Waiting() == 2 })
	close(step)
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	leader := head + string(rest)
	a := get(t, late)
	if a.readErr != nil || a.body != leader {
		t.Errorf("late joiner got (%v)\n%s\nthe leader's client got\n%s", a.readErr, a.body, leader)
	}
	if got := streamText(t, a.body); got != "early and late" {
		t.Errorf("late joiner's text %q", got)
	}
	if got := e.ups["A"].Count(); got != 1 {
		t.Errorf("the upstream saw %d requests, want 1", got)
	}
}

// TestDedupSlowReader: a client that stops reading neither slows a fast one
// (the fast one gets the whole answer, delta by delta as the upstream sends
// it, while the slow one reads nothing) nor holds memory past the bound: it
// is cut off with an abort.
func TestDedupSlowReader(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, ups("A")...)
	e.srv.flights = dedup.NewGroup(dedup.Options{MaxLag: 256 << 10})
	step := make(chan struct{})
	// 24 MB of text in 3000 deltas: far more than the socket buffers of the
	// client that does not read can hold.
	const deltas = 3000
	text := strings.Repeat("0123456789abcdef", 24<<20/16)
	e.ups["A"].Always(fake.Reply{Step: step, Deltas: deltas, Text: text})
	slow := e.post("/v1/messages", claudeBody("claude-sonnet-5", true), nil)
	defer slow.Body.Close()
	fast := e.post("/v1/messages", claudeBody("claude-sonnet-5", true), nil)
	defer fast.Body.Close()
	waitUntil(t, "both requests wait", func() bool { return e.srv.flights.Waiting() == 2 })
	br := bufio.NewReaderSize(fast.Body, 64<<10)
	var got strings.Builder
	for range deltas {
		step <- struct{}{}
		got.WriteString(readUntil(t, br, "data: {\"delta\""))
	}
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("the fast client's stream failed: %v", err)
	}
	got.Write(rest)
	if streamText(t, got.String()) != text {
		t.Fatalf("the fast client did not get the whole answer (%d bytes)", got.Len())
	}
	b, err := io.ReadAll(slow.Body)
	if err == nil {
		t.Fatalf("the slow client's stream ended cleanly after %d bytes; want an abort", len(b))
	}
	if len(b) >= got.Len() {
		t.Errorf("the slow client got %d bytes, the whole answer is %d", len(b), got.Len())
	}
}

// TestDedupCancellation: a client leaving does not cancel the shared
// request while another waits; the last one leaving does.
func TestDedupCancellation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, ups("A")...)
	step := make(chan struct{})
	e.ups["A"].Always(fake.Reply{Step: step, Deltas: 2, Text: "kept going"})
	leaderCtx, leave := context.WithCancel(t.Context())
	leader := e.ask(leaderCtx, claudeBody("claude-sonnet-5", true))
	waitUntil(t, "the leader reaches the upstream", func() bool { return e.ups["A"].Count() == 1 })
	other := e.ask(t.Context(), claudeBody("claude-sonnet-5", false))
	waitUntil(t, "both wait", func() bool { return e.srv.flights.Waiting() == 2 })
	leave()
	if a := get(t, leader); a.readErr == nil {
		t.Fatalf("the leader's client was not cancelled: %d", a.status)
	}
	waitUntil(t, "the leader's client has left", func() bool { return e.srv.flights.Waiting() == 1 })
	close(step)
	if a := get(t, other); a.status != http.StatusOK || a.text(t) != "kept going" {
		t.Errorf("the remaining client got %d: %s", a.status, a.body)
	}

	// Now both leave: the upstream request is cancelled.
	step2 := make(chan struct{})
	defer close(step2)
	e.ups["A"].Always(fake.Reply{Step: step2, Deltas: 2})
	body := claudeBody("claude-opus-sonnet", true)
	ctx1, leave1 := context.WithCancel(t.Context())
	ctx2, leave2 := context.WithCancel(t.Context())
	c1 := e.ask(ctx1, body)
	waitUntil(t, "the second leader reaches the upstream", func() bool { return e.ups["A"].Count() == 2 })
	c2 := e.ask(ctx2, body)
	waitUntil(t, "both wait again", func() bool { return e.srv.flights.Waiting() == 2 })
	leave1()
	get(t, c1)
	leave2()
	get(t, c2)
	select {
	case <-e.ups["A"].Cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream request was not cancelled when the last client left")
	}
	e.waitIdle()
	if a := e.providers()["A"]; a.State != "healthy" || a.FailureCount != 0 {
		t.Errorf("clients leaving counted against the provider: %+v", a)
	}
}

// TestDedupFailoverOnce: the shared request fails over once for everyone.
func TestDedupFailoverOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, ups("A", "B")...)
	e.ups["A"].Always(fake.Reply{Mode: fake.Status, Status: 529})
	step := make(chan struct{})
	e.ups["B"].Always(fake.Reply{Step: step, Deltas: 2, Text: "from B"})
	events, unsub := e.srv.Subscribe()
	defer unsub()
	var chans []<-chan answer
	chans = append(chans, e.ask(t.Context(), claudeBody("claude-sonnet-5", true)))
	waitUntil(t, "the request fails over to B", func() bool { return e.ups["B"].Count() == 1 })
	for range 3 {
		chans = append(chans, e.ask(t.Context(), claudeBody("claude-sonnet-5", true)))
	}
	waitUntil(t, "all wait", func() bool { return e.srv.flights.Waiting() == 4 })
	close(step)
	for _, ch := range chans {
		if a := get(t, ch); a.text(t) != "from B" {
			t.Errorf("got %q", a.body)
		}
	}
	if a, b := e.ups["A"].Count(), e.ups["B"].Count(); a != 1 || b != 1 {
		t.Errorf("upstream requests: A %d, B %d; want 1 each", a, b)
	}
	failovers := 0
	for len(events) > 0 {
		if ev := <-events; ev.Kind == EventFailover {
			failovers++
		}
	}
	if failovers != 1 {
		t.Errorf("%d failover events, want 1", failovers)
	}
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// cacheEnv is an env whose response cache is on, on a test clock.
func cacheEnv(t *testing.T, limits cache.Limits) (*env, *testClock) {
	clk := &testClock{t: time.Now()}
	e := newEnv(t, nil, ups("A")...)
	e.srv.cache = cache.New[dedup.Key, dedup.Answer](limits, clk.now)
	return e, clk
}

var bigCache = cache.Limits{TTL: time.Minute, MaxEntries: 100, MaxBytes: 1 << 20}

// TestCacheHit: an identical request within cache_ttl is answered from the
// cache with x-cache: hit, a stream replayed as SSE and the same bytes; a
// message may come from a cached stream; after the ttl a provider is asked
// again.
func TestCacheHit(t *testing.T) {
	t.Parallel()
	e, clk := cacheEnv(t, bigCache)
	first := get(t, e.ask(t.Context(), claudeBody("claude-sonnet-5", true)))
	if first.status != http.StatusOK || first.header.Get("X-Cache") != "" {
		t.Fatalf("first answer: %d, x-cache %q", first.status, first.header.Get("X-Cache"))
	}
	e.waitIdle()
	clk.add(59 * time.Second)
	second := get(t, e.ask(t.Context(), withMetadata(claudeBody("claude-sonnet-5", true), "another")))
	if second.header.Get("X-Cache") != "hit" || second.body != first.body ||
		!strings.HasPrefix(second.header.Get("Content-Type"), "text/event-stream") || second.header.Get("X-Provider-Used") != "A" {
		t.Errorf("second answer: x-cache %q, content type %q, provider %q, same body %v",
			second.header.Get("X-Cache"), second.header.Get("Content-Type"), second.header.Get("X-Provider-Used"), second.body == first.body)
	}
	msg := get(t, e.ask(t.Context(), claudeBody("claude-sonnet-5", false)))
	if msg.header.Get("X-Cache") != "hit" || msg.text(t) != streamText(t, first.body) {
		t.Errorf("message from the cached stream: x-cache %q: %s", msg.header.Get("X-Cache"), msg.body)
	}
	if got := e.ups["A"].Count(); got != 1 {
		t.Fatalf("the upstream saw %d requests within the ttl, want 1", got)
	}
	clk.add(time.Second)
	third := get(t, e.ask(t.Context(), claudeBody("claude-sonnet-5", true)))
	if third.header.Get("X-Cache") != "" || e.ups["A"].Count() != 2 {
		t.Errorf("after the ttl: x-cache %q, upstream requests %d; want a miss", third.header.Get("X-Cache"), e.ups["A"].Count())
	}
}

// TestCacheBounds: entries past cache_size_limit and answers past the byte
// limit are not kept; cache_ttl: 0 keeps nothing.
func TestCacheBounds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		limits cache.Limits
		bodies []string // models asked in turn
		want   int      // upstream requests
	}{
		{"evicted by entries", cache.Limits{TTL: time.Minute, MaxEntries: 1, MaxBytes: 1 << 20},
			[]string{"claude-sonnet-5", "claude-sonnet-4", "claude-sonnet-5"}, 3},
		{"kept within the entry limit", cache.Limits{TTL: time.Minute, MaxEntries: 2, MaxBytes: 1 << 20},
			[]string{"claude-sonnet-5", "claude-sonnet-4", "claude-sonnet-5"}, 2},
		{"larger than the byte limit", cache.Limits{TTL: time.Minute, MaxEntries: 10, MaxBytes: 100},
			[]string{"claude-sonnet-5", "claude-sonnet-5"}, 2},
		{"ttl 0", cache.Limits{TTL: 0, MaxEntries: 10, MaxBytes: 1 << 20},
			[]string{"claude-sonnet-5", "claude-sonnet-5"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, _ := cacheEnv(t, tt.limits)
			for _, m := range tt.bodies {
				if a := get(t, e.ask(t.Context(), claudeBody(m, true))); a.status != http.StatusOK {
					t.Fatalf("%s: %d", m, a.status)
				}
				e.waitIdle()
			}
			if got := e.ups["A"].Count(); got != tt.want {
				t.Errorf("upstream requests %d, want %d", got, tt.want)
			}
		})
	}
}

// TestCacheKeepsOnlyCompleteAnswers: errors, refusals and cut streams are
// never cached.
func TestCacheKeepsOnlyCompleteAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		stream bool
		reply  fake.Reply
	}{
		{"cut stream", true, fake.Reply{Mode: fake.CutAfterContent, Deltas: 4}},
		{"stream without message_stop", true, fake.Reply{Mode: fake.EndWithoutStop}},
		{"error event after content", true, fake.Reply{Mode: fake.ErrorAfterContent, Deltas: 4}},
		{"refusal", false, fake.Reply{Mode: fake.Status, Status: 400, Message: "bad request"}},
		{"overloaded", false, fake.Reply{Mode: fake.Status, Status: 529}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, _ := cacheEnv(t, bigCache)
			e.ups["A"].SetScript(func(n int, _ *http.Request) fake.Reply {
				if n == 1 {
					return tt.reply
				}
				return fake.Reply{Text: "complete"}
			})
			bad := get(t, e.ask(t.Context(), claudeBody("claude-sonnet-5", tt.stream)))
			if bad.status == http.StatusOK && bad.readErr == nil {
				t.Fatalf("the failing answer looked complete: %s", bad.body)
			}
			e.waitIdle()
			if e.srv.health.Status("A").State != "healthy" {
				e.srv.health.Reset("A", "test")
			}
			good := get(t, e.ask(t.Context(), claudeBody("claude-sonnet-5", tt.stream)))
			if good.header.Get("X-Cache") != "" || good.text(t) != "complete" || e.ups["A"].Count() != 2 {
				t.Errorf("second request: x-cache %q, upstream requests %d: %s", good.header.Get("X-Cache"), e.ups["A"].Count(), good.body)
			}
		})
	}
}

// TestCacheSettings: the settings reach the cache, and a reload applies new
// ones.
func TestCacheSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *config.Config) {
		c.Settings.CacheTTL = time.Minute
		c.Settings.CacheSizeLimit = 5
		c.Settings.CacheMaxBytes = 1 << 20
	}, ups("A")...)
	for range 2 {
		get(t, e.ask(t.Context(), claudeBody("claude-sonnet-5", false)))
		e.waitIdle()
	}
	if got := e.ups["A"].Count(); got != 1 {
		t.Errorf("upstream requests %d with cache_ttl 60s, want 1", got)
	}
	if n, _ := e.srv.cache.Len(); n != 1 {
		t.Errorf("cache entries %d, want 1", n)
	}
}
