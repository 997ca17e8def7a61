package openai

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConvertError(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		wantType string
		wantMsg  string
	}{
		// shaped: every body here is an error in an OpenAI-compatible shape
		// but those listed in unshaped below.
		{"openai 400", 400, `{"error":{"message":"Invalid 'messages[1].content'","type":"invalid_request_error","param":"messages","code":null}}`,
			"invalid_request_error", "Invalid 'messages[1].content'"},
		{"context length", 400, `{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}}`,
			"invalid_request_error", "prompt is too long: This model's maximum context length is 128000 tokens."},
		{"vllm context length", 400, `{"object":"error","message":"This model's maximum context length is 32768 tokens. However, you requested 40000 tokens","type":"BadRequestError","code":400}`,
			"invalid_request_error", "prompt is too long: 40000 tokens > 32768 maximum (This model's maximum context length is 32768 tokens. However, you requested 40000 tokens)"},
		{"401 with key echoed", 401, `{"error":{"message":"Incorrect API key provided: sk-proj-abcdefgh1234****5678. You can find your API key at the dashboard.","type":"invalid_request_error","code":"invalid_api_key"}}`,
			"authentication_error", "Incorrect API key provided: sk-[redacted]. You can find your API key at the dashboard."},
		{"402 credits", 402, `{"error":{"message":"Insufficient credits","code":402}}`, "billing_error", "Insufficient credits"},
		{"403", 403, `{"error":"forbidden region"}`, "permission_error", "forbidden region"},
		{"404 model", 404, `{"error":{"message":"The model 'x' does not exist","type":"invalid_request_error","code":"model_not_found"}}`,
			"not_found_error", "The model 'x' does not exist"},
		{"413", 413, `request entity too large`, "invalid_request_error", "prompt is too long: request entity too large"},
		{"422 fastapi detail", 422, `{"detail":[{"loc":["body","messages"],"msg":"field required"}]}`,
			"invalid_request_error", `[{"loc":["body","messages"],"msg":"field required"}]`},
		{"429", 429, `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`, "rate_limit_error", "Rate limit reached"},
		{"500 empty body", 500, ``, "api_error", "Internal Server Error"},
		{"502 html", 502, `<html>Bad Gateway</html>`, "api_error", "<html>Bad Gateway</html>"},
		{"503 message", 503, `{"message":"no healthy upstream"}`, "overloaded_error", "no healthy upstream"},
		{"504", 504, ``, "timeout_error", "Gateway Timeout"},
		{"529", 529, `{"error":{"message":"Overloaded"}}`, "overloaded_error", "Overloaded"},
		{"unknown status", 299, ``, "api_error", "upstream error 299"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ConvertError(tt.status, []byte(tt.body))
			gotType, gotMsg, gotShaped := got.Type, got.Message, got.Shaped
			if diff := cmp.Diff([2]string{tt.wantType, tt.wantMsg}, [2]string{gotType, gotMsg}); diff != "" {
				t.Errorf("ConvertError (-want +got):\n%s", diff)
			}
			if want := !unshaped[tt.name]; gotShaped != want {
				t.Errorf("shaped = %v, want %v", gotShaped, want)
			}
		})
	}
}

// unshaped names the cases of TestConvertError whose body is not an API
// error: a provider's failure even with a 4xx status.
var unshaped = map[string]bool{"413": true, "500 empty body": true, "502 html": true, "504": true, "unknown status": true}

