package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
	"github.com/ccbalancer/ccbalancer/proxy/sse"
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// relay copies one upstream response to the client as it arrives, with an
// idle timeout between reads.
type relay struct {
	req    *request
	resp   *http.Response
	ctx    context.Context
	cancel context.CancelCauseFunc
	idle   time.Duration
	timer  *time.Timer
	bufp   *[]byte
	rc     *http.ResponseController
}

func newRelay(req *request, resp *http.Response, ctx context.Context, cancel context.CancelCauseFunc, idle time.Duration) *relay {
	rl := &relay{req: req, resp: resp, ctx: ctx, cancel: cancel, idle: idle,
		bufp: bufPool.Get().(*[]byte), rc: http.NewResponseController(req.w)}
	rl.timer = time.AfterFunc(idle, func() { cancel(errIdleTimeout) })
	return rl
}

func (rl *relay) stop() {
	rl.timer.Stop()
	bufPool.Put(rl.bufp)
}

func (rl *relay) read() ([]byte, error) {
	buf := *rl.bufp
	n, err := rl.resp.Body.Read(buf)
	if n > 0 {
		rl.timer.Reset(rl.idle)
	}
	return buf[:n], err
}

// Read reads the upstream body directly into p, resetting the idle timer,
// for callers that parse the stream (the OpenAI conversion).
func (rl *relay) Read(p []byte) (int, error) {
	n, err := rl.resp.Body.Read(p)
	if n > 0 {
		rl.timer.Reset(rl.idle)
	}
	return n, err
}

// readErr classifies a failed read of the upstream body.
func (rl *relay) readErr(err error, what string) *attemptError {
	ae := classifyTransport(rl.req.r.Context(), rl.ctx, err, "")
	if ae.kind == failConnect {
		ae.reason = what + ": " + ae.reason
		ae.kind = failStream
	}
	return ae
}

var errClientGone = &attemptError{kind: failClient, reason: "client went away"}

// plain relays a non-streaming response. The status is sent only once the
// first bytes of the body arrived, so a provider that fails before that can
// still be failed over.
func (rl *relay) plain(provider string) (bool, *attemptError) {
	data, err := rl.read()
	if err != nil && !errors.Is(err, io.EOF) {
		return false, rl.readErr(err, "response cut")
	}
	cl := -1
	if rl.resp.ContentLength >= 0 {
		cl = int(rl.resp.ContentLength)
	}
	writeHeader(rl.req.w, rl.resp, provider, cl)
	for {
		if len(data) > 0 {
			if _, werr := rl.req.w.Write(data); werr != nil {
				return true, errClientGone
			}
		}
		if errors.Is(err, io.EOF) {
			return true, nil
		}
		if err != nil {
			return true, rl.readErr(err, "response cut")
		}
		data, err = rl.read()
	}
}

// maxPreamble bounds what a stream may hold back before its first content
// event (message_start and pings are a few hundred bytes).
const maxPreamble = 64 << 10

// SSE line kinds the relay cares about.
const (
	lineOther = iota
	linePreamble
	lineContent
	lineStop
	lineError
)

func classifyLine(line []byte) int {
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if name, ok := bytes.CutPrefix(line, []byte("event:")); ok {
		switch string(bytes.TrimSpace(name)) {
		case "message_start", "ping":
			return linePreamble
		case "message_stop":
			return lineStop
		case "error":
			return lineError
		default:
			return lineContent
		}
	}
	// Streams without event lines: look at the data's type.
	if data, ok := bytes.CutPrefix(line, []byte("data:")); ok {
		data = bytes.TrimLeft(data, " ")
		switch {
		case bytes.HasPrefix(data, []byte(`{"type":"message_stop"`)):
			return lineStop
		case bytes.HasPrefix(data, []byte(`{"type":"error"`)):
			return lineError
		}
	}
	return lineOther
}

// stream relays an Anthropic SSE response. Events are held back only until
// the first content event, so that a provider answering 200 and then an
// error event can still be failed over; after that, every complete line is
// written and flushed as soon as it is read. An error event after content,
// a cut, a stall or an end without message_stop returns a failure with
// committed=true: the caller aborts the client connection.
func (rl *relay) stream(provider, secret string) (bool, *attemptError) {
	var pending []byte // bytes read but not yet written
	committed, sawStop := false, false
	scanFrom := 0
	for {
		chunk, err := rl.read()
		data := chunk
		if len(pending) > 0 || !committed {
			pending = append(pending, chunk...)
			data = pending
		}
		last := bytes.LastIndexByte(data, '\n')
		complete := data[:last+1]
		cut, content := -1, false
		for off := scanFrom; off < len(complete); {
			end := off + bytes.IndexByte(complete[off:], '\n')
			switch classifyLine(complete[off:end]) {
			case lineError:
				cut = off
			case lineStop:
				sawStop = true
			case lineContent:
				content = true
			}
			if cut >= 0 {
				break
			}
			off = end + 1
		}
		scanFrom = len(complete)
		if cut >= 0 && !committed && !content {
			return false, rl.preCommitError(data, cut, err, secret)
		}
		// A provider that sends only pings for long is still answering; past
		// maxPreamble the held-back bytes are sent rather than kept growing.
		if !committed && (content || sawStop || cut >= 0 || len(pending) > maxPreamble) {
			writeHeader(rl.req.w, rl.resp, provider, -1)
			committed = true
		}
		if committed {
			w := complete
			if cut >= 0 {
				w = complete[:cut]
			}
			if len(w) > 0 {
				if _, werr := rl.req.w.Write(w); werr != nil {
					return true, errClientGone
				}
				if ferr := rl.rc.Flush(); ferr != nil {
					return true, errClientGone
				}
			}
			if cut >= 0 {
				return true, &attemptError{kind: failStream, reason: "error event mid-stream", cooldown: true}
			}
			pending = append(pending[:0], data[last+1:]...)
			scanFrom = 0
		}
		if err == nil {
			continue
		}
		if !errors.Is(err, io.EOF) {
			return committed, rl.readErr(err, "stream cut")
		}
		if !sawStop {
			ae := &attemptError{kind: failStream, reason: "stream ended without message_stop", cooldown: true}
			if !committed {
				ae.reason = "stream ended before any content"
			}
			return committed, ae
		}
		if len(pending) > 0 {
			if !committed {
				writeHeader(rl.req.w, rl.resp, provider, -1)
			}
			_, _ = rl.req.w.Write(pending)
			_ = rl.rc.Flush()
		}
		return true, nil
	}
}

// preCommitError reads the rest of an error event that arrived before any
// content (bounded) and turns it into a failover reason.
func (rl *relay) preCommitError(data []byte, cut int, err error, secret string) *attemptError {
	ev := append([]byte(nil), data[cut:]...)
	for err == nil && !bytes.Contains(ev, []byte("\n\n")) && !bytes.Contains(ev, []byte("\r\n\r\n")) && len(ev) < 64<<10 {
		var chunk []byte
		chunk, err = rl.read()
		ev = append(ev, chunk...)
	}
	reason := "error event before any content"
	if e, rerr := sse.NewReader(bytes.NewReader(ev)).Next(); rerr == nil {
		if typ, msg, ok := anthropic.ParseError(e.Data); ok {
			reason = "stream error: " + typ
			if msg != "" {
				reason += ": " + shorten(redact(msg, secret), 160)
			}
		}
	}
	return &attemptError{kind: failStream, reason: reason, cooldown: true}
}
