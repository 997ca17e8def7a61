package anthropic

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestStripUnsignedThinking(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		want       string // "" means: unchanged
	}{
		{"no thinking", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, ""},
		{"signed thinking kept", `{"model":"m","messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"x","signature":"EqQB"},{"type":"text","text":"a"}]}]}`, ""},
		{"unsigned thinking removed",
			`{"model":"m","messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"thinking","thinking":"x","signature":""},{"type":"text","text":"a"}]}],"stream":true}`,
			`{"model":"m","messages":[{"role":"user","content":"q"},{"content":[{"type":"text","text":"a"}],"role":"assistant"}],"stream":true}`},
		{"unsigned thinking with spaces removed",
			`{"model":"m","messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"x","signature" : ""},{"type":"text","text":"a"}]}]}`,
			`{"model":"m","messages":[{"content":[{"type":"text","text":"a"}],"role":"assistant"}]}`},
		{"proxy state removed",
			`{"model":"m","messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"","signature":"ccb1.gemini.AbCd1234.e30.Zz9Yy8Xx"},{"type":"tool_use","id":"toolu_1","name":"A","input":{}}]}]}`,
			`{"model":"m","messages":[{"content":[{"type":"tool_use","id":"toolu_1","name":"A","input":{}}],"role":"assistant"}]}`},
		{"signature that only mentions the prefix kept", `{"model":"m","messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"x","signature":"Eccb1.x"},{"type":"text","text":"a"}]}]}`, ""},
		{"empty signature outside the messages ignored", `{"model":"m","metadata":{"signature":""},"messages":[{"role":"user","content":"hi"}]}`, ""},
		{"escaped signature key", `{"model":"m","messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"x","sign\u0061ture":""},{"type":"text","text":"a"}]}]}`,
			`{"model":"m","messages":[{"content":[{"type":"text","text":"a"}],"role":"assistant"}]}`},
		{"keys match exactly", `{"model":"m","messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"x","signature":"","Signature":"EqQB"},{"TYPE":"thinking","type":"text","text":"a"}]}]}`,
			`{"model":"m","messages":[{"content":[{"TYPE":"thinking","type":"text","text":"a"}],"role":"assistant"}]}`},
		{"only thinking left as it is", `{"model":"m","messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"x","signature":""}]}]}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := Peek([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			got := string(StripUnsignedThinking([]byte(tt.body), f))
			want := tt.want
			if want == "" {
				want = tt.body
			}
			if got != want {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
			if !json.Valid([]byte(got)) || (tt.want != "" && strings.Contains(got, `"signature":""`)) {
				t.Fatalf("bad output %s", got)
			}
		})
	}
}
