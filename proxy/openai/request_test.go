package openai

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConvertRequestErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"no model", `{"messages":[{"role":"user","content":"a"}]}`, "model: missing"},
		{"content of wrong type", `{"model":"m","messages":[{"role":"user","content":5}]}`, "messages[0].content: must be a string or an array of content blocks"},
		{"not JSON", `{"model":"m",`, "decoding request"},
		{"unknown role", `{"model":"m","messages":[{"role":"bot","content":"a"}]}`, `messages[0].role: unknown role "bot"`},
		{"role after content", `{"model":"m","messages":[{"content":"a","role":"bot"}]}`, `messages[0].role: unknown role "bot"`},
		{"tool_use without id", `{"model":"m","messages":[{"role":"assistant","content":[{"type":"tool_use","name":"A","input":{}}]}]}`,
			"messages[0].content[0]: tool_use without id or name"},
		{"tool_use bad input", `{"model":"m","messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"A","input":"{not json"}]}]}`,
			"messages[1].content[0].input: not a JSON object"},
		{"tool_result without id", `{"model":"m","messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]}`,
			"messages[0].content[0].tool_use_id: missing"},
		{"tool_choice unknown", `{"model":"m","tools":[{"name":"A","input_schema":{}}],"tool_choice":{"type":"some"},"messages":[{"role":"user","content":"a"}]}`,
			`tool_choice.type: unknown value "some"`},
		{"tool_choice tool without name", `{"model":"m","tools":[{"name":"A","input_schema":{}}],"tool_choice":{"type":"tool"},"messages":[{"role":"user","content":"a"}]}`,
			"tool_choice.name: missing"},
		{"tool without name", `{"model":"m","tools":[{"input_schema":{}}],"messages":[{"role":"user","content":"a"}]}`,
			"tools[0].name: missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ConvertRequest([]byte(tt.body), RequestOptions{})
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestConvertRequestOptions(t *testing.T) {
	body := `{"model":"claude-sonnet-5","max_tokens":1000,"thinking":{"type":"enabled","budget_tokens":BUDGET},"messages":[{"role":"user","content":"a"}]}`
	tests := []struct {
		name      string
		budget    string
		opts      RequestOptions
		model     string
		maxTokens int
		effort    string
	}{
		{"keeps the client's model", "1024", RequestOptions{}, "claude-sonnet-5", 1000, ""},
		{"upstream model", "1024", RequestOptions{Model: "gpt-4.1"}, "gpt-4.1", 1000, ""},
		{"clamp above", "1024", RequestOptions{MaxTokens: 500}, "claude-sonnet-5", 500, ""},
		{"no clamp below", "1024", RequestOptions{MaxTokens: 5000}, "claude-sonnet-5", 1000, ""},
		{"low effort", "1024", RequestOptions{Reasoning: true}, "claude-sonnet-5", 1000, "low"},
		{"medium effort", "8000", RequestOptions{Reasoning: true}, "claude-sonnet-5", 1000, "medium"},
		{"high effort", "16384", RequestOptions{Reasoning: true}, "claude-sonnet-5", 1000, "high"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := ConvertRequest([]byte(strings.Replace(body, "BUDGET", tt.budget, 1)), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			out := req.Body
			var got struct {
				Model           string `json:"model"`
				MaxTokens       int    `json:"max_tokens"`
				ReasoningEffort string `json:"reasoning_effort"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			want := got
			want.Model, want.MaxTokens, want.ReasoningEffort = tt.model, tt.maxTokens, tt.effort
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestConvertRequestDoesNotEscapeHTML keeps prompts byte-for-byte readable:
// code is full of <, > and &.
func TestConvertRequestDoesNotEscapeHTML(t *testing.T) {
	req, err := ConvertRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"if a < b && c > d {}"}]}`), RequestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := req.Body
	if !strings.Contains(string(out), `"if a < b && c > d {}"`) {
		t.Errorf("output %s escapes HTML characters", out)
	}
}

// TestBillingLineLeavesPrefixAlone: two turns that differ only in Claude
// Code's per-request billing line convert to the same bytes, so that a
// provider's prefix cache holds.
func TestBillingLineLeavesPrefixAlone(t *testing.T) {
	body := func(cch string) []byte {
		return []byte(`{"model":"m","system":[{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.332.f06; cc_entrypoint=cli; cch=` + cch + `;"},` +
			`{"type":"text","text":"You are an agent.","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"hi"}]}`)
	}
	a, err := ConvertRequest(body("3fa1c"), RequestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ConvertRequest(body("b07e2"), RequestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(a.Body) != string(b.Body) || strings.Contains(string(a.Body), "billing") {
		t.Errorf("converted bodies differ or keep the billing line:\n%s\n%s", a.Body, b.Body)
	}
}
