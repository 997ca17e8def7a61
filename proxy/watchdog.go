package proxy

import (
	"context"
	"io"
	"sync/atomic"
	"time"
)

// watchdog is the one timer of an attempt. It bounds each phase: until the
// response headers (request_timeout for a stream, nonstream_timeout for a
// whole non-streamed answer), then the silence between two reads of the
// body (stream_idle_timeout, or request_timeout while an error body is read).
// When it fires it cancels the attempt's context with the phase's cause, so
// a failure says exactly which limit was hit.
type watchdog struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
	cause  atomic.Int32 // the current phase's cause, an index in causes
	idle   atomic.Int64 // the current phase's duration, for touch
}

// causes are the watchdog's causes, by index (stored as an int so that a
// phase change allocates nothing).
var causes = [...]error{errFirstByteTimeout, errNonstreamTimeout, errIdleTimeout, errErrorBodyTimeout}

func causeIndex(cause error) int32 {
	for i, c := range causes {
		if c == cause {
			return int32(i)
		}
	}
	panic("watchdog: unknown cause " + cause.Error())
}

// newWatchdog starts the first phase: d to the response headers, cause if
// it runs out.
func newWatchdog(parent context.Context, d time.Duration, cause error) *watchdog {
	ctx, cancel := context.WithCancelCause(parent)
	w := &watchdog{ctx: ctx, cancel: cancel}
	w.cause.Store(causeIndex(cause))
	w.idle.Store(int64(d))
	w.timer = time.AfterFunc(d, func() { w.cancel(causes[w.cause.Load()]) })
	return w
}

// phase starts a new phase: at most d between reads from now on.
func (w *watchdog) phase(d time.Duration, cause error) {
	w.cause.Store(causeIndex(cause))
	w.idle.Store(int64(d))
	w.timer.Reset(d)
}

// touch restarts the current phase's timer: data arrived.
func (w *watchdog) touch() { w.timer.Reset(time.Duration(w.idle.Load())) }

// stop ends the attempt's context and its timer.
func (w *watchdog) stop() {
	w.timer.Stop()
	w.cancel(nil)
}

// body wraps an upstream body so that every read that brings data restarts
// the timer.
func (w *watchdog) body(rc io.ReadCloser) io.ReadCloser { return &watchedBody{rc, w} }

type watchedBody struct {
	io.ReadCloser
	w *watchdog
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.w.touch()
	}
	return n, err
}
