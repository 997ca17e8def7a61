package anthropic

import "encoding/json"

// StripUnsignedThinking removes thinking blocks that carry no signature from
// the request's messages. Such blocks come from OpenAI-compatible providers'
// reasoning (which has no signature); an Anthropic provider rejects them, so
// a session that fails over from one to the other must not send them. The
// body is returned as it is (no copy) when it has none, which Peek has
// already settled for almost every request (f.UnsignedThinking).
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
// no signature (absent, null or ""). Keys match exactly, as the Messages API
// reads them: a struct decode would also take "Signature" or "TYPE".
func unsignedThinking(raw json.RawMessage) bool {
	var blk map[string]json.RawMessage
	var typ, sig string
	if json.Unmarshal(raw, &blk) != nil || json.Unmarshal(blk["type"], &typ) != nil || typ != "thinking" {
		return false
	}
	s, ok := blk["signature"]
	return !ok || json.Unmarshal(s, &sig) == nil && sig == ""
}
