package openai

import (
	"strconv"
	"strings"

	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
)

// finishReasons maps the finish_reason values servers send (lower-cased:
// Gemini's native reasons are upper case) to an Anthropic stop_reason, or
// to "" for an answer that broke off: FinishError, a failure of the
// provider, which the proxy fails over before the first content and
// aborts after, as for a cut stream. Sources: OpenAI's API reference;
// Zhipu GLM (sensitive, network_error, model_context_window_exceeded);
// DeepSeek (insufficient_system_resource); Gemini's FinishReason enum
// (SAFETY, RECITATION, LANGUAGE, BLOCKLIST, PROHIBITED_CONTENT, SPII,
// IMAGE_SAFETY, MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL,
// TOO_MANY_TOOL_CALLS); OpenRouter (error); vLLM (abort). A server that
// already speaks Anthropic's values keeps them.
//
// A reason in none of these is read as an answer that may be cut:
// stop_reason max_tokens, with a warning. The client then never takes a
// broken answer for a finished turn, and an unknown but harmless reason
// costs no retries.
var finishReasons = map[string]string{
	"stop":          anthropic.StopEndTurn,
	"eos":           anthropic.StopEndTurn,
	"end_turn":      anthropic.StopEndTurn,
	"stop_sequence": anthropic.StopStopSequence,
	"length":        anthropic.StopMaxTokens,
	"max_tokens":    anthropic.StopMaxTokens,
	"tool_calls":    anthropic.StopToolUse,
	"function_call": anthropic.StopToolUse,
	"tool_use":      anthropic.StopToolUse,
	"pause_turn":    anthropic.StopPauseTurn,

	"content_filter":     anthropic.StopRefusal,
	"refusal":            anthropic.StopRefusal,
	"sensitive":          anthropic.StopRefusal,
	"safety":             anthropic.StopRefusal,
	"recitation":         anthropic.StopRefusal,
	"language":           anthropic.StopRefusal,
	"blocklist":          anthropic.StopRefusal,
	"prohibited_content": anthropic.StopRefusal,
	"spii":               anthropic.StopRefusal,
	"image_safety":       anthropic.StopRefusal,

	"model_context_window_exceeded": anthropic.StopContextWindowExceeded,

	"network_error":                "",
	"insufficient_system_resource": "",
	"error":                        "",
	"abort":                        "",
	"malformed_function_call":      "",
	"unexpected_tool_call":         "",
	"too_many_tool_calls":          "",
}

// FinishError is an answer the upstream ended with a finish_reason that
// says it broke off (GLM's network_error, DeepSeek's
// insufficient_system_resource, Gemini's MALFORMED_FUNCTION_CALL, ...).
// It is the provider's failure: failed over before the first content,
// aborted after.
type FinishError struct {
	Reason string // as the upstream sent it
}

func (e *FinishError) Error() string {
	return "the upstream broke the answer off: finish_reason " + strconv.Quote(e.Reason)
}

// stopReason maps a finish_reason; ok is false for one that breaks the
// answer off. known is false for a reason not in the table.
func stopReason(finish string) (reason string, ok, known bool) {
	r, known := finishReasons[strings.ToLower(finish)]
	if !known {
		return anthropic.StopMaxTokens, true, false
	}
	return r, r != "", true
}
