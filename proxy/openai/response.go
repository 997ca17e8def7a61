package openai

import (
	"errors"
	"fmt"

	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
)

// ConvertResponse converts a non-streamed Chat Completions response body
// into an Anthropic Message (its body is msg.AppendJSON). It runs the
// response through the same StreamConverter as a stream and folds the
// events with anthropic.Accumulate, so both paths give the same message. An
// error body in a 200 answer is returned as an *UpstreamError, a
// finish_reason that breaks the answer off as a *FinishError.
func ConvertResponse(body []byte, opts StreamOptions) (msg anthropic.Message, warnings []string, err error) {
	return convertResponse(body, opts, randomID)
}

func convertResponse(body []byte, opts StreamOptions, newID func(string) string) (anthropic.Message, []string, error) {
	c := NewStreamConverter(opts)
	c.newID, c.whole = newID, true
	if err := readChunk(body, &c.chunk); err != nil {
		return anthropic.Message{}, nil, fmt.Errorf("decoding upstream response: %w", err)
	}
	if len(c.chunk.err) > 0 {
		if e := parseUpstreamError(c.chunk.err); e != nil {
			return anthropic.Message{}, nil, e
		}
	}
	if len(c.chunk.choices) == 0 {
		return anthropic.Message{}, nil, errors.New("upstream response has no choices")
	}
	events, err := c.convert(&c.chunk)
	if err != nil {
		return anthropic.Message{}, c.warnings, err
	}
	// A whole completion is finished by definition: a missing finish_reason
	// is warned about, not treated as a cut.
	if !c.sawFinish {
		c.warnf("response has no finish_reason")
	}
	all := append([]anthropic.Event(nil), events...)
	c.events = c.events[:0] // close appends to the events of the last call
	closing, err := c.close()
	if err != nil {
		return anthropic.Message{}, c.warnings, err
	}
	msg, err := anthropic.Accumulate(append(all, closing...))
	if err != nil {
		return anthropic.Message{}, c.warnings, fmt.Errorf("folding converted events: %w", err)
	}
	return msg, c.warnings, nil
}
