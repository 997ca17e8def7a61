package proxy

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
	"github.com/ccbalancer/ccbalancer/proxy/health"
	"github.com/ccbalancer/ccbalancer/proxy/openai"
	"github.com/ccbalancer/ccbalancer/proxy/sse"
	"github.com/ccbalancer/ccbalancer/proxy/tokens"
)

// openaiDialect speaks Chat Completions to the provider: the request is
// converted, and the answer converted back into the Messages API's, stream
// included. What differs between OpenAI-compatible servers is the
// provider's family's (openai.Family), resolved once per configuration.
type openaiDialect struct {
	version  string
	provider string
	family   *openai.Family
	// url is the Chat Completions endpoint (openai.ChatCompletionsURL).
	url string
	// warned logs each conversion warning once per provider at WARN.
	warned *onceLog
}

func newOpenAIDialect(p config.Provider, version string) (openaiDialect, error) {
	f, _, err := openai.ResolveFamily(p.Family, p.BaseURL)
	if err != nil {
		return openaiDialect{}, err
	}
	return openaiDialect{version: version, provider: p.Name, family: f, url: openai.ChatCompletionsURL(p.BaseURL), warned: &onceLog{}}, nil
}

func (d openaiDialect) request(req *request, u *upstream, e config.RouteEntry) (*http.Request, *attemptError) {
	model := e.Model
	if model == "" || model == config.Passthrough {
		model = req.fields.Model
	}
	// The converted body goes into a pooled buffer, held until the request
	// ends (and by each reader the transport opens): a previous attempt's
	// is let go first.
	req.converted.release()
	req.converted = nil
	var buf *reqBody
	if n := len(req.body) + len(req.body)/8 + 512; n <= maxPooledBody {
		buf = newReqBody(n)
	}
	opts := openai.RequestOptions{Model: model, MaxTokens: e.MaxTokens, Reasoning: u.cfg.Reasoning, Family: d.family, Provider: d.provider}
	if buf != nil {
		opts.Buffer = (*buf.buf)[:0]
	}
	conv, err := openai.ConvertRequest(req.body, opts)
	if err != nil {
		buf.release()
		return nil, &attemptError{kind: failSkip, reason: "request cannot be converted to Chat Completions: " + err.Error()}
	}
	if buf != nil && (len(conv.Body) == 0 || cap(*buf.buf) == 0 || &conv.Body[:1][0] != &(*buf.buf)[:1][0]) {
		buf.release() // the body outgrew the buffer and lives elsewhere
		buf = nil
	}
	req.converted = buf
	req.toolNames = conv.ToolNames
	d.warned.log(req.log, d.provider, "request conversion", conv.Warnings)
	out, err := http.NewRequest(http.MethodPost, d.url, nil)
	if err != nil {
		return nil, providerFailure(health.StateCooling, "building request: %v", err)
	}
	setBody(out, buf, conv.Body)
	// Only what Chat Completions needs goes upstream: no Anthropic headers.
	out.Header.Set("Content-Type", "application/json")
	if req.fields.Stream {
		out.Header.Set("Accept", "text/event-stream")
	} else {
		out.Header.Set("Accept", "application/json")
	}
	out.Header.Set("User-Agent", "ccbalancer/"+d.version)
	ok := setAuth(out.Header, u.cfg, req.key, req.r.Header, req.st.cfg.Settings.AuthKey)
	if !ok {
		return nil, noCredential()
	}
	if k := out.Header.Get("X-Api-Key"); k != "" {
		// A passed-through x-api-key becomes the Bearer token OpenAI expects.
		out.Header.Del("X-Api-Key")
		out.Header.Set("Authorization", "Bearer "+k)
	}
	return out, nil
}

// streamOptions are the options an answer to req is converted with.
func (d openaiDialect) streamOptions(req *request) openai.StreamOptions {
	return openai.StreamOptions{
		Model: req.fields.Model, ToolNames: req.toolNames, Family: d.family, Provider: d.provider,
		EstimateInput: func() int {
			n, _ := tokens.Count(req.body) // a body that does not count gives 0, as before
			return n
		},
	}
}

