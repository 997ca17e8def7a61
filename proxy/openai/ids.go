package openai

import (
	"crypto/rand"
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
// non-streamed paths agree). Anthropic accepts only [A-Za-z0-9_-] in tool
// ids, which matters when a conversation later fails over to an Anthropic
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
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b = append(b, c)
		} else {
			b = append(b, '_')
		}
	}
	return string(b)
}
