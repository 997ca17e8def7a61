package openai

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
)

// TestStateSignature: a provider's state survives the trip through the
// client, and only that provider of that family gets it back.
func TestStateSignature(t *testing.T) {
	st := &providerState{
		Signatures:       map[string]string{"function-call-7": "CiQBjz1rX"},
		ReasoningDetails: []json.RawMessage{json.RawMessage(`{"type":"reasoning.encrypted","data":"RW5j","index":0}`)},
	}
	sig := encodeState(st, "gemini", "My Gemini")
	if !strings.HasPrefix(sig, anthropic.StateSignaturePrefix+"gemini.") || strings.Contains(sig, "My Gemini") {
		t.Fatalf("signature %q", sig)
	}
	got, ours := decodeState(sig, "gemini", "My Gemini")
	if !ours || got == nil {
		t.Fatalf("decodeState = %v, %v", got, ours)
	}
	if diff := cmp.Diff(st, got); diff != "" {
		t.Errorf("state (-sent +back):\n%s", diff)
	}
	for _, tt := range []struct{ name, sig, family, provider string }{
		{"another provider", sig, "gemini", "Other"},
		{"another family", sig, "openrouter", "My Gemini"},
		{"damaged payload", strings.Replace(sig, ".eyJ", ".eyK", 1), "gemini", "My Gemini"},
		{"damaged check", sig[:len(sig)-1] + "x", "gemini", "My Gemini"},
		{"no check", anthropic.StateSignaturePrefix + "gemini", "gemini", "My Gemini"},
	} {
		if got, ours := decodeState(tt.sig, tt.family, tt.provider); got != nil || !ours {
			t.Errorf("%s: decodeState = %v, %v; want nothing, but known as ours", tt.name, got, ours)
		}
	}
	if got, ours := decodeState("EqoBCkgIBhAB", "gemini", "My Gemini"); got != nil || ours {
		t.Errorf("an Anthropic signature: decodeState = %v, %v", got, ours)
	}
}
