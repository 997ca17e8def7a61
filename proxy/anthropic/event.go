package anthropic

import "strconv"

// Event types of a streamed Messages response.
const (
	EventMessageStart      = "message_start"
	EventContentBlockStart = "content_block_start"
	EventContentBlockDelta = "content_block_delta"
	EventContentBlockStop  = "content_block_stop"
	EventMessageDelta      = "message_delta"
	EventMessageStop       = "message_stop"
	EventPing              = "ping"
	EventError             = "error"
)

// Delta types of a content_block_delta event.
const (
	DeltaText      = "text_delta"
	DeltaInputJSON = "input_json_delta"
	DeltaThinking  = "thinking_delta"
	DeltaSignature = "signature_delta"
)

// Event is one event of a streamed Messages response. Which fields are used
// depends on Type; the constructors below fill the right ones.
type Event struct {
	Type string

	// message_start
	Message Message

	// content_block_start, content_block_delta, content_block_stop
	Index int
	Block ContentBlock // content_block_start: the block, its deltas still empty
	Delta Delta        // content_block_delta

	// message_delta; Usage holds the totals for the whole message.
	StopReason   string
	StopSequence string
	Usage        Usage

	// error
	ErrorType    string
	ErrorMessage string
}

// Delta is the payload of a content_block_delta event. Type says which one
// of the other fields is used.
type Delta struct {
	Type        string
	Text        string // text_delta
	PartialJSON string // input_json_delta
	Thinking    string // thinking_delta
	Signature   string // signature_delta
}

// MessageStart returns a message_start event for m (whose content is
// normally empty).
func MessageStart(m Message) Event { return Event{Type: EventMessageStart, Message: m} }

// BlockStart returns a content_block_start event.
func BlockStart(index int, b ContentBlock) Event {
	return Event{Type: EventContentBlockStart, Index: index, Block: b}
}

// TextDelta returns a content_block_delta event carrying text.
func TextDelta(index int, text string) Event {
	return Event{Type: EventContentBlockDelta, Index: index, Delta: Delta{Type: DeltaText, Text: text}}
}

// InputJSONDelta returns a content_block_delta event carrying a fragment of
// a tool_use block's input.
func InputJSONDelta(index int, partial string) Event {
	return Event{Type: EventContentBlockDelta, Index: index, Delta: Delta{Type: DeltaInputJSON, PartialJSON: partial}}
}

// ThinkingDelta returns a content_block_delta event carrying thinking text.
func ThinkingDelta(index int, thinking string) Event {
	return Event{Type: EventContentBlockDelta, Index: index, Delta: Delta{Type: DeltaThinking, Thinking: thinking}}
}

// SignatureDelta returns a content_block_delta event carrying a thinking
// block's signature.
func SignatureDelta(index int, sig string) Event {
	return Event{Type: EventContentBlockDelta, Index: index, Delta: Delta{Type: DeltaSignature, Signature: sig}}
}

// BlockStop returns a content_block_stop event.
func BlockStop(index int) Event { return Event{Type: EventContentBlockStop, Index: index} }

// MessageDelta returns a message_delta event. usage holds whole-message
// totals: clients overwrite, not add.
func MessageDelta(stopReason, stopSequence string, usage Usage) Event {
	return Event{Type: EventMessageDelta, StopReason: stopReason, StopSequence: stopSequence, Usage: usage}
}

// MessageStop returns a message_stop event.
func MessageStop() Event { return Event{Type: EventMessageStop} }

// Ping returns a ping event.
func Ping() Event { return Event{Type: EventPing} }

// ErrorEvent returns an error event with an Anthropic error type such as
// "overloaded_error".
func ErrorEvent(errType, message string) Event {
	return Event{Type: EventError, ErrorType: errType, ErrorMessage: message}
}

// MarshalJSON encodes e as the data of its SSE event.
func (e Event) MarshalJSON() ([]byte, error) { return e.AppendJSON(nil), nil }

// AppendJSON appends the JSON data of e, as Anthropic sends it, to dst.
func (e Event) AppendJSON(dst []byte) []byte {
	switch e.Type {
	case EventMessageStart:
		dst = append(dst, `{"type":"message_start","message":`...)
		dst = e.Message.AppendJSON(dst)
		return append(dst, '}')
	case EventContentBlockStart:
		dst = append(dst, `{"type":"content_block_start","index":`...)
		dst = strconv.AppendInt(dst, int64(e.Index), 10)
		dst = append(dst, `,"content_block":`...)
		dst = e.Block.AppendJSON(dst)
		return append(dst, '}')
	case EventContentBlockDelta:
		dst = append(dst, `{"type":"content_block_delta","index":`...)
		dst = strconv.AppendInt(dst, int64(e.Index), 10)
		dst = append(dst, `,"delta":`...)
		dst = e.Delta.appendJSON(dst)
		return append(dst, '}')
	case EventContentBlockStop:
		dst = append(dst, `{"type":"content_block_stop","index":`...)
		dst = strconv.AppendInt(dst, int64(e.Index), 10)
		return append(dst, '}')
	case EventMessageDelta:
		dst = append(dst, `{"type":"message_delta","delta":{"stop_reason":`...)
		dst = appendNullableString(dst, e.StopReason)
		dst = append(dst, `,"stop_sequence":`...)
		dst = appendNullableString(dst, e.StopSequence)
		dst = append(dst, `},"usage":`...)
		dst = e.Usage.AppendJSON(dst)
		return append(dst, '}')
	case EventMessageStop:
		return append(dst, `{"type":"message_stop"}`...)
	case EventPing:
		return append(dst, `{"type":"ping"}`...)
	default:
		// error, and anything unknown: an error is the only safe reading.
		errType := e.ErrorType
		if errType == "" {
			errType = "api_error"
		}
		dst = append(dst, `{"type":"error","error":{"type":`...)
		dst = appendString(dst, errType)
		dst = append(dst, `,"message":`...)
		dst = appendString(dst, e.ErrorMessage)
		return append(dst, `}}`...)
	}
}

func (d Delta) appendJSON(dst []byte) []byte {
	switch d.Type {
	case DeltaInputJSON:
		dst = append(dst, `{"type":"input_json_delta","partial_json":`...)
		dst = appendString(dst, d.PartialJSON)
	case DeltaThinking:
		dst = append(dst, `{"type":"thinking_delta","thinking":`...)
		dst = appendString(dst, d.Thinking)
	case DeltaSignature:
		dst = append(dst, `{"type":"signature_delta","signature":`...)
		dst = appendString(dst, d.Signature)
	default:
		dst = append(dst, `{"type":"text_delta","text":`...)
		dst = appendString(dst, d.Text)
	}
	return append(dst, '}')
}

// AppendSSE appends e as one server-sent event, "event: TYPE\ndata: JSON\n\n",
// to dst. The JSON never holds a raw newline, so one data line suffices.
func (e Event) AppendSSE(dst []byte) []byte {
	name := e.Type
	if !knownEventType(name) {
		name = EventError
	}
	dst = append(dst, "event: "...)
	dst = append(dst, name...)
	dst = append(dst, "\ndata: "...)
	dst = e.AppendJSON(dst)
	return append(dst, "\n\n"...)
}

func knownEventType(t string) bool {
	switch t {
	case EventMessageStart, EventContentBlockStart, EventContentBlockDelta, EventContentBlockStop,
		EventMessageDelta, EventMessageStop, EventPing, EventError:
		return true
	}
	return false
}
