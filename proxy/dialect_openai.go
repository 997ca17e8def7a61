package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
	"github.com/ccbalancer/ccbalancer/proxy/health"
	"github.com/ccbalancer/ccbalancer/proxy/openai"
	"github.com/ccbalancer/ccbalancer/proxy/sse"
)

// openaiDialect speaks Chat Completions to the provider: the request is
// converted, and the answer converted back into the Messages API's, stream
// included.
type openaiDialect struct{ version string }

func (d openaiDialect) request(req *request, u *upstream, e config.RouteEntry) (*http.Request, string, *attemptError) {
	model := e.Model
	if model == "" || model == config.Passthrough {
		model = req.fields.Model
	}
	body, warnings, err := openai.ConvertRequest(req.body, openai.RequestOptions{Model: model, MaxTokens: e.MaxTokens, Reasoning: u.cfg.Reasoning})
	if err != nil {
		return nil, "", &attemptError{kind: failSkip, reason: "request cannot be converted to Chat Completions: " + err.Error()}
	}
	for _, w := range warnings {
		req.log.Warn("request conversion", slog.String("provider", u.cfg.Name), slog.String("warning", w))
	}
	out, err := http.NewRequest(http.MethodPost, u.endpoint("/chat/completions", ""), bytes.NewReader(body))
	if err != nil {
		return nil, "", providerFailure(health.StateCooling, "building request: %v", err)
	}
	// Only what Chat Completions needs goes upstream: no Anthropic headers.
	out.Header.Set("Content-Type", "application/json")
	if req.fields.Stream {
		out.Header.Set("Accept", "text/event-stream")
	} else {
		out.Header.Set("Accept", "application/json")
	}
	out.Header.Set("User-Agent", "ccbalancer/"+d.version)
	secret, ok := setAuth(out.Header, u.cfg, req.key, req.r.Header, req.st.cfg.Settings.AuthKey)
	if !ok {
		return nil, "", noCredential()
	}
	if k := out.Header.Get("X-Api-Key"); k != "" {
		// A passed-through x-api-key becomes the Bearer token OpenAI expects.
		out.Header.Del("X-Api-Key")
		out.Header.Set("Authorization", "Bearer "+k)
	}
	return out, secret, nil
}

func (openaiDialect) refusal(req *request, resp *http.Response, body []byte, secret string) *attemptError {
	typ, msg, shaped := openai.ConvertError(resp.StatusCode, body)
	msg = redact(msg, secret)
	ae := classifyStatus(resp.StatusCode, resp.Header, typ, msg, shaped)
	if ae.kind == failRefused {
		// The refused body is our conversion, not the client's: the next
		// entry is tried, and this reply goes to the client only if every
		// entry refuses (failover loop).
		b, _ := json.Marshal(anthropic.ErrorBody{Type: "error", Error: anthropic.Error{Type: typ, Message: msg}})
		ae.reply = &reply{status: resp.StatusCode, header: http.Header{"Content-Type": {"application/json"}}, body: b}
	}
	return ae
}

func (openaiDialect) events(req *request, rd *sse.Reader, secret string) eventSource {
	return &openaiEvents{rd: rd, conv: openai.NewStreamConverter(req.fields.Model, 0), secret: secret}
}

func (openaiDialect) streamHeader(*http.Response) http.Header {
	return http.Header{"Content-Type": {"text/event-stream"}, "Cache-Control": {"no-cache"}}
}

func (openaiDialect) message(req *request, resp *http.Response, body []byte, secret string) (*reply, *attemptError) {
	out, warnings, err := openai.ConvertResponse(body, req.fields.Model)
	if err != nil {
		return nil, conversionFailure(err, secret)
	}
	for _, w := range warnings {
		req.log.Warn("response conversion", slog.String("warning", w))
	}
	return &reply{status: http.StatusOK, header: http.Header{"Content-Type": {"application/json"}}, body: out}, nil
}

// openaiEvents converts a Chat Completions stream chunk by chunk; the events
// converted from one chunk are one piece.
type openaiEvents struct {
	rd     *sse.Reader
	conv   *openai.StreamConverter
	secret string
	buf    []byte
	ended  bool
}

func (o *openaiEvents) next() (piece, error) {
	for !o.ended {
		var evs []anthropic.Event
		ev, err := o.rd.Next()
		switch {
		case errors.Is(err, io.EOF):
			o.ended = true
			if evs, err = o.conv.Finish(); err != nil {
				return piece{}, conversionFailure(err, o.secret)
			}
		case err != nil:
			return piece{}, err
		default:
			if evs, err = o.conv.Process(ev.Data); err != nil {
				return piece{}, conversionFailure(err, o.secret)
			}
		}
		if len(evs) == 0 {
			continue
		}
		p := piece{}
		o.buf = o.buf[:0]
		for _, e := range evs {
			o.buf = e.AppendSSE(o.buf)
			switch e.Type {
			case anthropic.EventMessageStart, anthropic.EventPing:
			case anthropic.EventMessageStop:
				p.content, p.stop = true, true
			default:
				p.content = true
			}
		}
		p.b = o.buf
		return p, nil
	}
	return piece{}, io.EOF
}

// conversionFailure turns a conversion error into a provider failure: the
// provider sent an error chunk, or something that is not a usable answer.
func conversionFailure(err error, secret string) *attemptError {
	var ue *openai.UpstreamError
	if errors.As(err, &ue) {
		msg := redact(ue.Message, secret)
		if st := ue.Status(); st != 0 {
			ae := classifyStatus(st, http.Header{}, anthropic.ErrorTypeForStatus(st), msg, true)
			if ae.kind != failRefused {
				ae.reason = "upstream error: " + ae.reason
				return ae
			}
		}
		return providerFailure(health.StateCooling, "upstream error: %s", shorten(msg, 160))
	}
	if errors.Is(err, openai.ErrTruncated) {
		return providerFailure(health.StateCooling, "stream cut: %s", err)
	}
	return providerFailure(health.StateCooling, "malformed answer: %s", shorten(err.Error(), 160))
}
