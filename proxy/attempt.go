package proxy

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
	"github.com/ccbalancer/ccbalancer/proxy/dedup"
	"github.com/ccbalancer/ccbalancer/proxy/health"
	"github.com/ccbalancer/ccbalancer/proxy/quota"
	"github.com/ccbalancer/ccbalancer/proxy/sse"
)

// dialect is what differs between provider types, and only where their wire
// formats differ: building the upstream request, reading an error answer,
// and turning a successful answer into Anthropic bytes. Everything else (the
// watchdog, classification, holding back, flushing, aborting) is the
// attempt's, written once.
type dialect interface {
	// request builds the upstream request for one route entry.
	request(req *request, u *upstream, e config.RouteEntry) (*http.Request, *attemptError)
	// refusal classifies a non-2xx answer whose body (bounded) is body; a
	// failRefused error carries the reply the client would get.
	refusal(req *request, resp *http.Response, body []byte) *attemptError
	// events decodes a 2xx streamed answer into Anthropic SSE.
	events(req *request, rd *sse.Reader) eventSource
	// streamHeader is the header for the client of a stream (hop-by-hop
	// and length headers are dropped when it is sent).
	streamHeader(resp *http.Response) http.Header
	// message turns a 2xx non-streamed answer into the client's reply.
	message(req *request, resp *http.Response, body []byte) (*reply, *attemptError)
	// Echoed secrets are not the dialects' concern: everything that leaves
	// the proxy goes through the request's redactor (redact.go).
}

// eventSource yields a streamed answer as Anthropic SSE, piece by piece.
type eventSource interface {
	// next returns the next piece, valid until the next call; io.EOF at the
	// end of the upstream body, an *attemptError for an answer that is an
	// error or malformed, any other error for a failed read.
	next() (piece, error)
}

// piece is some Anthropic SSE bytes of an answer.
type piece struct {
	b []byte
	// content: b holds an event that is part of the answer (anything but
	// message_start and ping); until the first such event nothing is sent
	// to the client, so that a provider that fails can still be failed over.
	content bool
	// stop: b ends with message_stop; the answer is complete.
	stop bool
}

const (
	// maxPreamble bounds the bytes held back before a stream's first content
	// event (message_start and pings are a few hundred bytes); past it they
	// are sent.
	maxPreamble = 64 << 10
	// maxErrorBody bounds the error body read from a failed answer.
	maxErrorBody = 64 << 10
	// maxMessage bounds a non-streamed answer, which is read whole before
	// any of it is sent, so that it can still be failed over until then
	// (128,000 output tokens are well under 2 MB of JSON).
	maxMessage = 16 << 20
	// drainAfterStop is how long the end of an upstream body is awaited
	// after message_stop, so that its connection can be reused; a provider
	// that keeps the stream open longer has its connection closed instead.
	drainAfterStop = 100 * time.Millisecond
)

// attempt sends the request to one provider and, if it answers, writes the
// answer to the client: send → watchdog (first byte, then idle between
// reads, error bodies included) → classify → write. It returns nil once the
// client has the whole answer; any failure is an *attemptError that says
// whether bytes already reached the client.
func (s *Server) attempt(req *request, u *upstream, e config.RouteEntry) *attemptError {
	set := req.set
	req.usage = anthropic.Usage{}
	out, aerr := u.dialect.request(req, u, e)
	if aerr != nil {
		return aerr
	}
	for k, v := range u.cfg.Headers {
		out.Header.Set(k, v)
	}
	req.quota = quota.Info{}
	limit, cause := req.firstByteLimit()
	wd := newWatchdog(req.r.Context(), limit, cause)
	defer wd.stop()
	start := time.Now()
	resp, err := u.client.Do(out.WithContext(wd.ctx))
	req.headersAfter = time.Since(start)
	if err != nil {
		return classifyTransport(req.r.Context(), wd.ctx, err, "")
	}
	req.quota = quota.Parse(resp.Header, time.Now())
	body := wd.body(resp.Body)
	defer body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		wd.phase(set.RequestTimeout, errErrorBodyTimeout)
		b, err := io.ReadAll(io.LimitReader(body, maxErrorBody))
		if err != nil {
			return classifyTransport(req.r.Context(), wd.ctx, err, "reading the error body")
		}
		return u.dialect.refusal(req, resp, b)
	}
	wd.phase(set.StreamIdleTimeout, errIdleTimeout)
	ct := mediaType(resp.Header)
	if req.fields.Stream {
		if ct != "text/event-stream" {
			return providerFailure(health.StateCooling, "HTTP %d with content type %q to a streaming request", resp.StatusCode, ct)
		}
		rd := sse.NewReader(body, int(set.MaxEventBytes))
		return s.relayStream(req, u, wd, body, u.dialect.events(req, rd), u.dialect.streamHeader(resp))
	}
	if ct != "application/json" {
		return providerFailure(health.StateCooling, "HTTP %d with content type %q to a non-streaming request", resp.StatusCode, ct)
	}
	b, err := readMessage(body, resp.ContentLength)
	if errors.Is(err, errTooLarge) {
		return providerFailure(health.StateCooling, "answer larger than %d bytes", maxMessage)
	}
	if err != nil {
		return classifyTransport(req.r.Context(), wd.ctx, err, "answer cut")
	}
	rep, aerr := u.dialect.message(req, resp, b)
	if aerr != nil {
		return aerr
	}
	dedup.Seal(req.w)
	rep.write(req.w, u.cfg.Name, req.redact)
	return nil
}

