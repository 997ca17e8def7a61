package proxy

import (
	"net/http"
	"strings"
)

// CORS for settings.allowed_origins, per the Fetch standard's CORS protocol
// (https://fetch.spec.whatwg.org/#http-cors-protocol). A page whose origin
// is allowed may call the proxy: its preflight (OPTIONS with
// Access-Control-Request-Method) is answered 204 with what it asked for, and
// every answer to it (errors included, so that the page can read them)
// carries Access-Control-Allow-Origin. Any other origin gets no CORS header
// at all, and its requests are refused before they reach a provider.
// Credentials mode "include" is not supported: the proxy uses no cookies,
// and keys travel in headers.

// corsMaxAge is how long a browser may cache a preflight's answer (seconds).
const corsMaxAge = "600"

// corsExposed are the response headers a page may read beyond the
// CORS-safelisted ones.
const corsExposed = "Request-Id, X-Provider-Used, Retry-After, Anthropic-Ratelimit-Requests-Remaining, " +
	"Anthropic-Ratelimit-Requests-Reset, Anthropic-Ratelimit-Tokens-Remaining, Anthropic-Ratelimit-Tokens-Reset"

// corsHeaders are the CORS response headers; an upstream's are never
// relayed, since the proxy alone decides who may read its answers.
var corsHeaders = []string{
	"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods",
	"Access-Control-Allow-Headers", "Access-Control-Expose-Headers", "Access-Control-Max-Age",
	"Access-Control-Allow-Private-Network",
}

// allowOrigin marks an answer to an allowed origin as readable by it.
func allowOrigin(h http.Header, origin string) {
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Expose-Headers", corsExposed)
}

// isPreflight reports whether r is a CORS preflight request.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// preflight answers a preflight from an allowed origin: the requested
// method if the proxy serves it, and the requested headers (echoed, since
// "*" never covers Authorization). Chrome's Private Network Access asks
// whether a public page may reach this loopback server: yes, for an allowed
// origin.
func preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
	method := r.Header.Get("Access-Control-Request-Method")
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		// No CORS headers: the browser fails the preflight.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
	h.Set("Access-Control-Allow-Methods", method)
	if req := r.Header.Values("Access-Control-Request-Headers"); len(req) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(req, ", "))
	}
	if strings.EqualFold(r.Header.Get("Access-Control-Request-Private-Network"), "true") {
		h.Set("Access-Control-Allow-Private-Network", "true")
	}
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
}
