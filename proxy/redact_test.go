package proxy

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/config"
)

const testKey = "sk-ant-api03-Zq8xR2mKpL5vN7wT3yH6bJ9cF4dG1sA0"

// leak returns the first run of minEcho characters of secret found in s.
func leak(s, secret string) string {
	for i := 0; i+minEcho <= len(secret); i++ {
		if strings.Contains(s, secret[i:i+minEcho]) {
			return secret[i : i+minEcho]
		}
	}
	return ""
}

// naiveRedact is the definition the redactor must meet: from left to
// right, the longest run of at least minEcho characters that occurs in a
// secret is replaced.
func naiveRedact(s string, secrets []string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		best := 0
		for _, sec := range secrets {
			for n := len(s) - i; n >= minEcho && n > best; n-- {
				if strings.Contains(sec, s[i:i+n]) {
					best = n
				}
			}
		}
		if best > 0 {
			b.WriteString(redacted)
			i += best
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

func TestRedactor(t *testing.T) {
	t.Parallel()
	other := "sk-or-v1-0123456789abcdef"
	rd := newRedactor(testKey, other, "short7x", "abc")
	tests := []struct{ in, want string }{
		{"no secret here", "no secret here"},
		{"key " + testKey + " rejected", "key [REDACTED] rejected"},
		{"Incorrect API key provided: " + testKey[:14] + "****", "Incorrect API key provided: [REDACTED]****"},
		{"middle " + testKey[10:18] + ".", "middle [REDACTED]."},
		{"seven " + testKey[10:17] + " stays", "seven " + testKey[10:17] + " stays"},
		{testKey + testKey, "[REDACTED][REDACTED]"},
		{testKey + "," + other, "[REDACTED],[REDACTED]"},
		{"x" + testKey[3:] + "y", "x[REDACTED]y"},
		{"a short7x b", "a [REDACTED] b"},
		{"abc stays: too short to redact", "abc stays: too short to redact"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := rd.string(tt.in); got != tt.want {
			t.Errorf("string(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := string(rd.bytes([]byte(tt.in))); got != tt.want {
			t.Errorf("bytes(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Every echo of 8 or more characters, at every alignment.
	for n := minEcho; n <= len(testKey); n++ {
		for off := 0; off+n <= len(testKey); off++ {
			for pad := range 4 {
				in := strings.Repeat("·", pad) + testKey[off:off+n] + "\n"
				if got := rd.string(in); leak(got, testKey) != "" {
					t.Fatalf("string(%q) = %q leaks", in, got)
				}
			}
		}
	}
	var nilRD *redactor
	if got := nilRD.string(testKey); got != testKey {
		t.Errorf("a nil redactor changed %q", got)
	}
	h := http.Header{"Request-Id": {"req_" + testKey[4:20]}, "X-Other": {"fine"}}
	rd.header(h)
	if diff := cmp.Diff(http.Header{"Request-Id": {"req_[REDACTED]"}, "X-Other": {"fine"}}, h); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
}

// TestRedactorMatchesDefinition compares the redactor with naiveRedact on
// random texts sprinkled with parts of the secrets.
func TestRedactorMatchesDefinition(t *testing.T) {
	t.Parallel()
	secrets := []string{testKey, "sk-proj-ABCDEFGHabcdefgh01234567", "sk-proj-ABCDzzzz"}
	rd := newRedactor(secrets...)
	rng := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		var b strings.Builder
		for b.Len() < 200 {
			if rng.IntN(3) == 0 {
				s := secrets[rng.IntN(len(secrets))]
				i := rng.IntN(len(s))
				j := i + rng.IntN(len(s)-i+1)
				b.WriteString(s[i:j])
			} else {
				b.WriteByte("ab-k0 \"{"[rng.IntN(8)])
			}
		}
		in := b.String()
		if got, want := rd.string(in), naiveRedact(in, secrets); got != want {
			t.Fatalf("redact(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}

func FuzzRedact(f *testing.F) {
	secrets := []string{testKey, "sk-proj-ABCDEFGHabcdefgh01234567"}
	rd := newRedactor(secrets...)
	f.Add("key " + testKey + " rejected")
	f.Add(testKey[5:13] + testKey[20:40])
	f.Fuzz(func(t *testing.T, in string) {
		got := rd.string(in)
		if want := naiveRedact(in, secrets); got != want {
			t.Fatalf("redact(%q)\n got %q\nwant %q", in, got, want)
		}
		if b := string(rd.bytes([]byte(in))); b != got {
			t.Fatalf("bytes and string differ: %q, %q", b, got)
		}
	})
}

// TestSecretsNeverLeaveTheProxy: a provider that echoes its key, whole or
// in part, in any status's body or headers, streamed or not, never gets it
// to the client, /providers or events.
func TestSecretsNeverLeaveTheProxy(t *testing.T) {
	t.Parallel()
	part := testKey[9:27] // an echo cut at both ends
	answer := func(w wire, stream bool, text string, header ...string) http.HandlerFunc {
		return func(rw http.ResponseWriter, r *http.Request) {
			for i := 0; i+1 < len(header); i += 2 {
				rw.Header().Set(header[i], header[i+1])
			}
			w.answer(rw, stream, text)
		}
	}
	refuse := func(code int, w wire, msg string, header ...string) http.HandlerFunc {
		return func(rw http.ResponseWriter, r *http.Request) {
			status(code, header...)(rw, r)
			io.WriteString(rw, w.errorBody(msg))
		}
	}
	cases := []struct {
		name    string
		handler func(w wire, stream bool) http.HandlerFunc
	}{
		{"400 body, whole key", func(w wire, _ bool) http.HandlerFunc { return refuse(400, w, "bad key "+testKey) }},
		{"400 body, partial", func(w wire, _ bool) http.HandlerFunc { return refuse(400, w, "bad key "+part+"...") }},
		{"400 header", func(w wire, _ bool) http.HandlerFunc { return refuse(400, w, "bad request", "X-Echo", testKey) }},
		{"422 header, partial", func(w wire, _ bool) http.HandlerFunc { return refuse(422, w, "bad", "Request-Id", "req_"+part) }},
		{"401 body, partial", func(w wire, _ bool) http.HandlerFunc { return refuse(401, w, "invalid x-api-key "+part) }},
		{"529 body, partial", func(w wire, _ bool) http.HandlerFunc { return refuse(529, w, "overloaded for "+part) }},
		{"200 answer", func(w wire, stream bool) http.HandlerFunc { return answer(w, stream, "your key is "+testKey) }},
		{"200 answer, partial", func(w wire, stream bool) http.HandlerFunc { return answer(w, stream, "it ends in "+part) }},
		{"200 header", func(w wire, stream bool) http.HandlerFunc {
			return answer(w, stream, "fine", "Request-Id", "req_"+part, "Anthropic-Ratelimit-Note", testKey)
		}},
	}
	for _, c := range cases {
		for _, w := range []wire{wireAnthropic, wireOpenAI} {
			for _, stream := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/%s/stream=%v", c.name, w, stream), func(t *testing.T) {
					t.Parallel()
					fs := newFaultServer(t, c.handler(w, stream), false)
					url := fs.URL
					if w == wireOpenAI {
						url += "/v1"
					}
					e := newEnv(t, func(cfg *config.Config) {
						cfg.Providers[0].Type = config.ProviderType(w)
						cfg.Providers[0].AuthValue = testKey
						cfg.Routes[0].Entries = cfg.Routes[0].Entries[:1]
					}, upSpec{name: "A", url: url})
					events, cancel := e.srv.Subscribe()
					defer cancel()
					resp, body, _ := e.send(stream, nil)
					var hdr strings.Builder
					resp.Header.Write(&hdr)
					if l := leak(body, testKey); l != "" {
						t.Errorf("the client's body (%d) holds %q: %s", resp.StatusCode, l, body)
					}
					if l := leak(hdr.String(), testKey); l != "" {
						t.Errorf("the client's headers hold %q:\n%s", l, hdr.String())
					}
					if l := leak(e.providers()["A"].LastError, testKey); l != "" {
						t.Errorf("/providers last_error holds %q", l)
					}
					cancel()
					for ev := range events {
						if l := leak(ev.Reason, testKey); l != "" {
							t.Errorf("event %s holds %q", ev.Kind, l)
						}
					}
				})
			}
		}
	}
}

// TestHeaderSecretsNeverLeave: the values of a provider's credential
// headers (by name, or read from the environment or the keyring) are
// redacted like its keys, in answers, errors and /providers; other header
// values are not secrets and stay.
func TestHeaderSecretsNeverLeave(t *testing.T) {
	t.Parallel()
	const (
		byName  = "hdrsecret-ZZZZ99998888777766665555"
		fromEnv = "envsecret-YYYY44443333222211110000"
		plain   = "ccbalancer-title"
	)
	echo := "got X-Custom-Auth=" + byName + " X-Other=" + fromEnv + " X-Title=" + plain
	for _, code := range []int{200, 400, 500} {
		for _, w := range []wire{wireAnthropic, wireOpenAI} {
			t.Run(fmt.Sprintf("%d/%s", code, w), func(t *testing.T) {
				t.Parallel()
				fs := newFaultServer(t, func(rw http.ResponseWriter, r *http.Request) {
					if code == 200 {
						w.answer(rw, false, echo)
						return
					}
					status(code)(rw, r)
					io.WriteString(rw, w.errorBody(echo))
				}, false)
				url := fs.URL
				if w == wireOpenAI {
					url += "/v1"
				}
				e := newEnv(t, func(cfg *config.Config) {
					p := &cfg.Providers[0]
					p.Type = config.ProviderType(w)
					p.Headers = map[string]string{"X-Custom-Auth": byName, "X-Other": fromEnv, "X-Title": plain}
					p.SecretHeaders = map[string]bool{"X-Other": true}
					cfg.Routes[0].Entries = cfg.Routes[0].Entries[:1]
				}, upSpec{name: "A", url: url})
				_, body, _ := e.send(false, nil)
				for _, secret := range []string{byName, fromEnv} {
					if l := leak(body, secret); l != "" {
						t.Errorf("the client's body holds %q: %s", l, body)
					}
					if l := leak(e.providers()["A"].LastError, secret); l != "" {
						t.Errorf("/providers last_error holds %q", l)
					}
				}
				if code != 500 && !strings.Contains(body, plain) {
					t.Errorf("a header value that is no secret was redacted: %s", body)
				}
			})
		}
	}
}

// BenchmarkRedact measures the search on text that holds no secret (the
// hot path: every streamed event and every answer): a stream event and a
// large answer.
func BenchmarkRedact(b *testing.B) {
	rd := newRedactor(testKey, "sk-proj-ABCDEFGHabcdefgh01234567", "sk-or-v1-0123456789abcdef0123456789abcdef")
	event := []byte(`event: content_block_delta` + "\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Here is the function you asked for, with the error handling that was missing."}}` + "\n\n")
	answer := []byte(strings.Repeat(`{"type":"text","text":"func main() { fmt.Println(\"hello, world\") } // sk-and-more ab-cd"},`, 1500))
	for _, in := range []struct {
		name string
		b    []byte
	}{{"event", event}, {"answer100KB", answer}} {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.b)))
			b.ReportAllocs()
			for b.Loop() {
				if out := rd.bytes(in.b); len(out) != len(in.b) {
					b.Fatal("redacted")
				}
			}
		})
	}
}

// TestURLUserInfoHidden: a base_url with user info serves (the user info is
// sent as basic authentication) and is never shown: not in /providers, not in
// a snapshot, not in a failure reason.
func TestURLUserInfoHidden(t *testing.T) {
	t.Parallel()
	const pw = "pa55-w0rd-secret"
	dead := refusedURL(t)
	e := newEnv(t, func(c *config.Config) {
		for i := range c.Providers {
			c.Providers[i].BaseURL = strings.Replace(c.Providers[i].BaseURL, "http://", "http://user:"+pw+"@", 1)
		}
		c.Providers[0].BaseURL = strings.Replace(dead, "http://", "http://tok3n-as-user-name@", 1)
	}, upSpec{name: "A", url: "unused"}, upSpec{name: "B"})
	resp, body, err := e.send(false, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %v %s", resp.StatusCode, err, body)
	}
	if got := e.ups["B"].Requests()[0].Header.Get("Authorization"); !strings.HasPrefix(got, "Basic ") {
		t.Errorf("B got Authorization %q, want the URL's user info as basic authentication", got)
	}
	r, err := e.client.Get(e.front.URL + "/providers")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	out := string(b) + fmt.Sprintf("%+v", e.srv.Snapshot())
	for _, secret := range []string{pw, "tok3n-as-user-name"} {
		if strings.Contains(out, secret) {
			t.Errorf("/providers or the snapshot shows %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(string(b), `"base_url": "http://[REDACTED]@127.0.0.1:`) {
		t.Errorf("/providers does not show the redacted base_url: %s", b)
	}
}