// relayStream writes a streamed answer to the client as it arrives. Pieces
// are held back until the first content event; then each is written and
// flushed at once. The answer ends with message_stop: anything else (a cut,
// silence past stream_idle_timeout, an error event, a clean end without
// message_stop) is a failure, committed once bytes reached the client.
func (s *Server) relayStream(req *request, u *upstream, wd *watchdog, body io.Reader, src eventSource, header http.Header) *attemptError {
	var held []byte
	committed := false
	rc := http.NewResponseController(req.w)
	fail := func(ae *attemptError) *attemptError {
		ae.committed = committed
		return ae
	}
	for {
		p, err := src.next()
		if err != nil {
			var ae *attemptError
			switch {
			case errors.As(err, &ae):
				return fail(ae)
			case errors.Is(err, io.EOF) && committed:
				return fail(providerFailure(health.StateCooling, "stream ended without message_stop"))
			case errors.Is(err, io.EOF):
				return fail(providerFailure(health.StateCooling, "stream ended before any content"))
			case errors.Is(err, sse.ErrTooLong):
				return fail(providerFailure(health.StateCooling, "stream event longer than max_event_size (%d bytes)", req.set.MaxEventBytes))
			}
			return fail(classifyTransport(req.r.Context(), wd.ctx, err, "stream cut"))
		}
		out := p.b
		if !committed {
			held = append(held, p.b...)
			if !p.content && len(held) <= maxPreamble {
				continue
			}
			h := req.w.Header()
			req.redact.header(header)
			copyResponseHeader(h, header)
			h.Set("X-Provider-Used", u.cfg.Name)
			req.w.WriteHeader(http.StatusOK)
			committed = true
			out = held
		}
		if p.stop {
			dedup.Seal(req.w)
		}
		if _, err := req.w.Write(req.redact.bytes(out)); err != nil {
			return fail(&attemptError{kind: failClientGone, reason: "client went away"})
		}
		if err := rc.Flush(); err != nil {
			return fail(&attemptError{kind: failClientGone, reason: "client went away"})
		}
		if p.stop {
			// The answer is complete. Wait briefly for the end of the
			// upstream body so that its connection can be reused; one that
			// stays open is closed by the watchdog.
			wd.phase(drainAfterStop, errIdleTimeout)
			_, _ = io.Copy(io.Discard, io.LimitReader(body, maxPreamble))
			return nil
		}
	}
}

var errTooLarge = errors.New("answer too large")

// readMessage reads a whole non-streamed answer, at most maxMessage bytes.
func readMessage(body io.Reader, length int64) ([]byte, error) {
	if length > maxMessage {
		return nil, errTooLarge
	}
	var buf bytes.Buffer
	if length > 0 {
		buf.Grow(int(length))
	}
	n, err := buf.ReadFrom(io.LimitReader(body, maxMessage+1))
	if err == nil && n > maxMessage {
		err = errTooLarge
	}
	return buf.Bytes(), err
}

// mediaType is the response's media type without parameters, lower case.
func mediaType(h http.Header) string {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}
