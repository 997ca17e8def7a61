package proxy

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
	"github.com/ccbalancer/ccbalancer/proxy/health"
	"github.com/ccbalancer/ccbalancer/proxy/sse"
)

// anthropicDialect speaks the Messages API to the provider: the client's
// body goes upstream byte for byte (but the model value), and the answer
// comes back byte for byte.
type anthropicDialect struct{}

func (anthropicDialect) request(req *request, u *upstream, e config.RouteEntry) (*http.Request, *attemptError) {
	body, f, held := req.body, req.fields, req.held
	if stripped := anthropic.StripUnsignedThinking(body, f); len(stripped) != len(body) {
		body, held = stripped, nil
		f, _ = anthropic.Peek(body)
	}
	out, err := http.NewRequest(http.MethodPost, u.endpoint(req.r.URL.Path, req.r.URL.RawQuery), nil)
	if err != nil {
		return nil, providerFailure(health.StateCooling, "building request: %v", err)
	}
	if parts, ok := anthropic.RewriteModelParts(body, f, e.Model); ok && e.Model != config.Passthrough && e.Model != "" {
		// The mapped model is spliced in as the body is sent: no copy of a
		// body that may be 100 KB or more.
		setBody(out, held, parts[:]...)
	} else {
		setBody(out, held, body)
	}
	copyRequestHeaders(out.Header, req.r.Header)
	if !u.cfg.AuthValue.IsPassthrough() {
		stripOAuthBetas(out.Header)
	}
	ok := setAuth(out.Header, u.cfg, req.key, req.r.Header, req.st.cfg.Settings.AuthKey)
	if !ok {
		return nil, noCredential()
	}
	return out, nil
}

// noCredential: a passthrough provider, and the client sent no credential
// of its own (or only the proxy's auth_key).
func noCredential() *attemptError {
	return &attemptError{kind: failSkip, reason: "no client credential to pass through (auth_value: passthrough; the proxy's own auth_key is never forwarded)"}
}

func (anthropicDialect) refusal(req *request, resp *http.Response, body []byte) *attemptError {
	typ, msg, shaped := anthropic.ParseError(body)
	if !shaped {
		msg = plainMessage(body)
	}
	ae := classifyStatus(resp.StatusCode, resp.Header, typ, msg, shaped)
	if ae.kind == failRefused {
		// The client's own body was refused (400, 413, 422, ...): the
		// provider's answer goes back as it is, less any echoed key.
		ae.relayNow = true
		ae.reply = &reply{status: resp.StatusCode, header: resp.Header, body: body}
		if !shaped {
			// A front server's page (a 413 or 431 from nginx): the client
			// gets the API's error shape, with what the page said.
			ae.reply = errorReply(resp.StatusCode, anthropic.ErrorTypeForStatus(resp.StatusCode), "the provider refused the request: "+ae.reason)
		}
	}
	return ae
}

// plainMessage is a short plain-text error body, or "".
func plainMessage(body []byte) string {
	if t := bytes.TrimSpace(body); len(t) < 200 && !bytes.ContainsAny(t, "<{") {
		return string(t)
	}
	return ""
}

func (anthropicDialect) events(req *request, rd *sse.Reader) eventSource {
	return &anthropicEvents{rd: rd, usage: &req.usage}
}

func (anthropicDialect) streamHeader(resp *http.Response) http.Header {
	return resp.Header
}

func (anthropicDialect) message(req *request, resp *http.Response, body []byte) (*reply, *attemptError) {
	a, err := anthropic.PeekAnswer(body)
	if err != nil {
		return nil, providerFailure(health.StateCooling, "HTTP %d with a body that is not JSON: %s", resp.StatusCode, shorten(err.Error(), 80))
	}
	switch a.Type {
	case "message":
		if a.Usage != nil {
			req.usage, _ = anthropic.ParseUsage(a.Usage)
		}
		return &reply{status: resp.StatusCode, header: resp.Header, body: body}, nil
	case "error":
		var e anthropic.Error
		_ = json.Unmarshal(a.Error, &e)
		return nil, errorEvent(e.Type, e.Message, "HTTP 200 with an error body")
	}
	return nil, providerFailure(health.StateCooling, "HTTP %d with a body that is not a message (type %q)", resp.StatusCode, a.Type)
}

// errorEvent classifies an error a provider reported inside a 200 answer (an
// `event: error` before any content, or an error body) by its error type, as
// if it had come with the matching status.
func errorEvent(errType, msg, where string) *attemptError {
	status := anthropic.StatusForErrorType(errType)
	ae := classifyStatus(status, http.Header{}, errType, msg, true)
	ae.status = 0
	ae.reason = where + ": " + errType
	if msg != "" {
		ae.reason += ": " + shorten(msg, 160)
	}
	if ae.kind == failRefused {
		ae.relayNow = true
		ae.reply = errorReply(status, errType, msg)
	}
	return ae
}

// anthropicEvents passes an Anthropic stream through event by event, byte
// for byte, telling content from preamble by the event's type.
type anthropicEvents struct {
	rd      *sse.Reader
	started bool // message_start seen
	// usage is the request's, read from message_start and message_delta
	// (the only events decoded: the rest pass through as bytes).
	usage *anthropic.Usage
	dec   anthropic.EventDecoder
}

// noteUsage reads the usage of a message_start or message_delta event; an
// event that does not decode leaves the count as it was (the bytes are the
// client's answer whatever they hold).
func (a *anthropicEvents) noteUsage(data []byte) {
	e, err := a.dec.Decode(data)
	switch {
	case err != nil:
	case e.Type == anthropic.EventMessageStart:
		*a.usage = e.Message.Usage
	case e.Type == anthropic.EventMessageDelta:
		*a.usage = e.Usage
	}
}

func (a *anthropicEvents) next() (piece, error) {
	ev, err := a.rd.Next()
	if err != nil {
		return piece{}, err
	}
	typ := ev.Name
	if typ == "" {
		typ = dataType(ev.Data)
	}
	switch typ {
	case "message_start":
		a.started = true
		a.noteUsage(ev.Data)
		return piece{b: ev.Raw}, nil
	case "message_delta":
		a.noteUsage(ev.Data)
	case "ping":
		return piece{b: ev.Raw}, nil
	case "error":
		errType, msg, _ := anthropic.ParseError(ev.Data)
		return piece{}, errorEvent(errType, msg, "error event")
	}
	if !a.started {
		return piece{}, providerFailure(health.StateCooling, "stream does not start with message_start (first event %q)", shorten(typ, 40))
	}
	return piece{b: ev.Raw, content: true, stop: typ == "message_stop"}, nil
}

// dataType reads the "type" member of an event's data, for streams that
// send no event lines.
func dataType(data []byte) string {
	const prefix = `{"type":"`
	if bytes.HasPrefix(data, []byte(prefix)) {
		if end := bytes.IndexByte(data[len(prefix):], '"'); end >= 0 {
			return string(data[len(prefix) : len(prefix)+end])
		}
	}
	var v struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(data, &v)
	return v.Type
}
