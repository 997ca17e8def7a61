// Package dedup shares one upstream answer among identical requests that
// arrive while it is being made (the original project's
// enable_deduplication). The first request of a kind leads: its answer is
// made once, by the proxy's normal pipeline, writing into a Flight (an
// http.ResponseWriter). Every request of that kind, the leader's own client
// included, is a Waiter that copies the Flight's answer to its own client at
// its own pace: a late joiner first gets what was already sent, a slow
// reader neither slows the others nor holds memory past a bound (it is cut
// off with an abort), and the last waiter to leave cancels the Flight.
package dedup

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Key identifies requests that get the same answer: a hash of everything
// that shapes the answer (the body without its metadata and stream members,
// the headers that select API behaviour, the credential), the route and the
// configuration it belongs to, and whether the answer is streamed.
type Key struct {
	Sum   [32]byte
	Route string
	// Config tells configurations apart: a request made after a reload
	// does not join one routed by the configuration before.
	Config uint64
	Stream bool
}

// Default bounds.
const (
	// DefaultMaxLag is how far (bytes) a waiter may fall behind the answer
	// before it is cut off.
	DefaultMaxLag = 8 << 20
	// DefaultMaxShared is how much of an answer (bytes) a Flight keeps for
	// late joiners and for folding a stream into a message. Past it the
	// Flight takes no new waiters, its answer is not complete for Done, and
	// only what some waiter still has to read is kept.
	DefaultMaxShared = 16 << 20
)

// Options bound a Group; zero fields take the defaults.
type Options struct {
	MaxLag, MaxShared int
}

// Group holds the Flights in progress. It is safe for concurrent use.
type Group struct {
	opts    Options
	mu      sync.Mutex
	m       map[Key]*Flight
	wg      sync.WaitGroup
	running atomic.Int64
}

// NewGroup returns an empty Group.
func NewGroup(opts Options) *Group {
	if opts.MaxLag <= 0 {
		opts.MaxLag = DefaultMaxLag
	}
	if opts.MaxShared <= 0 {
		opts.MaxShared = DefaultMaxShared
	}
	return &Group{opts: opts, m: make(map[Key]*Flight)}
}

