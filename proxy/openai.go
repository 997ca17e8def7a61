package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
	"github.com/ccbalancer/ccbalancer/proxy/openai"
	"github.com/ccbalancer/ccbalancer/proxy/sse"
)

// maxOpenAIResponse bounds a non-streaming Chat Completions answer, which
// must be read whole to be converted.
const maxOpenAIResponse = 64 << 20

// attemptOpenAI sends the request to an OpenAI-compatible provider,
// converting it to Chat Completions and the answer back, stream included.
// Failover rules are the same as for Anthropic providers.
func (s *Server) attemptOpenAI(req *request, u *upstream, e config.RouteEntry) (bool, *attemptError) {
	set := req.st.cfg.Settings
	model := e.Model
	if model == "" || model == config.Passthrough {
		model = req.fields.Model
	}
	body, warnings, err := openai.ConvertRequest(req.body, openai.RequestOptions{Model: model, MaxTokens: e.MaxTokens, Reasoning: u.cfg.Reasoning})
	if err != nil {
		return false, &attemptError{kind: failSkip, reason: "request cannot be converted to Chat Completions: " + err.Error()}
	}
	for _, w := range warnings {
		req.log.Warn("request conversion", slog.String("provider", u.cfg.Name), slog.String("warning", w))
	}
	ctx, cancel := context.WithCancelCause(req.r.Context())
	defer cancel(nil)
	out, err := http.NewRequestWithContext(ctx, http.MethodPost, u.endpoint("/chat/completions", ""), bytes.NewReader(body))
	if err != nil {
		return false, &attemptError{kind: failConnect, reason: "building request: " + err.Error(), cooldown: true}
	}
	// Only what Chat Completions needs goes upstream: no Anthropic headers.
	out.Header.Set("Content-Type", "application/json")
	if req.fields.Stream {
		out.Header.Set("Accept", "text/event-stream")
	} else {
		out.Header.Set("Accept", "application/json")
	}
	out.Header.Set("User-Agent", "ccbalancer/"+s.version)
	secret := setAuth(out.Header, u.cfg, req.r.Header)
	if k := out.Header.Get("X-Api-Key"); k != "" {
		// A passed-through x-api-key becomes the Bearer token OpenAI expects.
		out.Header.Del("X-Api-Key")
		out.Header.Set("Authorization", "Bearer "+k)
	}
	resp, aerr := roundTrip(req, u, out, ctx, cancel, secret)
	if aerr != nil {
		return false, aerr
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		errBody, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		typ, msg := openai.ConvertError(resp.StatusCode, errBody)
		ae := classifyStatus(resp.StatusCode, resp.Header, msg, secret)
		if ae.kind == failClient {
			ae.reason = "client error relayed: " + ae.reason
			req.w.Header().Set("X-Provider-Used", u.cfg.Name)
			anthropic.WriteError(req.w, resp.StatusCode, typ, redact(msg, secret))
			return true, ae
		}
		return false, ae
	}
	rl := newRelay(req, resp, ctx, cancel, set.StreamIdleTimeout)
	defer rl.stop()
	if !req.fields.Stream {
		return rl.openaiPlain(u.cfg.Name, req.fields.Model, secret)
	}
	return rl.openaiStream(u.cfg.Name, req.fields.Model, secret)
}

// openaiPlain converts a whole Chat Completions answer. Nothing is written
// until the conversion succeeded, so any failure can still be failed over.
func (rl *relay) openaiPlain(provider, model, secret string) (bool, *attemptError) {
	body, err := io.ReadAll(io.LimitReader(rl, maxOpenAIResponse))
	if err != nil {
		return false, rl.readErr(err, "response cut")
	}
	out, warnings, err := openai.ConvertResponse(body, model)
	if err != nil {
		return false, openaiFailure(err, secret)
	}
	for _, w := range warnings {
		rl.req.log.Warn("response conversion", slog.String("provider", provider), slog.String("warning", w))
	}
	h := rl.req.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(out)))
	h.Set("X-Provider-Used", provider)
	rl.req.w.WriteHeader(http.StatusOK)
	if _, err := rl.req.w.Write(out); err != nil {
		return true, errClientGone
	}
	return true, nil
}

// openaiStream converts a Chat Completions stream event by event. As for
// Anthropic streams, events are held back only until the first content
// event, so an error before any content still fails over; after that every
// event is written and flushed as soon as it is converted, and any failure
// aborts the client connection.
func (rl *relay) openaiStream(provider, model, secret string) (bool, *attemptError) {
	conv := openai.NewStreamConverter(model, 0)
	rd := sse.NewReader(rl)
	committed := false
	var pending []byte
	emit := func(evs []anthropic.Event) *attemptError {
		for _, ev := range evs {
			pending = ev.AppendSSE(pending)
			if ev.Type != anthropic.EventMessageStart && ev.Type != "ping" {
				committed = true
			}
		}
		if !committed || len(pending) == 0 {
			return nil
		}
		h := rl.req.w.Header()
		if h.Get("X-Provider-Used") == "" {
			h.Set("Content-Type", "text/event-stream")
			h.Set("Cache-Control", "no-cache")
			h.Set("X-Provider-Used", provider)
			rl.req.w.WriteHeader(http.StatusOK)
		}
		if _, err := rl.req.w.Write(pending); err != nil {
			return errClientGone
		}
		if err := rl.rc.Flush(); err != nil {
			return errClientGone
		}
		pending = pending[:0]
		return nil
	}
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			evs, ferr := conv.Finish()
			if ferr != nil {
				return committed, &attemptError{kind: failStream, reason: "stream cut: " + ferr.Error(), cooldown: true}
			}
			if werr := emit(evs); werr != nil {
				return true, werr
			}
			if !committed {
				return false, &attemptError{kind: failStream, reason: "stream ended before any content", cooldown: true}
			}
			return true, nil
		}
		if err != nil {
			return committed, rl.readErr(err, "stream cut")
		}
		evs, perr := conv.Process(ev.Data)
		if perr != nil {
			return committed, openaiFailure(perr, secret)
		}
		if werr := emit(evs); werr != nil {
			return true, werr
		}
	}
}

// openaiFailure turns a conversion error into a provider failure: the
// provider sent something that is not a usable answer.
func openaiFailure(err error, secret string) *attemptError {
	var ue *openai.UpstreamError
	if errors.As(err, &ue) {
		return &attemptError{kind: failStream, status: ue.Status(), reason: "upstream error: " + shorten(redact(ue.Message, secret), 160), cooldown: true}
	}
	return &attemptError{kind: failStream, reason: "malformed answer: " + shorten(err.Error(), 160), cooldown: true}
}
