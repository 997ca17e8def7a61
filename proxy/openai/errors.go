package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
)

// ErrTruncated is returned by StreamConverter.Finish when the upstream
// stream ended before it said it was done (no finish_reason, no [DONE]).
// The client must see a cut, not a clean end.
var ErrTruncated = errors.New("upstream stream ended before finish_reason or [DONE]")

// UpstreamError is an error the upstream reported in a 200 answer: an
// {"error": ...} chunk in a stream, or an error body in place of a
// completion.
type UpstreamError struct {
	Type    string // the upstream's error type, if any
	Code    string // the upstream's error code, if any (OpenRouter sends HTTP statuses here)
	Message string // secrets redacted
}

func (e *UpstreamError) Error() string {
	var sb strings.Builder
	sb.WriteString("upstream error")
	if e.Type != "" {
		sb.WriteString(" (" + e.Type + ")")
	}
	if e.Code != "" {
		sb.WriteString(" [" + e.Code + "]")
	}
	sb.WriteString(": ")
	sb.WriteString(e.Message)
	return sb.String()
}

// Status returns the HTTP status the upstream put in Code, or 0.
func (e *UpstreamError) Status() int {
	n, err := strconv.Atoi(e.Code)
	if err != nil || n < 100 || n > 599 {
		return 0
	}
	return n
}

// parseUpstreamError reads an OpenAI-style error value: an object with
// message/type/code, or a bare string.
func parseUpstreamError(raw json.RawMessage) *UpstreamError {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return &UpstreamError{Message: redact(s)}
		}
	}
	var body struct {
		Message json.RawMessage `json:"message"`
		Type    json.RawMessage `json:"type"`
		Code    json.RawMessage `json:"code"`
	}
	if json.Unmarshal(raw, &body) != nil {
		return &UpstreamError{Message: redact(truncate(string(raw), 500))}
	}
	e := &UpstreamError{
		Message: redact(scalarText(body.Message)),
		Type:    scalarText(body.Type),
		Code:    scalarText(body.Code),
	}
	if e.Message == "" {
		e.Message = redact(truncate(string(raw), 500))
	}
	return e
}

// scalarText returns a JSON string's value or a number's text; "" for
// anything else.
func scalarText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return ""
	}
	if raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9') {
		return string(raw)
	}
	return ""
}

// ErrorAnswer is an upstream error answer in the Messages API's terms.
type ErrorAnswer struct {
	// Type is the Anthropic error type ("invalid_request_error", ...).
	Type string
	// Message is the upstream's message, secrets redacted; for an
	// overflow, "prompt is too long: …".
	Message string
	// Shaped reports that the body is an error in one of the shapes
	// OpenAI-compatible servers use (not an HTML page from a front proxy,
	// nor an empty body).
	Shaped bool
	// Overflow reports that the prompt does not fit the model's context
	// window (overflow.go): the client must get 400 invalid_request_error
	// with Message, whatever the upstream's status, since that is the
	// answer Claude Code compacts the conversation on.
	Overflow bool
}

// ConvertError maps an upstream error answer (status and OpenAI-style body)
// to an Anthropic error type and message.
func ConvertError(status int, body []byte) ErrorAnswer {
	message, shaped := errorMessage(body)
	if message == "" {
		message = http.StatusText(status)
		if message == "" {
			message = "upstream error " + strconv.Itoa(status)
		}
	}
	if msg, ok := overflowMessage(status, body, message); ok {
		return ErrorAnswer{Type: anthropic.ErrInvalidRequest, Message: msg, Shaped: shaped, Overflow: true}
	}
	return ErrorAnswer{Type: anthropic.ErrorTypeForStatus(status), Message: message, Shaped: shaped}
}

// errorMessage extracts the message of an error body in any of the shapes
// OpenAI-compatible servers use: {"error":{"message"}}, {"error":"..."},
// {"message":"..."}, {"detail":"..."}, and Gemini's [{"error":{...}}]
// (shaped is then true); else the body's text, shortened.
func errorMessage(body []byte) (msg string, shaped bool) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return "", false
	}
	if body[0] == '[' {
		var list []json.RawMessage
		if json.Unmarshal(body, &list) == nil && len(list) > 0 {
			if m, ok := errorMessage(list[0]); ok {
				return m, true
			}
		}
	}
	var shapes struct {
		Error   json.RawMessage `json:"error"`
		Message json.RawMessage `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &shapes) == nil {
		if e := parseUpstreamError(shapes.Error); e != nil && e.Message != "" {
			return e.Message, true
		}
		if s := scalarText(shapes.Message); s != "" {
			return redact(s), true
		}
		if s := scalarText(shapes.Detail); s != "" {
			return redact(s), true
		}
		if len(shapes.Detail) > 0 {
			return redact(truncate(string(shapes.Detail), 500)), true
		}
	}
	return redact(truncate(string(body), 500)), false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && n < len(s) && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// redact hides anything shaped like an API key (sk-..., Bearer tokens) that
// an upstream echoes in its error message.
func redact(s string) string {
	if !strings.Contains(s, "sk-") && !strings.Contains(s, "Bearer ") && !strings.Contains(s, "key-") {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); {
		matched := ""
		for _, p := range []string{"sk-", "key-", "Bearer "} {
			if strings.HasPrefix(s[i:], p) && (i == 0 || !isKeyChar(s[i-1])) {
				matched = p
				break
			}
		}
		if matched == "" {
			sb.WriteByte(s[i])
			i++
			continue
		}
		j := i + len(matched)
		for j < len(s) && (isKeyChar(s[j]) || s[j] == '*') {
			j++
		}
		for j > i+len(matched) && s[j-1] == '.' {
			j-- // a full stop ends the sentence, not the key
		}
		if j-i-len(matched) < 6 {
			// Too short to be a secret ("sk-" in prose).
			sb.WriteString(s[i:j])
		} else {
			sb.WriteString(matched + "[redacted]")
		}
		i = j
	}
	return sb.String()
}

func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}
