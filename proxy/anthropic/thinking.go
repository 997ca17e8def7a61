package anthropic

import (
	"encoding/json"
	"strings"
)

// StateSignaturePrefix starts the signature of a thinking block that the
// proxy made to carry an OpenAI-compatible provider's opaque state (a
// Gemini thought signature, OpenRouter's reasoning_details) through the
// client and back: "ccb1.<family>.<provider tag>.<payload>.<check>" (see
// package openai). It is no Anthropic signature, and such a block never
// goes to an Anthropic provider.
const StateSignaturePrefix = "ccb1."

// isForeignSignature reports a thinking signature that is not Anthropic's:
// none (an OpenAI-compatible provider's reasoning text) or the proxy's own
// state.
func isForeignSignature(sig string) bool {
	return sig == "" || strings.HasPrefix(sig, StateSignaturePrefix)
}

// StripUnsignedThinking removes thinking blocks that carry no Anthropic
// signature from the request's messages: those with none (made from an
// OpenAI-compatible provider's reasoning, which has no signature) and those
// whose signature carries the proxy's state for such a provider
// (StateSignaturePrefix). An Anthropic provider rejects both, so a session
// that fails over from one to the other must not send them; the state is
// also that provider's alone. The body is returned as it is (no copy) when
// it has none, which Peek has already settled for almost every request
// (f.UnsignedThinking).
func StripUnsignedThinking(body []byte, f Fields) []byte {
	if !f.HasMessages || !f.UnsignedThinking {
		return body
	}
	var msgs []json.RawMessage
	if json.Unmarshal(body[f.MessagesStart:f.MessagesEnd], &msgs) != nil {
		return body
	}
	changed := false
	for i, raw := range msgs {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		var blocks []json.RawMessage
		if json.Unmarshal(m["content"], &blocks) != nil {
			continue
		}
		kept := blocks[:0:0]
		for _, b := range blocks {
			if !unsignedThinking(b) {
				kept = append(kept, b)
			}
		}
		if len(kept) == len(blocks) || len(kept) == 0 {
			continue
		}
		c, err1 := json.Marshal(kept)
		m["content"] = c
		nm, err2 := json.Marshal(m)
		if err1 != nil || err2 != nil {
			continue
		}
		msgs[i] = nm
		changed = true
	}
	if !changed {
		return body
	}
	arr, err := json.Marshal(msgs)
	if err != nil {
		return body
	}
	out := make([]byte, 0, len(body)-(f.MessagesEnd-f.MessagesStart)+len(arr))
	out = append(out, body[:f.MessagesStart]...)
	out = append(out, arr...)
	return append(out, body[f.MessagesEnd:]...)
}

// unsignedThinking reports whether a content block is a thinking block with
// no Anthropic signature (absent, null, "" or the proxy's state). Keys match exactly, as the Messages API
// reads them: a struct decode would also take "Signature" or "TYPE".
func unsignedThinking(raw json.RawMessage) bool {
	var blk map[string]json.RawMessage
	var typ, sig string
	if json.Unmarshal(raw, &blk) != nil || json.Unmarshal(blk["type"], &typ) != nil || typ != "thinking" {
		return false
	}
	s, ok := blk["signature"]
	return !ok || json.Unmarshal(s, &sig) == nil && isForeignSignature(sig)
}
