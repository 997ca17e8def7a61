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
