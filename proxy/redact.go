package proxy

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/ccbalancer/ccbalancer/config"
)

const (
	// minEcho is the shortest run of a secret's characters that is redacted
	// where it appears: providers echo keys whole, cut ("sk-ant-api03-Ab…"),
	// or masked around a middle part.
	minEcho = 8
	// redacted replaces each echo.
	redacted = "[REDACTED]"
)

// redactor removes secrets from what leaves the proxy: the bodies and
// headers of every answer (relayed, streamed or built here), and the
// failure reasons that reach logs, /providers, events and notifications. A
// secret is redacted whole and in part: any minEcho or more of its
// characters in a row. Secrets shorter than minEcho are redacted whole.
//
// The search costs about one multiply and one bit test per 4 bytes of text:
// an echo of at least minEcho (8) bytes contains 4 bytes of its secret that
// start at a multiple of 4 in the text, so only those windows are looked up
// in a filter of the secrets' 4-byte windows, and only a hit is compared
// with the secrets. A nil *redactor redacts nothing.
type redactor struct {
	secrets []string
	short   []string // shorter than minEcho: only whole
	filter  [filterBits / 64]uint64
	windows map[uint32][]window
}

// window is where a 4-byte window occurs in a secret.
type window struct{ secret, off int }

const filterBits = 1 << 16

// newRedactor returns a redactor for the secrets, or nil when there is none
// (secrets shorter than 4 bytes are not redacted: they would match by
// chance).
func newRedactor(secrets ...string) *redactor {
	var r *redactor
	seen := map[string]bool{}
	for _, s := range secrets {
		if len(s) < 4 || seen[s] {
			continue
		}
		seen[s] = true
		if r == nil {
			r = &redactor{windows: map[uint32][]window{}}
		}
		if len(s) < minEcho {
			r.short = append(r.short, s)
			continue
		}
		id := len(r.secrets)
		r.secrets = append(r.secrets, s)
		for off := 0; off+4 <= len(s); off++ {
			g := word(s, off)
			r.windows[g] = append(r.windows[g], window{id, off})
			h := hash(g)
			r.filter[h/64] |= 1 << (h % 64)
		}
	}
	return r
}

// with returns a redactor for r's secrets and more.
func (r *redactor) with(more ...string) *redactor {
	if r == nil {
		return newRedactor(more...)
	}
	all := append(append(append([]string{}, r.secrets...), r.short...), more...)
	return newRedactor(all...)
}

// secretsOf lists what a configuration holds that must never leave the
// proxy: its providers' (providerSecrets) and the proxy's own auth_key.
func secretsOf(cfg *config.Config) []string {
	var out []string
	for _, p := range cfg.Providers {
		out = append(out, providerSecrets(p)...)
	}
	return append(out, cfg.Settings.AuthKey.Reveal())
}

// providerSecrets are a provider's credentials (every key, the credential
// headers among its headers) and the user info of its URLs (a password, or
// a token as user name).
func providerSecrets(p config.Provider) []string {
	var out []string
	for _, k := range p.Credentials() {
		if !k.IsPassthrough() {
			out = append(out, k.Reveal())
		}
	}
	out = append(out, p.HeaderSecrets()...)
	for _, raw := range []string{p.BaseURL, p.Proxy} {
		if u, err := url.Parse(raw); err == nil && u.User != nil {
			out = append(out, u.User.Username())
			if pw, ok := u.User.Password(); ok {
				out = append(out, pw)
			}
		}
	}
	return out
}

func word[T string | []byte](b T, i int) uint32 {
	return uint32(b[i]) | uint32(b[i+1])<<8 | uint32(b[i+2])<<16 | uint32(b[i+3])<<24
}

func hash(g uint32) uint32 { return (g * 0x9E3779B1) >> 16 }

// next finds the first echo in b that starts at or after from: [start, end),
// or end < 0 when there is none.
func next[T string | []byte](r *redactor, b T, from int) (start, end int) {
	start, end = -1, -1
	for q := (from + 3) &^ 3; q+4 <= len(b); q += 4 {
		h := hash(word(b, q))
		if r.filter[h/64]&(1<<(h%64)) == 0 {
			continue
		}
		for _, w := range r.windows[word(b, q)] {
			s := r.secrets[w.secret]
			l := 0
			for q-l > from && w.off-l > 0 && b[q-l-1] == s[w.off-l-1] {
				l++
			}
			n := 4
			for q+n < len(b) && w.off+n < len(s) && b[q+n] == s[w.off+n] {
				n++
			}
			if l+n >= minEcho && (end < 0 || q-l < start || q-l == start && q+n > end) {
				start, end = q-l, q+n
			}
		}
		if end >= 0 {
			// A match found at q may start in the 3 bytes before it, which
			// an earlier q has already ruled out; nothing later starts
			// earlier, and among equal starts the longest was kept.
			return start, end
		}
	}
	return -1, -1
}

// bytes returns b with every echo replaced; b itself when there is none.
func (r *redactor) bytes(b []byte) []byte {
	if r == nil {
		return b
	}
	var out []byte
	last := 0
	for len(r.secrets) > 0 {
		start, end := next(r, b, last)
		if end < 0 {
			break
		}
		if out == nil {
			out = make([]byte, 0, len(b))
		}
		out = append(append(out, b[last:start]...), redacted...)
		last = end
	}
	if out != nil {
		b = append(out, b[last:]...)
	}
	for _, s := range r.short {
		if strings.Contains(string(b), s) {
			b = []byte(strings.ReplaceAll(string(b), s, redacted))
		}
	}
	return b
}

// string returns s with every echo replaced.
func (r *redactor) string(s string) string {
	if r == nil {
		return s
	}
	var out strings.Builder
	last := 0
	for len(r.secrets) > 0 {
		start, end := next(r, s, last)
		if end < 0 {
			break
		}
		out.WriteString(s[last:start])
		out.WriteString(redacted)
		last = end
	}
	if last > 0 {
		out.WriteString(s[last:])
		s = out.String()
	}
	for _, sh := range r.short {
		s = strings.ReplaceAll(s, sh, redacted)
	}
	return s
}

// header redacts every header value in place.
func (r *redactor) header(h http.Header) {
	if r == nil {
		return
	}
	for _, vs := range h {
		for i, v := range vs {
			vs[i] = r.string(v)
		}
	}
}
