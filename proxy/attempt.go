package proxy

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
)

// hopHeaders are not forwarded in either direction (RFC 9110 section 7.6.1),
// nor are the client's credentials, Host, or lengths we set ourselves.
var hopHeaders = map[string]bool{
	"Connection": true, "Proxy-Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// clientOnly are request headers that never go upstream as the client sent them.
var clientOnly = map[string]bool{
	"X-Api-Key": true, "Authorization": true, "Host": true, "Content-Length": true,
	// The transport negotiates compression itself and decodes it, so the
	// relay can read stream events.
	"Accept-Encoding": true,
}

// attempt sends the request to one anthropic provider and, on success,
// relays the response. committed reports whether any byte reached the client.
func (s *Server) attempt(req *request, u *upstream, e config.RouteEntry) (committed bool, _ *attemptError) {
	if u.cfg.Type == config.TypeOpenAI {
		return s.attemptOpenAI(req, u, e)
	}
	set := req.st.cfg.Settings
	body, f, held := req.body, req.fields, req.held
	if stripped := anthropic.StripUnsignedThinking(body, f); len(stripped) != len(body) {
		body, held = stripped, nil
		f, _ = anthropic.Peek(body)
	}
	ctx, cancel := context.WithCancelCause(req.r.Context())
	defer cancel(nil)
	out, err := http.NewRequestWithContext(ctx, http.MethodPost, u.endpoint(req.r.URL.Path, req.r.URL.RawQuery), nil)
	if err != nil {
		return false, &attemptError{kind: failConnect, reason: "building request: " + err.Error(), cooldown: true}
	}
	if parts, ok := anthropic.RewriteModelParts(body, f, e.Model); ok && e.Model != config.Passthrough && e.Model != "" {
		// The mapped model is spliced in as the body is sent: no copy of a
		// body that may be 100 KB or more.
		setBody(out, held, parts[:]...)
	} else {
		setBody(out, held, body)
	}
	copyRequestHeaders(out.Header, req.r.Header)
	secret := setAuth(out.Header, u.cfg, req.r.Header)
	resp, aerr := roundTrip(req, u, out, ctx, cancel, secret)
	if aerr != nil {
		return false, aerr
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		errBody, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		ae := classifyStatus(resp.StatusCode, resp.Header, anthropicErrorMessage(errBody), secret)
		if ae.kind == failClient {
			// The client's own fault (400, 413, 422, ...): returned as it is.
			ae.reason = "client error relayed: " + ae.reason
			writeHeader(req.w, resp, u.cfg.Name, len(errBody))
			_, _ = req.w.Write(errBody)
			return true, ae
		}
		return false, ae
	}
	rl := newRelay(req, resp, ctx, cancel, set.StreamIdleTimeout)
	defer rl.stop()
	if req.fields.Stream && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return rl.stream(u.cfg.Name, secret)
	}
	return rl.plain(u.cfg.Name)
}

func copyRequestHeaders(dst, src http.Header) {
	for k, vs := range src {
		if hopHeaders[k] || clientOnly[k] {
			continue
		}
		dst[k] = vs
	}
}

// setAuth puts the provider's credential on the upstream request and returns
// the secret in use (for redaction).
func setAuth(h http.Header, p config.Provider, client http.Header) string {
	if p.AuthValue.IsPassthrough() {
		// Forward the client's own credential (e.g. a subscription's OAuth token).
		if v := client.Get("X-Api-Key"); v != "" {
			h.Set("X-Api-Key", v)
			return v
		}
		if v := client.Get("Authorization"); v != "" {
			h.Set("Authorization", v)
			return strings.TrimPrefix(v, "Bearer ")
		}
		return ""
	}
	v := p.AuthValue.Reveal()
	if p.Type == config.TypeOpenAI || p.AuthType == config.AuthAuthToken {
		h.Set("Authorization", "Bearer "+v)
	} else {
		h.Set("X-Api-Key", v)
	}
	return v
}

// writeHeader sends the upstream's status and headers to the client.
func writeHeader(w http.ResponseWriter, resp *http.Response, provider string, contentLength int) {
	h := w.Header()
	for k, vs := range resp.Header {
		if hopHeaders[k] || k == "Content-Length" {
			continue
		}
		h[k] = vs
	}
	if contentLength >= 0 {
		h.Set("Content-Length", strconv.Itoa(contentLength))
	}
	h.Set("X-Provider-Used", provider)
	w.WriteHeader(resp.StatusCode)
}

// roundTrip sends out with the provider's extra headers, under the
// first-byte timeout: our own timer, so the cause of a failure is known
// exactly.
func roundTrip(req *request, u *upstream, out *http.Request, ctx context.Context, cancel context.CancelCauseFunc, secret string) (*http.Response, *attemptError) {
	for k, v := range u.cfg.Headers {
		out.Header.Set(k, v)
	}
	start := time.Now()
	timer := time.AfterFunc(req.st.cfg.Settings.RequestTimeout, func() { cancel(errFirstByteTimeout) })
	resp, err := u.client.Do(out)
	timer.Stop()
	req.headersAfter = time.Since(start)
	if err != nil {
		return nil, classifyTransport(req.r.Context(), ctx, err, secret)
	}
	return resp, nil
}
