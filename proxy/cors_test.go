package proxy

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/config"
)

const pageOrigin = "https://app.example.com"

// TestCORS: a page of settings.allowed_origins can call the proxy the way a
// browser does (preflight, then the request, and read the answer, errors
// included); any other origin gets no CORS header and no answer.
func TestCORS(t *testing.T) {
	t.Parallel()
	type want struct {
		status int
		header map[string]string // "" means: absent
	}
	noCORS := map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": "", "Access-Control-Allow-Headers": ""}
	tests := []struct {
		name    string
		authKey string
		method  string
		path    string
		header  map[string]string
		want    want
	}{
		{
			name: "preflight from an allowed origin", method: "OPTIONS", path: "/v1/messages?beta=true",
			header: map[string]string{"Origin": pageOrigin, "Access-Control-Request-Method": "POST",
				"Access-Control-Request-Headers": "anthropic-version,content-type,x-api-key,anthropic-dangerous-direct-browser-access"},
			want: want{204, map[string]string{
				"Access-Control-Allow-Origin":  pageOrigin,
				"Access-Control-Allow-Methods": "POST",
				"Access-Control-Allow-Headers": "anthropic-version,content-type,x-api-key,anthropic-dangerous-direct-browser-access",
				"Access-Control-Max-Age":       "600",
				"Vary":                         "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
			}},
		},
		{
			name: "preflight needs no auth key", authKey: "proxy-key-123", method: "OPTIONS", path: "/v1/messages",
			header: map[string]string{"Origin": pageOrigin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"},
			want:   want{204, map[string]string{"Access-Control-Allow-Origin": pageOrigin, "Access-Control-Allow-Headers": "authorization,content-type"}},
		},
		{
			name: "preflight from a public page to loopback (Private Network Access)", method: "OPTIONS", path: "/v1/messages",
			header: map[string]string{"Origin": pageOrigin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Private-Network": "true"},
			want:   want{204, map[string]string{"Access-Control-Allow-Origin": pageOrigin, "Access-Control-Allow-Private-Network": "true"}},
		},
		{
			name: "preflight for a method the proxy does not serve", method: "OPTIONS", path: "/v1/messages",
			header: map[string]string{"Origin": pageOrigin, "Access-Control-Request-Method": "DELETE"},
			want:   want{204, noCORS},
		},
		{
			name: "preflight from another origin", method: "OPTIONS", path: "/v1/messages",
			header: map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
			want:   want{403, noCORS},
		},
		{
			name: "request from an allowed origin", method: "POST", path: "/v1/messages",
			header: map[string]string{"Origin": pageOrigin},
			want: want{200, map[string]string{"Access-Control-Allow-Origin": pageOrigin, "Vary": "Origin",
				"X-Provider-Used": "A", "Access-Control-Expose-Headers": corsExposed}},
		},
		{
			name: "an error to an allowed origin is readable", authKey: "proxy-key-123", method: "POST", path: "/v1/messages",
			header: map[string]string{"Origin": pageOrigin, "X-Api-Key": "wrong"},
			want:   want{401, map[string]string{"Access-Control-Allow-Origin": pageOrigin}},
		},
		{
			name: "request from another origin", method: "POST", path: "/v1/messages",
			header: map[string]string{"Origin": "https://evil.example"},
			want:   want{403, noCORS},
		},
		{
			name: "OPTIONS that is not a preflight", method: "OPTIONS", path: "/v1/messages",
			header: map[string]string{"Origin": pageOrigin},
			want:   want{405, map[string]string{"Access-Control-Allow-Methods": ""}},
		},
		{
			name: "no Origin, no CORS", method: "POST", path: "/v1/messages",
			want: want{200, map[string]string{"Access-Control-Allow-Origin": ""}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The upstream says any page may read its answers: only the
			// proxy decides that.
			up := newFaultServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Access-Control-Allow-Origin", "*")
				wireAnthropic.answer(w, false, "hi")
			}, false)
			e := newEnv(t, func(c *config.Config) {
				c.Settings.AllowedOrigins = []string{pageOrigin, "http://localhost:3000"}
				c.Settings.AuthKey = config.Secret(tt.authKey)
				c.Providers[0].AuthValue = "sk-provider-key"
			}, upSpec{name: "A", url: up.URL})
			var body io.Reader
			if tt.method == "POST" {
				body = strings.NewReader(string(claudeBody("claude-sonnet-5", false)))
			}
			req, _ := http.NewRequest(tt.method, e.front.URL+tt.path, body)
			req.Header.Set("Content-Type", "application/json")
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			got := map[string]string{}
			for k := range tt.want.header {
				got[k] = strings.Join(resp.Header.Values(k), ", ")
			}
			if resp.StatusCode != tt.want.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want.status)
			}
			if diff := cmp.Diff(tt.want.header, got); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
		})
	}
}
