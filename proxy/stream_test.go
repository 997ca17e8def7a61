package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/internal/fake"
)

// TestMidStreamFailure: once bytes reached the client, a failing upstream
// must end the client's stream abnormally (the HTTP library reports an
// error, not a clean EOF), with no invented message_stop and no synthetic
// error event; the provider cools down; and the client's non-streaming retry
// of the same request is served by the next provider.
func TestMidStreamFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		reply  fake.Reply
		reason string
	}{
		{"cut after content", fake.Reply{Mode: fake.CutAfterContent, Deltas: 6}, "stream cut"},
		{"stall past stream_idle_timeout", fake.Reply{Mode: fake.StallMidStream, Deltas: 6}, "no data within stream_idle_timeout"},
		{"error event after content", fake.Reply{Mode: fake.ErrorAfterContent, Deltas: 6}, "error event: overloaded_error"},
		{"clean end without message_stop", fake.Reply{Mode: fake.EndWithoutStop, Deltas: 6}, "without message_stop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *config.Config) { c.Settings.StreamIdleTimeout = 300 * time.Millisecond }, ups("A", "B")...)
			e.ups["A"].Always(tt.reply)
			resp, body, err := e.send(true, nil)
			if resp.StatusCode != 200 || resp.Header.Get("X-Provider-Used") != "A" {
				t.Fatalf("got %d from %q", resp.StatusCode, resp.Header.Get("X-Provider-Used"))
			}
			if err == nil || errors.Is(err, io.EOF) {
				t.Fatalf("the client saw a clean end (err %v); body:\n%s", err, body)
			}
			if !strings.Contains(body, "event: content_block_delta") {
				t.Errorf("the events sent before the failure did not arrive:\n%s", body)
			}
			for _, bad := range []string{"message_stop", "event: error"} {
				if strings.Contains(body, bad) {
					t.Errorf("client stream contains %q:\n%s", bad, body)
				}
			}
			a := e.providers()["A"]
			if a.Healthy || !strings.Contains(a.LastError, tt.reason) {
				t.Errorf("A after the failure: %+v, want cooling down with %q", a, tt.reason)
			}
			// Claude Code's reaction: the same body again, without streaming.
			resp, body, err = e.send(false, nil)
			if err != nil || resp.StatusCode != 200 || resp.Header.Get("X-Provider-Used") != "B" {
				t.Fatalf("retry: %v %d from %q: %s", err, resp.StatusCode, resp.Header.Get("X-Provider-Used"), body)
			}
		})
	}
}

// TestEventsArriveAsProduced: each event reaches the client when the
// upstream sends it, not in a burst later. The upstream sends delta k+1 only
// after the client has read delta k: a proxy that held events back would
// never deliver delta k, and the test would fail on its deadline.
func TestEventsArriveAsProduced(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, ups("A")...)
	step := make(chan struct{})
	e.ups["A"].Always(fake.Reply{Text: "one two three four five", Deltas: 5, Step: step})
	resp := e.post("/v1/messages", claudeBody("claude-sonnet-5", true), nil)
	defer resp.Body.Close()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	deadline := time.After(10 * time.Second)
	for k := range 5 {
		select {
		case step <- struct{}{}: // let the upstream send delta k
		case <-deadline:
			t.Fatalf("the upstream never asked to send delta %d", k)
		}
		for got := false; !got; {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("stream ended before delta %d", k)
				}
				got = line == "event: content_block_delta"
			case <-deadline:
				t.Fatalf("delta %d was sent by the upstream but never reached the client", k)
			}
		}
	}
	for range lines {
	}
}

// TestClientDisconnectCancelsUpstream: the client leaving mid-stream ends the
// upstream request at once, and is not counted against the provider.
func TestClientDisconnectCancelsUpstream(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, ups("A")...)
	e.ups["A"].Always(fake.Reply{Deltas: 50, Gap: 50 * time.Millisecond})
	resp := e.post("/v1/messages", claudeBody("claude-sonnet-5", true), nil)
	br := bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "event: content_block_delta") {
			break
		}
	}
	resp.Body.Close()
	select {
	case <-e.ups["A"].Cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request was not cancelled after the client left")
	}
	if a := e.providers()["A"]; !a.Healthy || a.FailureCount != 0 {
		t.Errorf("a client cancel counted against the provider: %+v", a)
	}
}

// TestClientDisconnectBeforeHeaders: leaving while the upstream has not
// answered yet cancels it too, and tries no other provider.
func TestClientDisconnectBeforeHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *config.Config) { c.Settings.RequestTimeout = time.Minute }, ups("A", "B")...)
	received := make(chan struct{})
	e.ups["A"].SetScript(func(int, *http.Request) fake.Reply {
		close(received)
		return fake.Reply{Mode: fake.StallHeaders}
	})
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.front.URL+"/v1/messages", strings.NewReader(string(claudeBody("claude-sonnet-5", true))))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := e.client.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-received // the upstream has the request and holds back its answer
	cancel()
	select {
	case <-e.ups["A"].Cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("upstream not cancelled")
	}
	<-done
	e.waitIdle()
	if n := e.ups["B"].Count(); n != 0 {
		t.Errorf("B was tried %d times after the client left", n)
	}
	if a := e.providers()["A"]; !a.Healthy {
		t.Errorf("A cooled down by a client cancel: %+v", a)
	}
}

// TestLongPreambleIsNotHeldForever: events before the first content are held
// back for failover, but only up to a bound; a provider that sends pings for
// long gets them through to the client instead of into a growing buffer.
func TestLongPreambleIsNotHeldForever(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\n")
		for range 2000 { // ~80 KB of pings
			io.WriteString(w, "event: ping\ndata: {\"type\": \"ping\"}\n\n")
		}
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer up.Close()
	defer close(release)
	e := newEnv(t, func(c *config.Config) { c.Settings.StreamIdleTimeout = time.Minute }, upSpec{name: "A", url: up.URL})
	got := make(chan string, 1)
	go func() {
		// Headers too are held until the preamble is let through.
		resp, err := e.client.Post(e.front.URL+"/v1/messages", "application/json", strings.NewReader(string(claudeBody("claude-sonnet-5", true))))
		if err != nil {
			got <- err.Error()
			return
		}
		defer resp.Body.Close()
		line, _ := bufio.NewReader(resp.Body).ReadString('\n')
		got <- line
	}()
	select {
	case line := <-got:
		if line != "event: message_start\n" {
			t.Fatalf("first line %q", line)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the preamble was held back without bound")
	}
}