func (openaiDialect) refusal(req *request, resp *http.Response, body []byte) *attemptError {
	ea := openai.ConvertError(resp.StatusCode, body)
	msg := ea.Message
	if ea.Overflow {
		return overflowRefusal("HTTP "+strconv.Itoa(resp.StatusCode), msg)
	}
	ae := classifyStatus(resp.StatusCode, resp.Header, ea.Type, msg, ea.Shaped)
	if ae.kind == failRefused {
		// The refused body is our conversion, not the client's: the next
		// entry is tried, and this reply goes to the client only if every
		// entry refuses (failover loop).
		ae.reply = errorReply(resp.StatusCode, ea.Type, msg)
	}
	return ae
}

// overflowRefusal is a provider's "the prompt does not fit": a refusal, so
// that a provider with a larger context window is tried next, whose reply
// is the 400 invalid_request_error "prompt is too long: …" on which Claude
// Code compacts the conversation (relayed when every entry refuses).
func overflowRefusal(where, msg string) *attemptError {
	return &attemptError{kind: failRefused, status: http.StatusBadRequest, reason: where + ": " + shorten(msg, 160),
		reply: errorReply(http.StatusBadRequest, anthropic.ErrInvalidRequest, msg)}
}

func (d openaiDialect) events(req *request, rd *sse.Reader) eventSource {
	return &openaiEvents{rd: rd, conv: openai.NewStreamConverter(d.streamOptions(req)),
		log: req.log, provider: d.provider, warned: d.warned, usage: &req.usage}
}

func (openaiDialect) streamHeader(*http.Response) http.Header {
	return http.Header{"Content-Type": {"text/event-stream"}, "Cache-Control": {"no-cache"}}
}

func (d openaiDialect) message(req *request, resp *http.Response, body []byte) (*reply, *attemptError) {
	msg, warnings, err := openai.ConvertResponse(body, d.streamOptions(req))
	if err != nil {
		return nil, conversionFailure(err)
	}
	d.warned.log(req.log, d.provider, "response conversion", warnings)
	req.usage = msg.Usage
	return &reply{status: http.StatusOK, header: http.Header{"Content-Type": {"application/json"}}, body: msg.AppendJSON(nil)}, nil
}

// openaiEvents converts a Chat Completions stream chunk by chunk; the events
// converted from one chunk are one piece.
type openaiEvents struct {
	rd       *sse.Reader
	conv     *openai.StreamConverter
	buf      []byte
	ended    bool
	log      *slog.Logger
	provider string
	warned   *onceLog
	usage    *anthropic.Usage // the request's, kept up to date
}

func (o *openaiEvents) next() (piece, error) {
	for !o.ended {
		var evs []anthropic.Event
		ev, err := o.rd.Next()
		switch {
		case errors.Is(err, io.EOF):
			o.ended = true
			if evs, err = o.conv.Finish(); err != nil {
				return piece{}, conversionFailure(err)
			}
		case err != nil:
			return piece{}, err
		default:
			if evs, err = o.conv.Process(ev.Data); err != nil {
				return piece{}, conversionFailure(err)
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
			case anthropic.EventMessageStart:
				*o.usage = e.Message.Usage
			case anthropic.EventMessageDelta:
				*o.usage = e.Usage
				p.content = true
			case anthropic.EventPing:
			case anthropic.EventMessageStop:
				p.content, p.stop = true, true
				o.warned.log(o.log, o.provider, "response conversion", o.conv.Warnings())
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
// provider sent an error chunk, broke the answer off, or sent something that
// is not a usable answer. An error chunk that says the prompt does not fit
// is a refusal, as an overflow answered with an error status is.
func conversionFailure(err error) *attemptError {
	var ue *openai.UpstreamError
	var fe *openai.FinishError
	switch {
	case errors.As(err, &ue):
		msg := ue.Message
		if over, ok := openai.IsOverflowError(ue); ok {
			return overflowRefusal("error chunk", over)
		}
		if st := ue.Status(); st != 0 {
			ae := classifyStatus(st, http.Header{}, anthropic.ErrorTypeForStatus(st), msg, true)
			if ae.kind != failRefused {
				ae.reason = "upstream error: " + ae.reason
				return ae
			}
		}
		return providerFailure(health.StateCooling, "upstream error: %s", shorten(msg, 160))
	case errors.As(err, &fe):
		return providerFailure(health.StateCooling, "answer broken off: finish_reason %q", fe.Reason)
	case errors.Is(err, openai.ErrTruncated):
		return providerFailure(health.StateCooling, "stream cut: %s", err)
	}
	return providerFailure(health.StateCooling, "malformed answer: %s", shorten(err.Error(), 160))
}
