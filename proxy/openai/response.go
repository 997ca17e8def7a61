package openai

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
)

// ConvertResponse converts a non-streamed Chat Completions response body
// into an Anthropic Message body. model is the model name the client is
// shown. It runs the response through the same StreamConverter as a stream
// and folds the events with anthropic.Accumulate, so both paths give the
// same message. An error body in a 200 answer is returned as an
// *UpstreamError.
func ConvertResponse(body []byte, model string) (out []byte, warnings []string, err error) {
	msg, warnings, err := convertResponse(body, model, randomID)
	if err != nil {
		return nil, warnings, err
	}
	return msg.AppendJSON(nil), warnings, nil
}

func convertResponse(body []byte, model string, newID func(string) string) (anthropic.Message, []string, error) {
	var resp chatChunk
	if err := json.Unmarshal(body, &resp); err != nil {
		return anthropic.Message{}, nil, fmt.Errorf("decoding upstream response: %w", err)
	}
	if e := parseUpstreamError(resp.Error); e != nil {
		return anthropic.Message{}, nil, e
	}
	if len(resp.Choices) == 0 {
		return anthropic.Message{}, nil, errors.New("upstream response has no choices")
	}
	c := NewStreamConverter(model, 0)
	c.newID = newID
	events, err := c.chunk(&resp, true)
	if err != nil {
		return anthropic.Message{}, c.warnings, err
	}
	// A whole completion is finished by definition: a missing finish_reason
	// is warned about in close, not treated as a cut.
	if !c.sawFinish {
		c.warnf("response has no finish_reason")
	}
	c.events = nil // close appends to the events of the last call
	closing, err := c.close()
	if err != nil {
		return anthropic.Message{}, c.warnings, err
	}
	msg, err := anthropic.Accumulate(append(events, closing...))
	if err != nil {
		return anthropic.Message{}, c.warnings, fmt.Errorf("folding converted events: %w", err)
	}
	return msg, c.warnings, nil
}
