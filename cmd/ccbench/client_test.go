package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRunWindowClassifies checks that the load client counts each way a request can
// fail, above all a stream that ends cleanly without message_stop.
func TestRunWindowClassifies(t *testing.T) {
	streamSC := scenario{Body: buildBody(bodySmall, true, "claude-sonnet-5"), Stream: true, Events: 2}
	tests := []struct {
		name    string
		handler http.Handler
		sc      scenario
		wantOK  int
		want    errorCounts
	}{
		{"complete streams", &upstream{}, streamSC, 5, errorCounts{}},
		{"complete messages", &upstream{}, scenario{Body: buildBody(bodySmall, false, "m")}, 5, errorCounts{}},
		{"non-200", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"type":"error"}`, http.StatusServiceUnavailable)
		}), streamSC, 0, errorCounts{Status: 5}},
		{"clean end without message_stop", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write([]byte("event: message_start\ndata: {}\n\n"))
		}), streamSC, 0, errorCounts{NoStop: 5}},
		{"aborted stream", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write([]byte("event: message_start\ndata: {}\n\n"))
			_ = http.NewResponseController(w).Flush()
			panic(http.ErrAbortHandler)
		}), streamSC, 0, errorCounts{Cut: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			srv.Config.ErrorLog = quietLog()
			defer srv.Close()
			c := newLoadClient(2)
			defer c.CloseIdleConnections()
			w := runWindow(context.Background(), c, srv.URL+"/v1/messages?beta=true", tt.sc, 2, time.Minute, 5)
			if w.Requests != tt.wantOK {
				t.Errorf("ok requests = %d, want %d", w.Requests, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, w.Errors); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if len(w.Latency) != w.Requests || len(w.TTFB) != w.Requests {
				t.Errorf("%d latencies and %d TTFBs for %d requests", len(w.Latency), len(w.TTFB), w.Requests)
			}
		})
	}
}

// TestBareForwards checks the reference proxy's variants end to end over loopback.
func TestBareForwards(t *testing.T) {
	up := httptest.NewServer(&upstream{})
	defer up.Close()
	for _, o := range []bareOptions{{}, {FullDuplex: true, BufferBody: true}, {Validate: true}} {
		bare := httptest.NewServer(newBare(mustURL(t, up.URL), o))
		c := newLoadClient(4)
		sc := scenario{Body: buildBody(bodyLarge, true, "claude-sonnet-5"), Stream: true, Events: 5}
		w := runWindow(context.Background(), c, bare.URL+"/v1/messages?beta=true", sc, 4, time.Minute, 20)
		c.CloseIdleConnections()
		bare.Close()
		if w.Requests != 20 || w.Errors.Total() != 0 {
			t.Errorf("%+v: %d ok, errors %+v; want 20 ok", o, w.Requests, w.Errors)
		}
	}
}

// TestBareValidateRefuses checks that the validating reference forwards no
// malformed body, and only that one.
func TestBareValidateRefuses(t *testing.T) {
	var got atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer up.Close()
	for _, tt := range []struct {
		o       bareOptions
		forward bool
	}{{bareOptions{BufferBody: true}, true}, {bareOptions{Validate: true}, false}} {
		got.Store(0)
		bare := httptest.NewServer(newBare(mustURL(t, up.URL), tt.o))
		resp, err := http.Post(bare.URL+"/v1/messages", "application/json", strings.NewReader(`{"model":"m","messages":[`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		bare.Close()
		if forwarded := got.Load() == 1; forwarded != tt.forward || (!tt.forward && resp.StatusCode != http.StatusBadRequest) {
			t.Errorf("%+v: status %d, forwarded %v; want forwarded %v", tt.o, resp.StatusCode, forwarded, tt.forward)
		}
	}
}

// TestBunched checks the detection of a proxy that buffers a stream.
func TestBunched(t *testing.T) {
	sc := scenario{Stream: true, Events: 21, Gap: time.Millisecond} // 20 ms of production
	tests := []struct {
		lat, ttfb time.Duration
		want      bool
	}{
		{21 * time.Millisecond, time.Millisecond, false},
		{12 * time.Millisecond, 1 * time.Millisecond, false},
		{21 * time.Millisecond, 20 * time.Millisecond, true},
	}
	for _, tt := range tests {
		if got := bunched(sc, tt.lat, tt.ttfb); got != tt.want {
			t.Errorf("bunched(lat %v, ttfb %v) = %v, want %v", tt.lat, tt.ttfb, got, tt.want)
		}
	}
	if bunched(scenario{Stream: true, Events: 21}, time.Millisecond, time.Millisecond) {
		t.Errorf("a stream without a gap cannot be judged bunched")
	}
}
