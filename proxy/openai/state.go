package openai

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
)

// Opaque provider state. Some providers attach state to an answer that
// must come back unchanged in the next request: Gemini's thought signature
// on tool calls (its thinking models refuse a history without it), and
// OpenRouter's reasoning_details (the encrypted or signed reasoning of the
// model behind it). The client is the only memory between requests, so the
// state travels in a field the client returns verbatim: the signature of a
// thinking block with no text, which the converted answer carries just
// before the blocks that follow the state (or at the end):
//
//	ccb1.<family>.<provider tag>.<payload>.<check>
//
// payload is the state as JSON in unpadded base64url; the provider tag is
// 8 base64url characters of SHA-256 of the provider's name, and check 8 of
// SHA-256 of everything before it. A request to an OpenAI-compatible
// provider takes back the state of blocks whose family and tag are its own
// and whose check holds, and drops every other such block; a request to an
// Anthropic provider drops them all (anthropic.StripUnsignedThinking). So
// the state survives a proxy restart, and never reaches another provider.

// providerState is the opaque state of one answer.
type providerState struct {
	// Signatures maps a tool call's id, as sent upstream, to its thought
	// signature.
	Signatures map[string]string `json:"sig,omitempty"`
	// ReasoningDetails is the answer's reasoning_details, in order.
	ReasoningDetails []json.RawMessage `json:"rd,omitempty"`
}

func (s *providerState) empty() bool {
	return s == nil || len(s.Signatures) == 0 && len(s.ReasoningDetails) == 0
}

// merge adds o's state to s.
func (s *providerState) merge(o *providerState) {
	for k, v := range o.Signatures {
		if s.Signatures == nil {
			s.Signatures = map[string]string{}
		}
		s.Signatures[k] = v
	}
	s.ReasoningDetails = append(s.ReasoningDetails, o.ReasoningDetails...)
}

var b64 = base64.RawURLEncoding

// providerTag identifies a provider by its name without spelling it out.
func providerTag(provider string) string {
	sum := sha256.Sum256([]byte(provider))
	return b64.EncodeToString(sum[:6])
}

// encodeState returns the signature that carries s for a provider.
func encodeState(s *providerState, family, provider string) string {
	payload, _ := json.Marshal(s) // maps of strings and raw JSON: cannot fail
	var b strings.Builder
	b.WriteString(anthropic.StateSignaturePrefix)
	b.WriteString(family)
	b.WriteByte('.')
	b.WriteString(providerTag(provider))
	b.WriteByte('.')
	b.WriteString(b64.EncodeToString(payload))
	sum := sha256.Sum256([]byte(b.String()))
	b.WriteByte('.')
	b.WriteString(b64.EncodeToString(sum[:6]))
	return b.String()
}

// decodeState returns the state a signature carries for the given family
// and provider. ours reports a signature of this form at all; s is nil when
// it is someone else's, or damaged.
func decodeState(sig, family, provider string) (s *providerState, ours bool) {
	rest, ok := strings.CutPrefix(sig, anthropic.StateSignaturePrefix)
	if !ok {
		return nil, false
	}
	dot := strings.LastIndexByte(rest, '.')
	if dot < 0 {
		return nil, true
	}
	body, check := sig[:len(sig)-len(rest)+dot], rest[dot+1:]
	sum := sha256.Sum256([]byte(body))
	if check != b64.EncodeToString(sum[:6]) {
		return nil, true
	}
	parts := strings.SplitN(rest[:dot], ".", 3)
	if len(parts) != 3 || parts[0] != family || parts[1] != providerTag(provider) {
		return nil, true
	}
	payload, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, true
	}
	var st providerState
	if json.Unmarshal(payload, &st) != nil {
		return nil, true
	}
	return &st, true
}
