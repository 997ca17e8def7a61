package proxy

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
)

// readAll closes done once n bytes have been read from it.
type readAll struct {
	io.ReadCloser
	n, read int64
	once    sync.Once
	done    chan struct{}
}

func (s *readAll) Read(p []byte) (int, error) {
	n, err := s.ReadCloser.Read(p)
	if s.read += int64(n); s.read >= s.n {
		s.once.Do(func() { close(s.done) })
	}
	return n, err
}

// TestCountTokensStopsWhenClientLeaves: counting a 32 MiB run of letters
// takes seconds even when linear; a client that hangs up must not leave it
// running (it ran on for minutes, growing with the square of the length).
func TestCountTokensStopsWhenClientLeaves(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *config.Config) { c.Settings.MaxBodyBytes = 64 << 20 }, ups("A")...)
	body := []byte(`{"model":"claude-sonnet-5","messages":[{"role":"user","content":"` + strings.Repeat("A", 32<<20) + `"}]}`)
	received, handled := make(chan struct{}), make(chan struct{})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(handled)
		r.Body = &readAll{ReadCloser: r.Body, n: r.ContentLength, done: received}
		e.srv.Handler().ServeHTTP(w, r)
	}))
	defer front.Close()

	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, front.URL+"/v1/messages/count_tokens", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		resp, err := e.client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-received // the proxy has the whole body and is counting
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("answered before the client left; the body is too small to prove anything")
	}
	select {
	case <-handled:
	case <-time.After(30 * time.Second):
		// Decoding 32 MiB of JSON is not cancelled, and is slow under the
		// race detector on a busy machine; the count itself stops at once
		// (tokens.TestCountStopsMidway).
		t.Fatal("count_tokens still counting 30 s after its client left")
	}
}
