package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"

	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
)

// maxPooledBody bounds the request bodies whose buffers are reused; larger
// ones are rare and left to the garbage collector.
const maxPooledBody = 1 << 20

var bodyPool = sync.Pool{New: func() any { return new([]byte) }}

// reqBody is a request body read into a pooled buffer. Claude Code sends
// 80–100 KB per request; reusing the buffers keeps that off the garbage
// collector. The buffer goes back to the pool only once the handler and
// every upstream reader of it are done, since net/http may close a request
// body after RoundTrip has returned.
type reqBody struct {
	buf  *[]byte
	refs atomic.Int32
}

func newReqBody(n int) *reqBody {
	p := bodyPool.Get().(*[]byte)
	if cap(*p) < n {
		*p = make([]byte, n, (n+4095)&^4095)
	}
	*p = (*p)[:n]
	rb := &reqBody{buf: p}
	rb.refs.Store(1)
	return rb
}

// retain adds a reference; nil-safe.
func (rb *reqBody) retain() {
	if rb != nil {
		rb.refs.Add(1)
	}
}

// release drops one reference; nil-safe.
func (rb *reqBody) release() {
	if rb != nil && rb.refs.Add(-1) == 0 {
		bodyPool.Put(rb.buf)
	}
}

type bodyReader struct {
	io.Reader
	once sync.Once
	rb   *reqBody
}

func (r *bodyReader) Close() error {
	r.once.Do(r.rb.release)
	return nil
}

// setBody makes out's body the concatenation of parts, replayable for the
// transport's retries. When parts live in rb, each reader holds a reference.
func setBody(out *http.Request, rb *reqBody, parts ...[]byte) {
	open := func() io.ReadCloser {
		var r io.Reader
		if len(parts) == 1 {
			r = bytes.NewReader(parts[0])
		} else {
			rs := make([]io.Reader, len(parts))
			for i, p := range parts {
				rs[i] = bytes.NewReader(p)
			}
			r = io.MultiReader(rs...)
		}
		if rb == nil {
			return io.NopCloser(r)
		}
		rb.refs.Add(1)
		return &bodyReader{Reader: r, rb: rb}
	}
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out.Body = open()
	out.GetBody = func() (io.ReadCloser, error) { return open(), nil }
	out.ContentLength = int64(n)
}

// readBody reads the whole request body before anything is written: a
// handler that writes before consuming its body has the body closed under it
// (DESIGN.md 5.1). A body of known size goes into a pooled buffer (rb, to be
// released by the caller; nil otherwise).
func readBody(w http.ResponseWriter, r *http.Request, limit int64, log *slog.Logger) (body []byte, rb *reqBody, ok bool) {
	if limit <= 0 {
		limit = 32 << 20
	}
	if r.ContentLength > limit {
		anthropic.WriteError(w, http.StatusRequestEntityTooLarge, anthropic.ErrRequestTooLarge,
			fmt.Sprintf("request body of %d bytes exceeds the limit of %d bytes (settings.max_body_size)", r.ContentLength, limit))
		return nil, nil, false
	}
	rd := http.MaxBytesReader(w, r.Body, limit)
	var err error
	switch {
	case r.ContentLength >= 0 && r.ContentLength <= maxPooledBody:
		rb = newReqBody(int(r.ContentLength))
		body = *rb.buf
		_, err = io.ReadFull(rd, body)
	case r.ContentLength >= 0:
		body = make([]byte, r.ContentLength)
		_, err = io.ReadFull(rd, body)
	default:
		body, err = io.ReadAll(rd)
	}
	if err != nil {
		rb.release()
		// The rest of the body is not read: net/http would otherwise try
		// to read it (up to 256 KB) before answering, and a client that
		// stopped sending would hold the answer back.
		w.Header().Set("Connection", "close")
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			anthropic.WriteError(w, http.StatusRequestEntityTooLarge, anthropic.ErrRequestTooLarge,
				fmt.Sprintf("request body exceeds the limit of %d bytes (settings.max_body_size)", limit))
			return nil, nil, false
		}
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			log.Info("request body too slow", slog.Any("err", err))
			anthropic.WriteError(w, http.StatusRequestTimeout, anthropic.ErrInvalidRequest,
				"request body not received within settings.body_read_timeout")
			return nil, nil, false
		case errors.Is(err, errBodyMemory):
			w.Header().Set("Retry-After", "1")
			anthropic.WriteError(w, http.StatusServiceUnavailable, anthropic.ErrOverloaded,
				"request bodies in flight fill settings.max_body_memory; retry shortly")
			return nil, nil, false
		}
		log.Info("reading request body failed", slog.Any("err", err))
		anthropic.WriteError(w, http.StatusBadRequest, anthropic.ErrInvalidRequest, "reading request body: "+err.Error())
		return nil, nil, false
	}
	return body, rb, true
}
