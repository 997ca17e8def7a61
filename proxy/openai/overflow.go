package openai

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

// Context overflow. Claude Code compacts the conversation and retries only
// when it gets a 400 invalid_request_error whose message starts with
// "prompt is too long"; every other error ends the turn. Servers say "the
// prompt does not fit" in their own words and with their own statuses, so
// those are recognised here and all answered in Anthropic's words.

// overflowStatuses are the statuses an overflow comes with: 400 (most),
// 413 (gateways, Groq), 422 (TGI-based servers), 500 (older llama.cpp).
// Any 413 is an overflow: the request is too large for this provider,
// whatever its body says.
var overflowStatuses = map[int]bool{400: true, 413: true, 422: true, 500: true}

// overflowPhrases recognise an overflow in a lower-cased message or body;
// a phrase matches when all its parts occur. Sources, as the servers word
// it:
//
//	OpenAI, DeepSeek, OpenRouter  "This model's maximum context length is N tokens. However, you requested M tokens",
//	                              code context_length_exceeded; "Please reduce the length of the messages"
//	vLLM                          "The input (N tokens) is longer than the model's context length (M tokens)"
//	llama.cpp                     "the request exceeds the available context size", type exceed_context_size_error
//	Kimi (Moonshot)               "Your request exceeded model token limit: N"
//	Qwen (DashScope)              "Range of input length should be [1, N]"; "Input length exceeds the maximum length"
//	Gemini                        "The input token count (N) exceeds the maximum number of tokens allowed (M)"
//	GLM (Zhipu)                   "Prompt exceeds max length" (code 1261)
//	Mistral                       "Prompt contains N tokens … too large for model with M maximum context length"
//	xAI                           "This model's maximum prompt length is M but the request contains N tokens"
//	TGI, Together                 "`inputs` tokens + `max_new_tokens` must be <= N"
//	LM Studio                     "the model is loaded with context length of only N tokens, which is not enough"
//	Amazon Bedrock                "Input is too long for requested model"
//	Anthropic-style proxies       "prompt is too long"
var overflowPhrases = [][]string{
	{"context_length_exceeded"},
	{"maximum context length"},
	{"reduce the length of the messages"},
	{"context length", "longer than"},
	{"context length", "exceed"},
	{"context length", "greater than"},
	{"loaded with context length of only"},
	{"context window", "exceed"},
	{"context size", "exceed"},
	{"exceed_context_size_error"},
	{"exceeded model token limit"},
	{"range of input length should be"},
	{"input length", "exceed"},
	{"input token count", "exceeds the maximum"},
	{"prompt exceeds max length"},
	{"maximum prompt length"},
	{"`inputs` tokens + `max_new_tokens`"},
	{"input is too long"},
	{"prompt is too long"},
	{"prompt too long"},
}

// isOverflow reports whether an error answer says the prompt does not fit.
func isOverflow(status int, body []byte, message string) bool {
	if status == 413 {
		return true
	}
	if !overflowStatuses[status] {
		return false
	}
	m := strings.ToLower(message)
	b := strings.ToLower(string(body))
	for _, p := range overflowPhrases {
		if containsAll(m, p) || containsAll(b, p) {
			return true
		}
	}
	return false
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// overflowMessage returns Anthropic's message for an overflow, and whether
// the answer is one. When the sizes can be read from the upstream's words
// (or llama.cpp's n_prompt_tokens and n_ctx), the message has Anthropic's
// form, "prompt is too long: N tokens > M maximum"; the upstream's message
// follows in parentheses.
func overflowMessage(status int, body []byte, message string) (string, bool) {
	if !isOverflow(status, body, message) {
		return "", false
	}
	if strings.HasPrefix(strings.ToLower(message), "prompt is too long") {
		return "prompt is too long" + message[len("prompt is too long"):], true
	}
	n, m := overflowSizes(body, message)
	switch {
	case n > 0 && m > 0:
		return "prompt is too long: " + strconv.Itoa(n) + " tokens > " + strconv.Itoa(m) + " maximum (" + message + ")", true
	case m > 0:
		return "prompt is too long: more than " + strconv.Itoa(m) + " tokens (" + message + ")", true
	}
	return "prompt is too long: " + message, true
}

// sizePatterns read the prompt's size (n) and the limit (m) from a
// message; the submatch names say which is which.
var sizePatterns = []*regexp.Regexp{
	regexp.MustCompile(`maximum context length is (?P<m>\d+) tokens\.? however, you requested (?:about )?(?P<n>\d+) tokens`),
	regexp.MustCompile(`input \((?P<n>\d+) tokens\) is longer than the model's context length \((?P<m>\d+) tokens\)`),
	regexp.MustCompile(`input token count \((?P<n>\d+)\) exceeds the maximum number of tokens allowed \((?P<m>\d+)\)`),
	regexp.MustCompile(`maximum prompt length is (?P<m>\d+) but the request contains (?P<n>\d+) tokens`),
	regexp.MustCompile(`prompt contains (?P<n>\d+) tokens.*?(?P<m>\d+) maximum context length`),
	regexp.MustCompile(`exceeded model token limit: (?P<m>\d+)`),
	regexp.MustCompile(`range of input length should be \[\d+, (?P<m>\d+)\]`),
}

func overflowSizes(body []byte, message string) (n, m int) {
	lower := strings.ToLower(message)
	for _, re := range sizePatterns {
		sub := re.FindStringSubmatch(lower)
		if sub == nil {
			continue
		}
		for i, name := range re.SubexpNames() {
			v, _ := strconv.Atoi(sub[i])
			switch name {
			case "n":
				n = v
			case "m":
				m = v
			}
		}
		return n, m
	}
	// llama.cpp: {"error":{"n_prompt_tokens":N,"n_ctx":M,...}}
	var lc struct {
		Error struct {
			NPrompt int `json:"n_prompt_tokens"`
			NCtx    int `json:"n_ctx"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &lc) == nil && lc.Error.NCtx > 0 {
		return lc.Error.NPrompt, lc.Error.NCtx
	}
	return 0, 0
}

// IsOverflowError reports an *UpstreamError (an error chunk in a 200
// answer) that says the prompt does not fit, and returns Anthropic's
// message for it.
func IsOverflowError(e *UpstreamError) (string, bool) {
	status := e.Status()
	if status == 0 {
		status = 400
	}
	return overflowMessage(status, nil, e.Message)
}
