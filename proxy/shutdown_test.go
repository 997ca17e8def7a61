package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/internal/fake"
)

// startStream starts a streamed request on srv and returns once its first
// bytes arrived.
func startStream(t *testing.T, srv *Server) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+srv.Addr()+"/v1/messages", strings.NewReader(string(claudeBody("claude-sonnet-5", true))))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-Key", "k")
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v %v", resp, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// nextStopping returns the next EventStopping.
func nextStopping(t *testing.T, events <-chan Event) Event {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.Kind == EventStopping {
				return ev
			}
		case <-timeout:
			t.Fatal("no stopping event")
		}
	}
}

// TestStopWaitsForRunningAnswers: a stop lets answers still running finish
// within shutdown_grace (they were cut at a fixed 5 s), and says how many
// are running and until when.
func TestStopWaitsForRunningAnswers(t *testing.T) {
	t.Parallel()
	const grace = time.Minute
	srv, e := startServer(t, func(c *config.Config) { c.Settings.ShutdownGrace = grace }, ups("A")...)
	step := make(chan struct{})
	e.ups["A"].Always(fake.Reply{Text: "one two three", Deltas: 3, Step: step})
	resp := startStream(t, srv)
	events, unsubscribe := srv.Subscribe()
	defer unsubscribe()

	start := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Stop(context.Background()) }()
	ev := nextStopping(t, events)
	if ev.InFlight != 1 || ev.Until.Before(start.Add(grace-time.Second)) || ev.Until.After(time.Now().Add(grace)) {
		t.Errorf("stopping event: %d running until %v from the stop, want 1 until shutdown_grace (%v)", ev.InFlight, ev.Until.Sub(start), grace)
	}
	// The snapshot (the tray's source) says the same while the stop waits.
	if snap := srv.Snapshot(); snap.Running || snap.InFlight != 1 || !snap.AbortAt.Equal(ev.Until) {
		t.Errorf("snapshot while stopping: running %v, %d in flight, abort at %v; want stopped, 1, %v", snap.Running, snap.InFlight, snap.AbortAt, ev.Until)
	}
	for range 3 {
		step <- struct{}{}
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || !strings.Contains(string(body), "message_stop") || streamText(t, string(body)) != "one two three" {
		t.Fatalf("the answer running at the stop: %v\n%s", err, body)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Stop: %v", err)
	}
	if snap := srv.Snapshot(); !snap.AbortAt.IsZero() {
		t.Errorf("snapshot after the stop still says answers will be aborted at %v", snap.AbortAt)
	}
}

// TestStopAbortsAfterGrace: answers still running when shutdown_grace ends
// are aborted, never ended cleanly; Close applies the same grace.
func TestStopAbortsAfterGrace(t *testing.T) {
	t.Parallel()
	srv, e := startServer(t, func(c *config.Config) { c.Settings.ShutdownGrace = 300 * time.Millisecond }, ups("A")...)
	e.ups["A"].Always(fake.Reply{Text: "never finished", Step: make(chan struct{})})
	resp := startStream(t, srv)
	events, unsubscribe := srv.Subscribe()
	defer unsubscribe()

	stopped := make(chan error, 1)
	go func() { stopped <- srv.Stop(context.Background()) }()
	if ev := nextStopping(t, events); ev.InFlight != 1 {
		t.Errorf("stopping event: %d running, want 1", ev.InFlight)
	}
	body, err := io.ReadAll(resp.Body)
	if err == nil || errors.Is(err, io.EOF) || strings.Contains(string(body), "message_stop") {
		t.Fatalf("the client saw a clean end: %v\n%s", err, body)
	}
	if ev := nextStopping(t, events); !ev.Until.IsZero() {
		t.Errorf("no event says the answers were aborted: %+v", ev)
	}
	<-stopped
}
