package openai

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomID returns prefix followed by 24 random characters, the shape of
// Anthropic's ids (msg_..., toolu_...).
func randomID(prefix string) string {
	var b [24]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics rather than return an error)
	out := make([]byte, len(prefix), len(prefix)+len(b))
	copy(out, prefix)
	for _, c := range b {
		out = append(out, idAlphabet[int(c)%len(idAlphabet)])
	}
	return string(out)
}

// anthropicID derives an Anthropic-form id from an upstream one, so that the
// same upstream answer always gives the same ids (the streamed and
// non-streamed paths agree). Anthropic accepts only [A-Za-z0-9_-] in ids,
// which matters when a conversation later fails over to an Anthropic
// provider. An empty upstream id gets a random one.
func anthropicID(prefix, upstream string, gen func(string) string) string {
	if upstream == "" {
		return gen(prefix)
	}
	if strings.HasPrefix(upstream, prefix) {
		prefix = ""
	}
	b := make([]byte, 0, len(prefix)+len(upstream))
	b = append(b, prefix...)
	for i := 0; i < len(upstream); i++ {
		c := upstream[i]
		if isAlnum(c) || c == '_' || c == '-' {
			b = append(b, c)
		} else {
			b = append(b, '_')
		}
	}
	return string(b)
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Tool-call ids. The upstream must get back exactly the id it issued (Kimi
// issues "functions.Bash:0" and checks it), while the client sees ids that
// Anthropic accepts ([A-Za-z0-9_-]) and that are unique across the whole
// conversation (some servers issue "name:0" on every turn). Both hold with
// ids that carry the upstream's id inside them, so the mapping survives a
// restart and needs no memory:
//
//	toolu_<nonce>_<upstream id, escaped>
//
// nonce is 8 characters of [A-Za-z0-9], new for every call; in the escaped
// id every byte outside [A-Za-z0-9_] is written "-" and two upper-case hex
// digits ("functions.Bash:0" becomes "functions-2EBash-3A0"). An
// Anthropic id (toolu_ and 24 characters of [A-Za-z0-9]) never has an
// underscore where this form has one, so the two are told apart.

const (
	toolIDPrefix = "toolu_"
	nonceLen     = 8
)

// clientToolID returns the client's id for a tool call the upstream named
// upstream; nonce is 8 characters of [A-Za-z0-9].
func clientToolID(nonce, upstream string) string {
	b := make([]byte, 0, len(toolIDPrefix)+nonceLen+1+len(upstream)+8)
	b = append(b, toolIDPrefix...)
	b = append(b, nonce...)
	b = append(b, '_')
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(upstream); i++ {
		c := upstream[i]
		if isAlnum(c) || c == '_' {
			b = append(b, c)
		} else {
			b = append(b, '-', hexDigits[c>>4], hexDigits[c&0xf])
		}
	}
	return string(b)
}

// upstreamToolID returns the upstream id a client id carries (clientToolID),
// or ok=false for an id of another form, which goes upstream as it is.
func upstreamToolID(id string) (upstream string, ok bool) {
	const head = len(toolIDPrefix) + nonceLen
	if len(id) <= head+1 || !strings.HasPrefix(id, toolIDPrefix) || id[head] != '_' {
		return "", false
	}
	for i := len(toolIDPrefix); i < head; i++ {
		if !isAlnum(id[i]) {
			return "", false
		}
	}
	enc := id[head+1:]
	b := make([]byte, 0, len(enc))
	for i := 0; i < len(enc); i++ {
		c := enc[i]
		switch {
		case isAlnum(c) || c == '_':
			b = append(b, c)
		case c == '-' && i+2 < len(enc) && isUpperHex(enc[i+1]) && isUpperHex(enc[i+2]):
			b = append(b, unhex(enc[i+1])<<4|unhex(enc[i+2]))
			i += 2
		default:
			return "", false
		}
	}
	return string(b), true
}

func isUpperHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'A' + 10
}

// sentToolID is the id a tool call of the history goes upstream with: the
// upstream's own id where the client id carries one, else the client's id,
// made to fit the family's id rule (Mistral: 9 characters of [A-Za-z0-9]) by
// a hash when it does not, the same for the call and its result.
func sentToolID(f *Family, clientID string) string {
	id, ok := upstreamToolID(clientID)
	if !ok {
		id = clientID
	}
	if r := f.toolIDs; r != nil && !r.valid(id) {
		sum := sha256.Sum256([]byte(id))
		b := make([]byte, r.length)
		for i := range b {
			b[i] = idAlphabet[int(sum[i])%len(idAlphabet)]
		}
		id = string(b)
	}
	return id
}

func (r *idRule) valid(id string) bool {
	if len(id) != r.length {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !isAlnum(id[i]) {
			return false
		}
	}
	return true
}

// Function names. Claude takes tool names up to 128 characters of
// [A-Za-z0-9_-]; OpenAI-style APIs stop at 64 and some want a letter first
// (nameRule). A name the family's rule refuses goes upstream as a valid name
// derived from it, the same on every turn: invalid characters replaced by
// "_", "t_" in front where a letter must come first, cut to leave room, and
// "_" and 8 hex digits of its SHA-256 at the end, so that two names never
// map to one. Answers map the names back (Request.ToolNames).

// upstreamName returns the name a client tool name goes upstream with.
func (r nameRule) upstreamName(name string) string {
	if r.valid(name) {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	suffix := "_" + hex.EncodeToString(sum[:4])
	b := make([]byte, 0, r.max)
	if r.letterFirst && (name == "" || !isLetterOrUnderscore(name[0])) {
		b = append(b, "t_"...)
	}
	for i := 0; i < len(name) && len(b) < r.max-len(suffix); i++ {
		c := name[i]
		if isAlnum(c) || c == '_' || c == '-' || strings.IndexByte(r.extra, c) >= 0 {
			b = append(b, c)
		} else {
			b = append(b, '_')
		}
	}
	return string(append(b, suffix...))
}

func (r nameRule) valid(name string) bool {
	if name == "" || len(name) > r.max {
		return false
	}
	if r.letterFirst && !isLetterOrUnderscore(name[0]) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isAlnum(c) && c != '_' && c != '-' && strings.IndexByte(r.extra, c) < 0 {
			return false
		}
	}
	return true
}

func isLetterOrUnderscore(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}
