package proxy

import (
	"net/http"
	"strings"

	"github.com/ccbalancer/ccbalancer/config"
)

// hopHeaders are not forwarded in either direction (RFC 9110 section 7.6.1).
var hopHeaders = map[string]bool{
	"Connection": true, "Proxy-Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// clientOnly are request headers that never go upstream as the client sent them.
var clientOnly = map[string]bool{
	"X-Api-Key": true, "Authorization": true, "Host": true, "Content-Length": true,
	// The transport negotiates compression itself and decodes it, so that
	// streams can be read event by event.
	"Accept-Encoding": true,
	// The profile header is for this proxy alone.
	profileHeader: true,
}

// upstreamOnly are response headers that never reach the client: lengths we
// set ourselves, a redirect's target, which is never followed nor shown,
// and CORS headers, which the proxy alone sets (cors.go).
var upstreamOnly = func() map[string]bool {
	m := map[string]bool{"Content-Length": true, "Location": true}
	for _, h := range corsHeaders {
		m[h] = true
	}
	return m
}()

func copyRequestHeaders(dst, src http.Header) {
	for k, vs := range src {
		if hopHeaders[k] || clientOnly[k] {
			continue
		}
		dst[k] = vs
	}
}

// copyResponseHeader copies to dst the upstream's response header as the
// client may see it.
func copyResponseHeader(dst, src http.Header) {
	for k, vs := range src {
		if hopHeaders[k] || upstreamOnly[k] {
			continue
		}
		dst[k] = vs
	}
}

// stripOAuthBetas removes from anthropic-beta the flags that only a Claude
// subscription's OAuth login may send (oauth-2025-04-20, as Claude Code
// sends it with a subscription; any "oauth-" flag): a provider that gets
// an API key instead rejects a request that carries them. The header goes
// when no flag is left.
func stripOAuthBetas(h http.Header) {
	vs := h.Values("Anthropic-Beta")
	if len(vs) == 0 {
		return
	}
	var keep []string
	changed := false
	for _, v := range vs {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if f == "" || strings.HasPrefix(strings.ToLower(f), "oauth-") {
				changed = true
				continue
			}
			keep = append(keep, f)
		}
	}
	if !changed {
		return
	}
	h.Del("Anthropic-Beta")
	if len(keep) > 0 {
		h.Set("Anthropic-Beta", strings.Join(keep, ","))
	}
}

// setAuth puts the provider's credential (key, from 0, of its keys) on the
// upstream request. With auth_value passthrough the client's own credential
// is forwarded, except the one that authenticated the client to this proxy
// (settings.auth_key): that key is the proxy's, never a provider's. ok is
// false when nothing is left to pass through.
func setAuth(h http.Header, p config.Provider, key int, client http.Header, authKey config.Secret) (ok bool) {
	if p.AuthValue.IsPassthrough() {
		key := authKey.Reveal()
		if v := client.Get("X-Api-Key"); v != "" && (key == "" || v != key) {
			h.Set("X-Api-Key", v)
			return true
		}
		if v := client.Get("Authorization"); v != "" {
			token := strings.TrimPrefix(v, "Bearer ")
			if key == "" || token != key {
				h.Set("Authorization", v)
				return true
			}
		}
		return false
	}
	v := p.Credentials()[key].Reveal()
	if p.Type == config.TypeOpenAI || p.AuthType == config.AuthAuthToken {
		h.Set("Authorization", "Bearer "+v)
	} else {
		h.Set("X-Api-Key", v)
	}
	return true
}
