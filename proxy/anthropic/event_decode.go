package anthropic

import (
	"encoding/json"
	"fmt"
)

// EventDecoder turns the data of streamed Messages API events back into
// Events. It is stateful in one way: a message_delta's usage may carry only
// output_tokens (the Messages API sends input and cache counts in
// message_start and repeats them in message_delta only sometimes), so the
// decoder keeps message_start's counts and fills in those the delta leaves
// out, as the official SDKs accumulate them. The Event's Usage then holds the
// whole message's totals, as Event documents. The zero value is ready; use
// one decoder per stream.
type EventDecoder struct {
	usage Usage
}

type wireUsage struct {
	InputTokens              *int `json:"input_tokens"`
	CacheCreationInputTokens *int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int `json:"cache_read_input_tokens"`
	OutputTokens             *int `json:"output_tokens"`
}

// ParseUsage decodes a usage object of the Messages API ("input_tokens",
// "cache_creation_input_tokens", "cache_read_input_tokens",
// "output_tokens"); counts it lacks, or gives as null, are 0. It reads the
// object with the request scanner: it runs for every non-streamed answer,
// and encoding/json's reflection costs more than the rest of that answer's
// handling.
func ParseUsage(raw []byte) (Usage, error) {
	s := scanner{b: raw}
	var u Usage
	err := s.members("usage", nil, func(key []byte, ks, vs int) error {
		var dst *int
		switch string(key) {
		case "input_tokens":
			dst = &u.InputTokens
		case "cache_creation_input_tokens":
			dst = &u.CacheCreationInputTokens
		case "cache_read_input_tokens":
			dst = &u.CacheReadInputTokens
		case "output_tokens":
			dst = &u.OutputTokens
		default:
			return nil
		}
		v := raw[vs:s.i]
		if string(v) == "null" {
			return nil
		}
		n := 0
		for _, c := range v {
			if c < '0' || c > '9' || n > (1<<62)/10 {
				return &SyntaxError{Offset: vs, Msg: string(key) + " must be a count of tokens"}
			}
			n = n*10 + int(c-'0')
		}
		*dst = n
		return nil
	})
	if err != nil {
		return Usage{}, fmt.Errorf("decoding usage: %w", err)
	}
	if err := s.end(); err != nil {
		return Usage{}, fmt.Errorf("decoding usage: %w", err)
	}
	return u, nil
}

// merge overwrites the counts present in w.
func (w *wireUsage) merge(u *Usage) {
	if w == nil {
		return
	}
	for _, f := range []struct {
		src *int
		dst *int
	}{{w.InputTokens, &u.InputTokens}, {w.CacheCreationInputTokens, &u.CacheCreationInputTokens},
		{w.CacheReadInputTokens, &u.CacheReadInputTokens}, {w.OutputTokens, &u.OutputTokens}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
}

type wireBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	Thinking  string          `json:"thinking"`
	Signature string          `json:"signature"`
	Data      string          `json:"data"`
}

func (b wireBlock) block() ContentBlock {
	cb := ContentBlock{Type: b.Type, Text: b.Text, ID: b.ID, Name: b.Name, Thinking: b.Thinking, Signature: b.Signature, Data: b.Data}
	if b.Type == BlockToolUse {
		cb.Input = b.Input
	}
	return cb
}

type wireEvent struct {
	Type    string `json:"type"`
	Message *struct {
		ID           string      `json:"id"`
		Model        string      `json:"model"`
		Content      []wireBlock `json:"content"`
		StopReason   *string     `json:"stop_reason"`
		StopSequence *string     `json:"stop_sequence"`
		Usage        *wireUsage  `json:"usage"`
	} `json:"message"`
	Index        int        `json:"index"`
	ContentBlock *wireBlock `json:"content_block"`
	Delta        *struct {
		Type         string  `json:"type"`
		Text         string  `json:"text"`
		PartialJSON  string  `json:"partial_json"`
		Thinking     string  `json:"thinking"`
		Signature    string  `json:"signature"`
		StopReason   *string `json:"stop_reason"`
		StopSequence *string `json:"stop_sequence"`
	} `json:"delta"`
	Usage *wireUsage `json:"usage"`
	Error *Error     `json:"error"`
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Decode decodes the data of one event (its JSON, as in the SSE data line).
// The event's type is read from the data's "type" member, as the Messages
// API sends it in every event.
func (d *EventDecoder) Decode(data []byte) (Event, error) {
	var w wireEvent
	if err := json.Unmarshal(data, &w); err != nil {
		return Event{}, fmt.Errorf("decoding stream event: %w", err)
	}
	e := Event{Type: w.Type, Index: w.Index}
	switch w.Type {
	case EventMessageStart:
		if w.Message == nil {
			return Event{}, fmt.Errorf("decoding stream event: message_start without a message")
		}
		m := w.Message
		d.usage = Usage{}
		m.Usage.merge(&d.usage)
		e.Message = Message{ID: m.ID, Model: m.Model, StopReason: deref(m.StopReason), StopSequence: deref(m.StopSequence), Usage: d.usage}
		for _, b := range m.Content {
			e.Message.Content = append(e.Message.Content, b.block())
		}
	case EventContentBlockStart:
		if w.ContentBlock == nil {
			return Event{}, fmt.Errorf("decoding stream event: content_block_start without a content_block")
		}
		e.Block = w.ContentBlock.block()
	case EventContentBlockDelta:
		if w.Delta == nil {
			return Event{}, fmt.Errorf("decoding stream event: content_block_delta without a delta")
		}
		dl := w.Delta
		e.Delta = Delta{Type: dl.Type, Text: dl.Text, PartialJSON: dl.PartialJSON, Thinking: dl.Thinking, Signature: dl.Signature}
	case EventMessageDelta:
		if w.Delta != nil {
			e.StopReason, e.StopSequence = deref(w.Delta.StopReason), deref(w.Delta.StopSequence)
		}
		w.Usage.merge(&d.usage)
		e.Usage = d.usage
	case EventError:
		if w.Error != nil {
			e.ErrorType, e.ErrorMessage = w.Error.Type, w.Error.Message
		}
	case EventContentBlockStop, EventMessageStop, EventPing:
	default:
		return Event{}, fmt.Errorf("decoding stream event: unknown type %q", w.Type)
	}
	return e, nil
}