func TestConvertErrorTruncatesLongBodies(t *testing.T) {
	body := make([]byte, 5000)
	for i := range body {
		body[i] = 'x'
	}
	msg := ConvertError(500, body).Message
	if len(msg) > 510 {
		t.Errorf("message is %d bytes, want it shortened", len(msg))
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"no secrets here", "no secrets here"},
		{"key sk-abcdef0123456789 bad", "key sk-[redacted] bad"},
		{"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", "Authorization: Bearer [redacted]"},
		{"task-list and sk-ab are prose", "task-list and sk-ab are prose"},
		{"key-0123456789abcdef", "key-[redacted]"},
	}
	for _, tt := range tests {
		if got := redact(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestOverflow: "the prompt does not fit" in each server's words and
// status becomes Anthropic's 400 "prompt is too long", with the sizes in
// Anthropic's form when they can be read; look-alikes do not.
func TestOverflow(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   string // "" means: not an overflow
	}{
		{"OpenAI", 400, `{"error":{"message":"This model's maximum context length is 128000 tokens. However, you requested 130000 tokens (120000 in the messages, 10000 in the completion). Please reduce the length of the messages or completion.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`,
			"prompt is too long: 130000 tokens > 128000 maximum (This model's maximum context length is 128000 tokens. However, you requested 130000 tokens (120000 in the messages, 10000 in the completion). Please reduce the length of the messages or completion.)"},
		{"OpenAI code only", 400, `{"error":{"message":"Input too big.","code":"context_length_exceeded"}}`, "prompt is too long: Input too big."},
		{"DeepSeek", 400, `{"error":{"message":"This model's maximum context length is 131072 tokens. However, you requested 140000 tokens (139000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.","type":"invalid_request_error","param":null,"code":"invalid_request_error"}}`,
			"prompt is too long: 140000 tokens > 131072 maximum (This model's maximum context length is 131072 tokens. However, you requested 140000 tokens (139000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.)"},
		{"OpenRouter", 400, `{"error":{"message":"This endpoint's maximum context length is 163840 tokens. However, you requested about 200000 tokens (190000 of text input, 10000 in the output). Please reduce the length of either one, or use the \"middle-out\" transform to compress your prompt automatically.","code":400}}`,
			"prompt is too long: 200000 tokens > 163840 maximum (This endpoint's maximum context length is 163840 tokens. However, you requested about 200000 tokens (190000 of text input, 10000 in the output). Please reduce the length of either one, or use the \"middle-out\" transform to compress your prompt automatically.)"},
		{"vLLM", 400, `{"object":"error","message":"The input (345516 tokens) is longer than the model's context length (262144 tokens).","type":"BadRequestError","param":null,"code":400}`,
			"prompt is too long: 345516 tokens > 262144 maximum (The input (345516 tokens) is longer than the model's context length (262144 tokens).)"},
		{"llama.cpp", 400, `{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":14429,"n_ctx":8192}}`,
			"prompt is too long: 14429 tokens > 8192 maximum (the request exceeds the available context size, try increasing it)"},
		{"llama.cpp 500", 500, `{"error":{"code":500,"message":"the request exceeds the available context size, try increasing it","type":"server_error"}}`,
			"prompt is too long: the request exceeds the available context size, try increasing it"},
		{"Kimi", 400, `{"error":{"message":"Invalid request: Your request exceeded model token limit: 262144","type":"invalid_request_error"}}`,
			"prompt is too long: more than 262144 tokens (Invalid request: Your request exceeded model token limit: 262144)"},
		{"Qwen", 400, `{"error":{"message":"<400> InternalError.Algo.InvalidParameter: Range of input length should be [1, 129024]","type":"invalid_request_error","code":"invalid_parameter_error"}}`,
			"prompt is too long: more than 129024 tokens (<400> InternalError.Algo.InvalidParameter: Range of input length should be [1, 129024])"},
		{"Qwen input length", 400, `{"error":{"message":"Input length exceeds the maximum length of the model.","code":"InvalidParameter"}}`,
			"prompt is too long: Input length exceeds the maximum length of the model."},
		{"Gemini", 400, `[{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}]`,
			"prompt is too long: 1200000 tokens > 1048576 maximum (The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).)"},
		{"GLM", 400, `{"error":{"code":"1261","message":"Prompt exceeds max length"}}`, "prompt is too long: Prompt exceeds max length"},
		{"Mistral", 400, `{"object":"error","message":"Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum context length","type":"invalid_request_error","code":3051}`,
			"prompt is too long: 40000 tokens > 32768 maximum (Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum context length)"},
		{"xAI", 400, `{"code":"Client specified an invalid argument","error":"This model's maximum prompt length is 131072 but the request contains 150000 tokens."}`,
			"prompt is too long: 150000 tokens > 131072 maximum (This model's maximum prompt length is 131072 but the request contains 150000 tokens.)"},
		{"TGI", 422, `{"error":"Input validation error: ` + "`inputs` tokens + `max_new_tokens`" + ` must be <= 8192. Given: 9000 ` + "`inputs`" + ` tokens and 512 ` + "`max_new_tokens`" + `","error_type":"validation"}`,
			"prompt is too long: Input validation error: `inputs` tokens + `max_new_tokens` must be <= 8192. Given: 9000 `inputs` tokens and 512 `max_new_tokens`"},
		{"LM Studio", 400, `{"error":"Trying to keep the first 9000 tokens when context the overflows. However, the model is loaded with context length of only 8192 tokens, which is not enough. Try to load the model with a larger context length, or provide a shorter input"}`,
			"prompt is too long: Trying to keep the first 9000 tokens when context the overflows. However, the model is loaded with context length of only 8192 tokens, which is not enough. Try to load the model with a larger context length, or provide a shorter input"},
		{"Bedrock", 400, `{"message":"Input is too long for requested model."}`, "prompt is too long: Input is too long for requested model."},
		{"Anthropic words", 400, `{"error":{"message":"Prompt is too long: 210000 tokens > 200000 maximum"}}`, "prompt is too long: 210000 tokens > 200000 maximum"},
		{"Groq 413", 413, `{"error":{"message":"Request too large for model in organization on tokens per minute (TPM): Limit 6000, Requested 12000","type":"tokens","code":"rate_limit_exceeded"}}`,
			"prompt is too long: Request too large for model in organization on tokens per minute (TPM): Limit 6000, Requested 12000"},
		{"max_tokens too large", 400, `{"error":{"message":"max_tokens is too large: 200000. This model supports at most 16384 completion tokens, whereas you provided 200000.","type":"invalid_request_error","param":"max_tokens","code":"invalid_value"}}`, ""},
		{"rate limit", 429, `{"error":{"message":"Rate limit reached for requests; reduce the length of the messages","code":"rate_limit_exceeded"}}`, ""},
		{"server error", 503, `{"error":{"message":"maximum context length unavailable"}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ConvertError(tt.status, []byte(tt.body))
			if tt.want == "" {
				if got.Overflow {
					t.Errorf("read as an overflow: %q", got.Message)
				}
				return
			}
			if !got.Overflow || got.Type != "invalid_request_error" {
				t.Fatalf("not an overflow: %+v", got)
			}
			if got.Message != tt.want {
				t.Errorf("message\n got %q\nwant %q", got.Message, tt.want)
			}
		})
	}
}

func TestOverflowErrorChunk(t *testing.T) {
	msg, ok := IsOverflowError(&UpstreamError{Code: "400", Message: "This endpoint's maximum context length is 163840 tokens. However, you requested about 200000 tokens."})
	if !ok || msg != "prompt is too long: 200000 tokens > 163840 maximum (This endpoint's maximum context length is 163840 tokens. However, you requested about 200000 tokens.)" {
		t.Errorf("IsOverflowError = %q, %v", msg, ok)
	}
	if _, ok := IsOverflowError(&UpstreamError{Code: "502", Message: "Provider returned error"}); ok {
		t.Error("a 502 error chunk read as an overflow")
	}
}
