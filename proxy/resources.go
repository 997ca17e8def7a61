package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
)

// What a client can make the proxy hold is bounded (DESIGN.md 9): the time
// to send a request body (settings.body_read_timeout), the open connections
// (settings.max_connections) and the memory held by request bodies in
// flight (settings.max_body_memory). Headers are bounded by the server's
// ReadHeaderTimeout and net/http's header size limit, bodies one by one by
// max_body_size.

// bodyMemoryWait is how long a request whose body does not fit in
// max_body_memory waits for memory before it is answered 503.
const bodyMemoryWait = 2 * time.Second

// errBodyMemory ends the reading of a body of unknown length that no longer
// fits in max_body_memory.
var errBodyMemory = errors.New("request bodies in flight exceed settings.max_body_memory")

// limits holds the server's resource bounds; apply sets them from the
// settings (at start and on every reload).
type limits struct {
	conns  connLimit
	bodies bodyBudget
}

func newLimits(set config.Settings) *limits {
	l := &limits{conns: connLimit{idle: map[net.Conn]time.Time{}, freed: make(chan struct{})},
		bodies: bodyBudget{freed: make(chan struct{})}}
	l.apply(set)
	return l
}

// usage is the open client connections and the request body bytes held.
func (l *limits) usage() (conns int, bodyBytes int64) {
	l.conns.mu.Lock()
	conns = l.conns.open
	l.conns.mu.Unlock()
	bodyBytes, _ = l.bodies.usage()
	return conns, bodyBytes
}

func (l *limits) apply(set config.Settings) {
	l.conns.setMax(set.MaxConnections)
	l.bodies.setLimit(set.MaxBodyMemory)
}

// bounded wraps a handler that reads a request body: the body must arrive
// within body_read_timeout, and its bytes are reserved in max_body_memory
// until the handler returns.
func (s *Server) bounded(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		set := s.state.Load().cfg.Settings
		if set.BodyReadTimeout > 0 {
			// Cleared by net/http once the body has been read to its end.
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(set.BodyReadTimeout))
		}
		b := &s.limits.bodies
		switch n := r.ContentLength; {
		case n > set.MaxBodyBytes:
			// Refused without reading (readBody): nothing to hold.
		case n >= 0:
			if !b.acquire(r.Context(), n) {
				s.bodyMemoryFull(w, r)
				return
			}
			defer b.release(n)
		default:
			rr := &reservingBody{ReadCloser: r.Body, ctx: r.Context(), b: b}
			r.Body = rr
			defer rr.release()
		}
		h(w, r)
	}
}

// bodyMemoryFull answers a request whose body found no room.
func (s *Server) bodyMemoryFull(w http.ResponseWriter, r *http.Request) {
	if r.Context().Err() != nil {
		return
	}
	used, limit := s.limits.bodies.usage()
	s.log.Warn("request refused: request bodies in flight fill settings.max_body_memory",
		slog.Int64("held_bytes", used), slog.Int64("limit_bytes", limit), slog.Int64("body_bytes", r.ContentLength))
	w.Header().Set("Retry-After", "1")
	w.Header().Set("Connection", "close") // the body is not read (see readBody)
	anthropic.WriteError(w, http.StatusServiceUnavailable, anthropic.ErrOverloaded,
		fmt.Sprintf("the proxy holds %d MiB of request bodies, its limit (settings.max_body_memory is %d MiB); retry shortly", used>>20, limit>>20))
}

// bodyBudget is a count of bytes that waiting requests acquire and release.
type bodyBudget struct {
	mu      sync.Mutex
	limit   int64
	used    int64
	waiters int           // acquires waiting for room
	freed   chan struct{} // closed and replaced when bytes are released while some wait
}

func (b *bodyBudget) setLimit(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.limit = n
	b.wakeLocked()
}

// wakeLocked wakes the acquires waiting for room, if any.
func (b *bodyBudget) wakeLocked() {
	if b.waiters > 0 {
		close(b.freed)
		b.freed = make(chan struct{})
	}
}

