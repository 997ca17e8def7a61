package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Accumulator folds the events of a streamed response into the Message they
// describe, checking on the way that the sequence is well-formed:
// message_start first, blocks started at the next index and stopped before
// message_stop, deltas of the block's own kind, nothing after message_stop.
// The zero value is ready to use.
type Accumulator struct {
	msg     Message
	started bool
	stopped bool
	open    []bool         // open[i]: block i started and not yet stopped
	input   []bytes.Buffer // input_json_delta fragments, per block
}

// Accumulate folds a whole event sequence into its Message. It fails when the
// sequence is not well-formed, when it carries an error event, or when it
// ends before message_stop.
func Accumulate(events []Event) (Message, error) {
	var a Accumulator
	for i, e := range events {
		if err := a.Add(e); err != nil {
			return Message{}, fmt.Errorf("event %d (%s): %w", i, e.Type, err)
		}
	}
	return a.Message()
}

// Add folds one event in.
func (a *Accumulator) Add(e Event) error {
	if e.Type == EventPing {
		return nil
	}
	if e.Type == EventError {
		return fmt.Errorf("stream error %s: %s", e.ErrorType, e.ErrorMessage)
	}
	if a.stopped {
		return errors.New("event after message_stop")
	}
	if !a.started {
		if e.Type != EventMessageStart {
			return errors.New("first event is not message_start")
		}
		a.started = true
		a.msg = e.Message
		a.msg.Content = append([]ContentBlock(nil), e.Message.Content...)
		n := len(a.msg.Content)
		a.open = make([]bool, n)
		a.input = make([]bytes.Buffer, n)
		return nil
	}
	switch e.Type {
	case EventMessageStart:
		return errors.New("second message_start")
	case EventContentBlockStart:
		if e.Index != len(a.msg.Content) {
			return fmt.Errorf("block started at index %d, want %d", e.Index, len(a.msg.Content))
		}
		if !knownResponseBlock(e.Block.Type) {
			return fmt.Errorf("block %d: unknown type %q", e.Index, e.Block.Type)
		}
		a.msg.Content = append(a.msg.Content, e.Block)
		a.open = append(a.open, true)
		a.input = append(a.input, bytes.Buffer{})
	case EventContentBlockDelta:
		if err := a.checkOpen(e.Index); err != nil {
			return err
		}
		b := &a.msg.Content[e.Index]
		switch {
		case e.Delta.Type == DeltaText && b.Type == BlockText:
			b.Text += e.Delta.Text
		case e.Delta.Type == DeltaInputJSON && b.Type == BlockToolUse:
			a.input[e.Index].WriteString(e.Delta.PartialJSON)
		case e.Delta.Type == DeltaThinking && b.Type == BlockThinking:
			b.Thinking += e.Delta.Thinking
		case e.Delta.Type == DeltaSignature && b.Type == BlockThinking:
			b.Signature += e.Delta.Signature
		default:
			return fmt.Errorf("block %d: %s delta on a %s block", e.Index, e.Delta.Type, b.Type)
		}
	case EventContentBlockStop:
		if err := a.checkOpen(e.Index); err != nil {
			return err
		}
		a.open[e.Index] = false
		if err := a.closeInput(e.Index); err != nil {
			return err
		}
	case EventMessageDelta:
		a.msg.StopReason = e.StopReason
		a.msg.StopSequence = e.StopSequence
		a.msg.Usage = e.Usage
	case EventMessageStop:
		for i, open := range a.open {
			if open {
				return fmt.Errorf("message_stop with block %d still open", i)
			}
		}
		a.stopped = true
	default:
		return fmt.Errorf("unknown event type %q", e.Type)
	}
	return nil
}

func (a *Accumulator) checkOpen(i int) error {
	if i < 0 || i >= len(a.open) {
		return fmt.Errorf("no block at index %d", i)
	}
	if !a.open[i] {
		return fmt.Errorf("block %d already stopped", i)
	}
	return nil
}

// closeInput sets a finished tool_use block's input from its fragments. The
// input must be a JSON object, as Anthropic's API requires.
func (a *Accumulator) closeInput(i int) error {
	b := &a.msg.Content[i]
	if b.Type != BlockToolUse {
		return nil
	}
	raw := a.input[i].Bytes()
	if len(raw) == 0 {
		if len(b.Input) == 0 {
			b.Input = json.RawMessage("{}")
		}
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return fmt.Errorf("block %d: tool input is not a JSON object", i)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return fmt.Errorf("block %d: compacting tool input: %w", i, err)
	}
	b.Input = buf.Bytes()
	a.input[i] = bytes.Buffer{}
	return nil
}

// Stopped reports whether message_stop has been folded in.
func (a *Accumulator) Stopped() bool { return a.stopped }

// Message returns the accumulated message, or an error when message_stop has
// not arrived (the stream was cut).
func (a *Accumulator) Message() (Message, error) {
	if !a.stopped {
		return Message{}, errors.New("stream ended without message_stop")
	}
	return a.msg, nil
}
