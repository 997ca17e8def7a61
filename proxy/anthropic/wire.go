// Package anthropic holds the Anthropic Messages API wire format: error bodies,
// the few request fields the proxy reads, byte-exact model rewriting, and the
// message and stream event types.
package anthropic

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// Error types as the Anthropic API names them.
const (
	ErrInvalidRequest  = "invalid_request_error"
	ErrAuthentication  = "authentication_error"
	ErrBilling         = "billing_error"
	ErrPermission      = "permission_error"
	ErrNotFound        = "not_found_error"
	ErrRequestTooLarge = "request_too_large"
	ErrRateLimit       = "rate_limit_error"
	ErrAPI             = "api_error"
	ErrOverloaded      = "overloaded_error"
	ErrTimeout         = "timeout_error"
)

// ErrorBody is the shape of every Anthropic error response.
type ErrorBody struct {
	Type  string `json:"type"` // always "error"
	Error Error  `json:"error"`
}

// Error is the inner error object.
type Error struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// ErrorTypeForStatus returns the Anthropic error type for an HTTP status.
func ErrorTypeForStatus(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return ErrAuthentication
	case status == http.StatusPaymentRequired:
		return ErrBilling
	case status == http.StatusForbidden:
		return ErrPermission
	case status == http.StatusNotFound:
		return ErrNotFound
	case status == http.StatusRequestEntityTooLarge:
		return ErrRequestTooLarge
	case status == http.StatusTooManyRequests:
		return ErrRateLimit
	case status == http.StatusGatewayTimeout:
		return ErrTimeout
	case status == 529, status == http.StatusServiceUnavailable:
		return ErrOverloaded
	case status >= 500:
		return ErrAPI
	case status >= 400:
		return ErrInvalidRequest
	default:
		return ErrAPI
	}
}