// Join returns a Waiter for the request with key k. When share is set it
// joins a Flight in progress for k, or (for a request that is not
// streamed) for the streamed twin of k, whose answer is folded into a
// message; otherwise, or when there is none, it starts a new Flight (leader
// is true), which is shared when share is set. A leader must run the Flight
// (Flight.Run).
func (g *Group) Join(k Key, share bool) (w *Waiter, leader bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if share {
		keys := []Key{k}
		if !k.Stream {
			twin := k
			twin.Stream = true
			keys = append(keys, twin)
		}
		for _, key := range keys {
			if f := g.m[key]; f != nil {
				if w := f.addWaiter(!k.Stream && key.Stream); w != nil {
					return w, false
				}
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Flight{g: g, key: k, shared: share, ctx: ctx, cancel: cancel, header: http.Header{},
		changed: make(chan struct{}), waiters: make(map[*Waiter]struct{})}
	if share {
		g.m[k] = f
	}
	g.wg.Add(1)
	g.running.Add(1)
	return f.addWaiter(false), true
}

// Active returns how many Flights are running.
func (g *Group) Active() int { return int(g.running.Load()) }

// Waiting returns how many requests wait for a Flight's answer, leaders'
// clients included.
func (g *Group) Waiting() int {
	g.mu.Lock()
	fs := make([]*Flight, 0, len(g.m))
	for _, f := range g.m {
		fs = append(fs, f)
	}
	g.mu.Unlock()
	n := 0
	for _, f := range fs {
		f.mu.Lock()
		n += len(f.waiters)
		f.mu.Unlock()
	}
	return n
}

// Wait waits until every Flight has ended.
func (g *Group) Wait() { g.wg.Wait() }

// forget removes f from the map if it is still the Flight for its key.
func (g *Group) forget(f *Flight) {
	g.mu.Lock()
	if g.m[f.key] == f {
		delete(g.m, f.key)
	}
	g.mu.Unlock()
}

// Answer is a complete answer as a Flight recorded it.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
	// Stream: Body is a Messages API event stream (SSE).
	Stream bool
}

// errCancelled is what the Flight's writer returns once every waiter left.
var errCancelled = errors.New("every client of the shared request went away")

// Flight is one answer being made for any number of waiters. Its Writer is
// what the proxy's pipeline writes to.
type Flight struct {
	g      *Group
	key    Key
	shared bool
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	header  http.Header // the writer's header map, until WriteHeader
	status  int
	sent    http.Header // header as of WriteHeader
	chunks  [][]byte    // the answer's writes; nil once no waiter needs them
	size    int         // bytes written in all
	done    bool
	aborted bool // the pipeline ended without a complete answer (an abort)
	// sealed: the pipeline is writing the end of its answer (Seal); a
	// request that arrives after its client may have the whole answer is
	// asked anew, not joined to an answer it has already had.
	sealed bool
	// overflow: the answer outgrew MaxShared; no new waiters, no Answer.
	overflow bool
	changed  chan struct{} // closed and replaced on every change
	waiters  map[*Waiter]struct{}
}

// Context is the Flight's context: cancelled when the last waiter leaves.
// The pipeline's upstream requests use it.
func (f *Flight) Context() context.Context { return f.ctx }

// Run runs pipeline, which writes the answer to w, then ends the Flight. A
// pipeline that panics (http.ErrAbortHandler: a failure after bytes went
// out) ends it aborted: every waiter's client connection is then aborted
// too. done, if not nil, is called with the complete answer when the
// pipeline answered 2xx and the Flight kept all of it. Run recovers any
// other panic too, since the Flight runs outside the server's handlers,
// and returns it as an error with its stack.
func (f *Flight) Run(pipeline func(w http.ResponseWriter), done func(Answer)) (err error) {
	defer f.g.wg.Done()
	defer f.g.running.Add(-1)
	defer f.cancel()
	completed := false
	defer func() {
		p := recover()
		if p != nil && p != http.ErrAbortHandler {
			err = fmt.Errorf("shared request panicked: %v\n%s", p, debug.Stack())
		}
		ans, ok := f.finish(completed && p == nil)
		if ok && done != nil {
			done(ans)
		}
		f.g.forget(f)
	}()
	pipeline(writer{f})
	completed = true
	return nil
}

// finish marks the Flight done and returns its answer when it is complete.
func (f *Flight) finish(completed bool) (Answer, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.done = true
	f.aborted = !completed
	f.notifyLocked()
	if !completed || f.overflow || f.status < 200 || f.status > 299 {
		return Answer{}, false
	}
	body := make([]byte, 0, f.size)
	for _, c := range f.chunks {
		body = append(body, c...)
	}
	return Answer{Status: f.status, Header: f.sent.Clone(), Body: body, Stream: f.key.Stream}, true
}

func (f *Flight) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// addWaiter adds a waiter unless the Flight can no longer take one (it was
// cancelled, aborted, or outgrew its bound). fold: the waiter wants the
// streamed answer as a message.
func (f *Flight) addWaiter(fold bool) *Waiter {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ctx.Err() != nil || f.overflow || f.aborted || f.sealed {
		return nil
	}
	w := &Waiter{f: f, fold: fold}
	f.waiters[w] = struct{}{}
	return w
}

// leave removes w; the last waiter to leave a Flight still running cancels
// it.
func (f *Flight) leave(w *Waiter) {
	f.g.mu.Lock()
	f.mu.Lock()
	delete(f.waiters, w)
	last := len(f.waiters) == 0 && !f.done
	if last && f.g.m[f.key] == f {
		delete(f.g.m, f.key)
	}
	f.mu.Unlock()
	f.g.mu.Unlock()
	if last {
		f.cancel()
	}
}

// append records one write of the answer and cuts off the waiters that
// fell too far behind.
func (f *Flight) append(b []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ctx.Err() != nil {
		return errCancelled
	}
	f.chunks = append(f.chunks, append([]byte(nil), b...))
	f.size += len(b)
	if f.size > f.g.opts.MaxShared {
		// Join no longer adds waiters to f: new requests of this kind start
		// afresh rather than join an answer whose start is gone.
		f.overflow = true
	}
	low := len(f.chunks)
	for w := range f.waiters {
		switch {
		case w.cut:
		case w.fold && f.overflow, !w.fold && f.size-w.pos > f.g.opts.MaxLag:
			w.cut = true
			if w.interrupt != nil {
				w.interrupt()
			}
		default:
			if !w.fold {
				low = min(low, w.next)
			}
		}
	}
	if f.overflow {
		for i := range low {
			f.chunks[i] = nil
		}
	}
	f.notifyLocked()
	return nil
}

// Seal tells the Flight behind w, if w is a Flight's writer, that the
// pipeline's next write ends the answer: from then on identical requests
// start a Flight of their own. Without it a client that has read the whole
// answer and sends the same request again (a new question, not a duplicate)
// could join the Flight in the moment before the pipeline returns and get
// the old answer back. Wrappers of w are looked through as
// http.ResponseController does (Unwrap() http.ResponseWriter); any other w
// is left alone.
func Seal(w http.ResponseWriter) {
	for {
		switch t := w.(type) {
		case writer:
			t.f.mu.Lock()
			t.f.sealed = true
			t.f.mu.Unlock()
			return
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return
		}
	}
}

// writer is the http.ResponseWriter the pipeline writes the answer to.
type writer struct{ f *Flight }

func (w writer) Header() http.Header {
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	return w.f.header
}

func (w writer) WriteHeader(status int) {
	f := w.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status != 0 {
		return
	}
	f.status = status
	f.sent = f.header.Clone()
	f.notifyLocked()
}

func (w writer) Write(b []byte) (int, error) {
	w.f.mu.Lock()
	if w.f.status == 0 {
		w.f.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	} else {
		w.f.mu.Unlock()
	}
	if err := w.f.append(b); err != nil {
		return 0, err
	}
	return len(b), nil
}

// FlushError reports whether anyone still waits: every write is already
// handed to the waiters, which flush to their own clients.
func (w writer) FlushError() error {
	if w.f.ctx.Err() != nil {
		return errCancelled
	}
	return nil
}

// Flush implements http.Flusher.
func (w writer) Flush() { _ = w.FlushError() }