// acquire reserves n bytes, waiting up to bodyMemoryWait until they fit (or
// ctx ends). A body alone always fits (max_body_memory is at least
// max_body_size). The timer is made only when the bytes do not fit at once.
func (b *bodyBudget) acquire(ctx context.Context, n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	var timeout <-chan time.Time
	for b.used > 0 && b.used+n > b.limit {
		if timeout == nil {
			t := time.NewTimer(bodyMemoryWait)
			defer t.Stop()
			timeout = t.C
		}
		freed := b.freed
		b.waiters++
		b.mu.Unlock()
		var ok bool
		select {
		case <-freed:
			ok = true
		case <-ctx.Done():
		case <-timeout:
		}
		b.mu.Lock()
		b.waiters--
		if !ok {
			return false
		}
	}
	b.used += n
	return true
}

func (b *bodyBudget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	b.wakeLocked()
}

func (b *bodyBudget) usage() (used, limit int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used, b.limit
}

// reservingBody reserves a body of unknown length (chunked) in steps as it
// is read; a step that finds no room within bodyMemoryWait fails the read
// with errBodyMemory.
type reservingBody struct {
	io.ReadCloser
	ctx           context.Context
	b             *bodyBudget
	got, reserved int64
}

const reserveStep = 1 << 20

func (r *reservingBody) Read(p []byte) (int, error) {
	if r.got == r.reserved {
		if !r.b.acquire(r.ctx, reserveStep) {
			return 0, errBodyMemory
		}
		r.reserved += reserveStep
	}
	n, err := r.ReadCloser.Read(p[:min(int64(len(p)), r.reserved-r.got)])
	r.got += int64(n)
	return n, err
}

func (r *reservingBody) release() { r.b.release(r.reserved) }

// connLimit bounds the open client connections. At the bound, the
// connection idle the longest (a client's keep-alive) is closed to make
// room; when none is idle, Accept waits until one closes, and new clients
// wait in the listen queue.
type connLimit struct {
	mu    sync.Mutex
	max   int
	open  int
	idle  map[net.Conn]time.Time // open connections between requests, since when
	freed chan struct{}          // closed and replaced whenever a connection closes or goes idle at the bound
}

func (c *connLimit) setMax(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.max = n
	close(c.freed)
	c.freed = make(chan struct{})
}

// track is the http.Server's ConnState hook.
func (c *connLimit) track(conn net.Conn, st http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st != http.StateIdle {
		delete(c.idle, conn)
		return
	}
	c.idle[conn] = time.Now()
	if c.open >= c.max {
		// A new connection may be waiting for room: this one can make it.
		close(c.freed)
		c.freed = make(chan struct{})
	}
}

// reserve takes a place for the next connection.
func (c *connLimit) reserve(done <-chan struct{}) error {
	for {
		c.mu.Lock()
		if c.open < c.max {
			c.open++
			c.mu.Unlock()
			return nil
		}
		var victim net.Conn
		var since time.Time
		for conn, t := range c.idle {
			if victim == nil || t.Before(since) {
				victim, since = conn, t
			}
		}
		delete(c.idle, victim)
		freed := c.freed
		c.mu.Unlock()
		if victim != nil {
			victim.Close()
		}
		select {
		case <-freed:
		case <-done:
			return net.ErrClosed
		}
	}
}

func (c *connLimit) free(conn net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.open--
	delete(c.idle, conn)
	close(c.freed)
	c.freed = make(chan struct{})
}

// listener wraps ln so that its connections count against the bound.
func (c *connLimit) listener(ln net.Listener) net.Listener {
	return &limitedListener{Listener: ln, c: c, done: make(chan struct{})}
}

type limitedListener struct {
	net.Listener
	c    *connLimit
	once sync.Once
	done chan struct{}
}

// Accept takes the next connection, then a place for it: a place taken
// before a connection arrives would close an idle one for nobody. While it
// waits for a place, later connections wait in the listen queue.
func (l *limitedListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if err := l.c.reserve(l.done); err != nil {
		conn.Close()
		return nil, err
	}
	return &limitedConn{Conn: conn, c: l.c}, nil
}

func (l *limitedListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitedConn struct {
	net.Conn
	c    *connLimit
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.c.free(c) })
	return err
}