// WriteError writes an Anthropic-shaped error response.
func WriteError(w http.ResponseWriter, status int, errType, message string) {
	if errType == "" {
		errType = ErrorTypeForStatus(status)
	}
	b, _ := json.Marshal(ErrorBody{Type: "error", Error: Error{Type: errType, Message: message}})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// ParseError extracts the type and message of an Anthropic error body (the body
// of an error response, or the data of an `event: error`). It returns ok=false
// when the body is not of that shape.
func ParseError(body []byte) (errType, message string, ok bool) {
	var e ErrorBody
	if json.Unmarshal(body, &e) != nil || (e.Error.Type == "" && e.Error.Message == "") {
		return "", "", false
	}
	return e.Error.Type, e.Error.Message, true
}

// Fields are the request fields the proxy needs, read without decoding the body.
type Fields struct {
	Model string
	// ModelStart and ModelEnd delimit the model's JSON string (quotes included)
	// in the body, for RewriteModel.
	ModelStart, ModelEnd int
	HasModel             bool
	Stream               bool
	HasMessages          bool
	// MessagesStart and MessagesEnd delimit the messages array in the body.
	MessagesStart, MessagesEnd int
	// UnsignedThinking reports a "signature" member in the messages that is
	// "" or starts with StateSignaturePrefix: a thinking block that carries
	// no Anthropic signature (StripUnsignedThinking).
	UnsignedThinking bool
	// Metadata and StreamMember delimit the top-level metadata and stream
	// members (key to end of value) for Signature; zero when absent.
	Metadata, StreamMember Span
}

// Span delimits bytes of a body: body[Start:End]. The zero Span is empty.
type Span struct{ Start, End int }

// SyntaxError is a malformed request body, or (Field) a well-formed one
// whose member has the wrong type.
type SyntaxError struct {
	Offset int
	Msg    string
	Field  bool
}

func (e *SyntaxError) Error() string {
	if e.Field {
		return fmt.Sprintf("%s (at byte %d)", e.Msg, e.Offset)
	}
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}

// Peek validates that body is one JSON object and reads its top-level `model`,
// `stream` and `messages` members. Keys are matched as a JSON decoder (and the
// Messages API) matches them: escapes resolved ("mod\u0065l" is model), case
// kept, and the last of duplicate keys wins. It allocates only the model
// string, and an unescaped copy of a key written with escapes.
func Peek(body []byte) (Fields, error) {
	s := scanner{b: body}
	var f Fields
	var modelErr error // the last model is not a string
	err := s.members("request body", func(key []byte) {
		s.inMessages = string(key) == "messages"
		if s.inMessages {
			s.unsigned = false // only the last messages counts
		}
	}, func(key []byte, ks, vs int) error {
		s.inMessages = false
		v := body[vs:s.i]
		switch string(key) {
		case "model":
			if len(v) == 0 || v[0] != '"' {
				f.Model, f.ModelStart, f.ModelEnd, f.HasModel = "", 0, 0, false
				modelErr = &SyntaxError{Offset: vs, Msg: "model: must be a string", Field: true}
				break
			}
			var m string
			if err := json.Unmarshal(v, &m); err != nil {
				return &SyntaxError{Offset: vs, Msg: "model: " + err.Error()}
			}
			f.Model, f.ModelStart, f.ModelEnd, f.HasModel = m, vs, s.i, true
			modelErr = nil
		case "stream":
			f.Stream = string(v) == "true"
			f.StreamMember = Span{ks, s.i}
		case "metadata":
			f.Metadata = Span{ks, s.i}
		case "messages":
			f.HasMessages = len(v) > 0 && v[0] == '['
			f.MessagesStart, f.MessagesEnd = vs, s.i
			f.UnsignedThinking = s.unsigned
		}
		return nil
	})
	if err != nil {
		return f, err
	}
	if modelErr != nil {
		return Fields{}, modelErr
	}
	return f, s.end()
}

// Answer is what the proxy reads of a non-streamed answer: its type
// ("message", or "error" from a provider that answers 200 with an error
// body) and the raw JSON of its usage and error members (nil when absent).
type Answer struct {
	Type         string
	Usage, Error []byte
}

// PeekAnswer validates that body is one JSON object, as Peek does for a
// request, and reads its top-level type, usage and error members, without
// decoding the rest (the content may be most of a large answer).
func PeekAnswer(body []byte) (Answer, error) {
	s := scanner{b: body}
	var a Answer
	err := s.members("answer", nil, func(key []byte, ks, vs int) error {
		v := body[vs:s.i]
		switch string(key) {
		case "type":
			if err := json.Unmarshal(v, &a.Type); err != nil {
				return &SyntaxError{Offset: vs, Msg: "type: " + err.Error()}
			}
		case "usage":
			a.Usage = v
		case "error":
			a.Error = v
		}
		return nil
	})
	if err != nil {
		return a, err
	}
	return a, s.end()
}

// members scans the object at the cursor (what names it in errors). For
// each member it calls before (if not nil) with the key, before the value
// is scanned, and after with the key, where the key starts and where the
// value starts, once it is scanned (it ends at s.i). A key written with
// escapes is unescaped.
func (s *scanner) members(what string, before func(key []byte), after func(key []byte, ks, vs int) error) error {
	s.ws()
	if !s.eat('{') {
		return s.fail(what + " must be a JSON object")
	}
	s.ws()
	if s.eat('}') {
		return nil
	}
	for {
		s.ws()
		ks, ke, esc, err := s.str()
		if err != nil {
			return err
		}
		key := s.b[ks+1 : ke-1]
		if esc {
			key = unescape(s.b[ks:ke])
		}
		s.ws()
		if !s.eat(':') {
			return s.fail("expected ':' after object key")
		}
		s.ws()
		vs := s.i
		if before != nil {
			before(key)
		}
		if err := s.value(0); err != nil {
			return err
		}
		if err := after(key, ks, vs); err != nil {
			return err
		}
		s.ws()
		if s.eat(',') {
			continue
		}
		if s.eat('}') {
			return nil
		}
		return s.fail("expected ',' or '}' in object")
	}
}

// unescape returns the value of a JSON string (quotes included) that has
// escapes, as encoding/json decodes it. Peek has already validated it.
func unescape(quoted []byte) []byte {
	var v string
	_ = json.Unmarshal(quoted, &v)
	return []byte(v)
}

// RewriteModel returns body with the model value replaced by model. It returns
// body itself when the model is unchanged; otherwise exactly one new slice.
func RewriteModel(body []byte, f Fields, model string) []byte {
	if !f.HasModel || f.Model == model {
		return body
	}
	q, _ := json.Marshal(model)
	out := make([]byte, 0, len(body)-(f.ModelEnd-f.ModelStart)+len(q))
	out = append(out, body[:f.ModelStart]...)
	out = append(out, q...)
	return append(out, body[f.ModelEnd:]...)
}

// RewriteModelParts is RewriteModel without the copy: the new body is the
// concatenation of the three parts, which share body's memory. ok is false
// when nothing needs rewriting.
func RewriteModelParts(body []byte, f Fields, model string) (parts [3][]byte, ok bool) {
	if !f.HasModel || f.Model == model {
		return parts, false
	}
	q, _ := json.Marshal(model)
	return [3][]byte{body[:f.ModelStart], q, body[f.ModelEnd:]}, true
}

// maxDepth bounds nesting so a hostile body cannot exhaust the stack.
const maxDepth = 512

type scanner struct {
	b []byte
	i int
	// inMessages is set while the top-level messages array is scanned;
	// unsigned records a "signature":"" member met there.
	inMessages, unsigned bool
}

func (s *scanner) fail(msg string) error { return &SyntaxError{Offset: s.i, Msg: msg} }

func (s *scanner) end() error {
	s.ws()
	if s.i != len(s.b) {
		return s.fail("unexpected data after the JSON object")
	}
	return nil
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str scans a string starting at s.i and returns its span including quotes,
// and whether it holds an escape.
// Strings are most of a request's bytes (prompts, tool results, schemas), so
// the closing quote and backslashes are found with bytes.IndexByte
// (vectorised), control characters are checked eight bytes at a time, and
// the quote found is remembered across escapes so a string full of escapes
// is still scanned once.
func (s *scanner) str() (start, end int, esc bool, err error) {
	start = s.i
	if !s.eat('"') {
		return 0, 0, false, s.fail("expected a string")
	}
	quote := -1 // absolute index of the next unescaped-candidate quote
	for {
		if quote < s.i {
			q := bytes.IndexByte(s.b[s.i:], '"')
			if q < 0 {
				s.i = len(s.b)
				return 0, 0, false, s.fail("unterminated string")
			}
			quote = s.i + q
		}
		span := s.b[s.i:quote]
		if bs := bytes.IndexByte(span, '\\'); bs >= 0 {
			span = span[:bs]
		}
		if hasControl(span) {
			return 0, 0, false, s.fail("control character in string")
		}
		s.i += len(span)
		if s.i == quote {
			s.i++
			return start, s.i, esc, nil
		}
		// Backslash escape.
		esc = true
		if s.i+1 >= len(s.b) {
			return 0, 0, false, s.fail("unterminated string")
		}
		switch s.b[s.i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			s.i += 2
		case 'u':
			if s.i+6 > len(s.b) {
				return 0, 0, false, s.fail("bad unicode escape")
			}
			for _, c := range s.b[s.i+2 : s.i+6] {
				if !isHex(c) {
					return 0, 0, false, s.fail("bad unicode escape")
				}
			}
			s.i += 6
		default:
			return 0, 0, false, s.fail("bad escape in string")
		}
	}
}

// hasControl reports whether b holds a byte below 0x20, eight bytes per step:
// (x - 0x2020…20) &^ x & 0x8080…80 is non-zero exactly when some byte of x
// is below 0x20.
func hasControl(b []byte) bool {
	const lo, hi = 0x2020202020202020, 0x8080808080808080
	for len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		if (x-lo)&^x&hi != 0 {
			return true
		}
		b = b[8:]
	}
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func (s *scanner) value(depth int) error {
	if depth > maxDepth {
		return s.fail("nesting too deep")
	}
	if s.i >= len(s.b) {
		return s.fail("unexpected end of input")
	}
	switch c := s.b[s.i]; {
	case c == '"':
		_, _, _, err := s.str()
		return err
	case c == '{':
		s.i++
		s.ws()
		if s.eat('}') {
			return nil
		}
		for {
			s.ws()
			ks, ke, esc, err := s.str()
			if err != nil {
				return err
			}
			s.ws()
			if !s.eat(':') {
				return s.fail("expected ':' after object key")
			}
			s.ws()
			vs := s.i
			if err := s.value(depth + 1); err != nil {
				return err
			}
			if s.inMessages && foreignSignatureValue(s.b[vs:s.i]) && (string(s.b[ks:ke]) == `"signature"` || esc && string(unescape(s.b[ks:ke])) == "signature") {
				s.unsigned = true
			}
			s.ws()
			if s.eat(',') {
				continue
			}
			if s.eat('}') {
				return nil
			}
			return s.fail("expected ',' or '}' in object")
		}
	case c == '[':
		s.i++
		s.ws()
		if s.eat(']') {
			return nil
		}
		for {
			s.ws()
			if err := s.value(depth + 1); err != nil {
				return err
			}
			s.ws()
			if s.eat(',') {
				continue
			}
			if s.eat(']') {
				return nil
			}
			return s.fail("expected ',' or ']' in array")
		}
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	case c == '-' || '0' <= c && c <= '9':
		return s.num()
	default:
		return s.fail(fmt.Sprintf("unexpected character %q", c))
	}
}

// foreignSignatureValue reports a signature value (JSON, quotes included)
// that is "" or starts with StateSignaturePrefix.
func foreignSignatureValue(v []byte) bool {
	return len(v) == 2 || len(v) > len(StateSignaturePrefix) && v[0] == '"' &&
		string(v[1:1+len(StateSignaturePrefix)]) == StateSignaturePrefix
}

func (s *scanner) lit(w string) error {
	if !bytes.HasPrefix(s.b[s.i:], []byte(w)) {
		return s.fail("invalid literal")
	}
	s.i += len(w)
	return nil
}

func (s *scanner) num() error {
	start := s.i
	s.eat('-')
	digits := func() int {
		n := 0
		for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.eat('0') {
		// no leading zeros
	} else if digits() == 0 {
		return s.fail("invalid number")
	}
	if s.eat('.') && digits() == 0 {
		return s.fail("invalid number")
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if !s.eat('+') {
			s.eat('-')
		}
		if digits() == 0 {
			return s.fail("invalid number")
		}
	}
	if s.i == start {
		return s.fail("invalid number")
	}
	return nil
}

// IsSyntaxError reports whether err is a malformed-body error from Peek.
func IsSyntaxError(err error) bool {
	var se *SyntaxError
	return errors.As(err, &se)
}
