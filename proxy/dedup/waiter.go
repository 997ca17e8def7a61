package dedup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
	"github.com/ccbalancer/ccbalancer/proxy/sse"
)

// Waiter is one request waiting for a Flight's answer.
type Waiter struct {
	f    *Flight
	fold bool // wants a streamed answer as a message
	// Guarded by f.mu:
	next      int  // chunks taken
	pos       int  // bytes taken
	cut       bool // fell too far behind, or cannot be served any more
	interrupt func()
}

// Flight returns the Flight the waiter waits for.
func (w *Waiter) Flight() *Flight { return w.f }

// Outcome is how Serve ended.
type Outcome int

// Outcomes.
const (
	// Served: the client has the whole answer.
	Served Outcome = iota
	// Gone: the client went away.
	Gone
	// Aborted: the client's connection must be aborted (with
	// http.ErrAbortHandler), never ended cleanly: the answer failed after
	// bytes went out, or this client fell too far behind.
	Aborted
)

// Serve writes the Flight's answer to rw until it is complete, ctx (the
// client's request) ends, or the answer fails. A waiter that is not folding
// gets every write as it comes; a folding one gets the message once the
// stream is complete. Serve leaves the Flight when it returns.
func (w *Waiter) Serve(ctx context.Context, rw http.ResponseWriter) Outcome {
	f := w.f
	defer f.leave(w)
	rc := http.NewResponseController(rw)
	f.mu.Lock()
	// A waiter blocked writing to a client that does not read is freed by
	// a write deadline in the past.
	w.interrupt = func() { _ = rc.SetWriteDeadline(time.Now()) }
	f.mu.Unlock()
	if w.fold {
		return w.serveFolded(ctx, rw)
	}
	headerSent := false
	// chunks holds the chunks taken, copied under the lock: once taken, a
	// Flight past its bound may drop them from its own list (append).
	var chunks [][]byte
	for {
		f.mu.Lock()
		if !f.waitLocked(ctx, func() bool {
			return w.next < len(f.chunks) || f.done || w.cut || (f.status != 0 && !headerSent)
		}) {
			f.mu.Unlock()
			return Gone
		}
		if w.cut {
			f.mu.Unlock()
			return Aborted
		}
		status, header := f.status, f.sent
		chunks = append(chunks[:0], f.chunks[w.next:]...)
		w.next = len(f.chunks)
		for _, c := range chunks {
			w.pos += len(c)
		}
		done, aborted := f.done, f.aborted
		f.mu.Unlock()

		if !headerSent && status != 0 {
			h := rw.Header()
			for k, vs := range header {
				h[k] = vs
			}
			rw.WriteHeader(status)
			headerSent = true
		}
		for _, c := range chunks {
			if _, err := rw.Write(c); err != nil {
				return w.writeFailed(ctx)
			}
		}
		if len(chunks) > 0 {
			if err := rc.Flush(); err != nil {
				return w.writeFailed(ctx)
			}
		}
		if done {
			if aborted || status == 0 {
				return Aborted
			}
			return Served
		}
	}
}

// writeFailed tells a client that left from one cut off for lagging.
func (w *Waiter) writeFailed(ctx context.Context) Outcome {
	w.f.mu.Lock()
	cut := w.cut
	w.f.mu.Unlock()
	if cut || ctx.Err() == nil {
		return Aborted
	}
	return Gone
}

// waitLocked waits until cond holds, with f.mu held when it is called and
// when it returns; false when ctx ended first.
func (f *Flight) waitLocked(ctx context.Context, cond func() bool) bool {
	for !cond() {
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			f.mu.Lock()
			return false
		}
		f.mu.Lock()
	}
	return true
}

// serveFolded waits for the whole streamed answer and writes it as a
// message.
func (w *Waiter) serveFolded(ctx context.Context, rw http.ResponseWriter) Outcome {
	f := w.f
	f.mu.Lock()
	if !f.waitLocked(ctx, func() bool { return f.done || w.cut }) {
		f.mu.Unlock()
		return Gone
	}
	if w.cut || f.aborted || f.status == 0 {
		f.mu.Unlock()
		return Aborted
	}
	a := Answer{Status: f.status, Header: f.sent, Stream: true}
	for _, c := range f.chunks {
		a.Body = append(a.Body, c...)
	}
	f.mu.Unlock()
	m, err := a.As(false)
	if err != nil {
		return Aborted
	}
	if err := m.Write(rw, nil); err != nil {
		if ctx.Err() != nil {
			return Gone
		}
		return Aborted
	}
	return Served
}

// As returns the answer in the form a request asked for: as it is, or, for
// a request that is not streamed, a streamed 2xx answer folded into its
// message. It fails for a stream that does not fold, and for a message
// asked for as a stream.
func (a Answer) As(stream bool) (Answer, error) {
	switch {
	case stream && !a.Stream:
		return Answer{}, errors.New("a message cannot answer a streamed request")
	case stream || !a.Stream || a.Status < 200 || a.Status > 299:
		return a, nil
	}
	m, err := Fold(a.Body)
	if err != nil {
		return Answer{}, err
	}
	h := a.Header.Clone()
	h.Del("Cache-Control")
	h.Set("Content-Type", "application/json")
	return Answer{Status: a.Status, Header: h, Body: m.AppendJSON(nil)}, nil
}

// Write writes the answer to rw with the extra headers added, and flushes.
func (a Answer) Write(rw http.ResponseWriter, extra http.Header) error {
	h := rw.Header()
	for k, vs := range a.Header {
		h[k] = vs
	}
	for k, vs := range extra {
		h[k] = vs
	}
	if !a.Stream {
		h.Set("Content-Length", strconv.Itoa(len(a.Body)))
	}
	rw.WriteHeader(a.Status)
	if _, err := rw.Write(a.Body); err != nil {
		return err
	}
	return http.NewResponseController(rw).Flush()
}

// Fold reads a complete Messages API event stream into its message.
func Fold(stream []byte) (anthropic.Message, error) {
	var (
		dec anthropic.EventDecoder
		acc anthropic.Accumulator
	)
	r := sse.NewReader(bytes.NewReader(stream), len(stream))
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return acc.Message()
		}
		if err != nil {
			return anthropic.Message{}, fmt.Errorf("folding a stream: %w", err)
		}
		e, err := dec.Decode(ev.Data)
		if err != nil {
			return anthropic.Message{}, fmt.Errorf("folding a stream: %w", err)
		}
		if err := acc.Add(e); err != nil {
			return anthropic.Message{}, fmt.Errorf("folding a stream: %s: %w", e.Type, err)
		}
	}
}
