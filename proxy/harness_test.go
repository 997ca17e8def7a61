package proxy

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/internal/fake"
	"github.com/ccbalancer/ccbalancer/proxy/sse"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testConfig routes "*sonnet*" over the given providers in priority order.
func testConfig(provs ...config.Provider) *config.Config {
	cfg := &config.Config{Settings: config.Defaults()}
	cfg.Settings.FailureCooldown = time.Minute
	cfg.Settings.RequestTimeout = 2 * time.Second
	cfg.Settings.StreamIdleTimeout = 2 * time.Second
	cfg.Settings.NonstreamTimeout = 2 * time.Second
	cfg.Settings.ConnectTimeout = time.Second
	r := config.Route{Pattern: "*sonnet*"}
	for i, p := range provs {
		if p.Type == "" {
			p.Type = config.TypeAnthropic
		}
		if p.AuthType == "" {
			p.AuthType = config.AuthAPIKey
		}
		if p.AuthValue == "" {
			p.AuthValue = config.Secret("sk-test-" + strings.ToLower(p.Name) + "-secret")
		}
		p.Enabled = true
		cfg.Providers = append(cfg.Providers, p)
		r.Entries = append(r.Entries, config.RouteEntry{Provider: p.Name, Model: config.Passthrough, Priority: i + 1})
	}
	cfg.Routes = []config.Route{r}
	return cfg
}

// env is a proxy in front of fake upstreams, all on loopback.
type env struct {
	t      testing.TB
	srv    *Server
	front  *httptest.Server
	client *http.Client
	ups    map[string]*fake.Upstream
}

type upSpec struct {
	name string
	url  string // when set, no fake is started (dead addresses)
}

func newEnv(t *testing.T, tweak func(*config.Config), specs ...upSpec) *env {
	return newEnvTB(t, tweak, specs...)
}

func newEnvTB(t testing.TB, tweak func(*config.Config), specs ...upSpec) *env {
	t.Helper()
	return newEnvOpts(t, tweak, Options{}, specs...)
}

// newEnvOpts is newEnv with the Server's options.
func newEnvOpts(t testing.TB, tweak func(*config.Config), opts Options, specs ...upSpec) *env {
	t.Helper()
	e := &env{t: t, ups: map[string]*fake.Upstream{}}
	var provs []config.Provider
	for _, sp := range specs {
		u := sp.url
		if u == "" {
			f := fake.New(sp.name)
			hs := httptest.NewServer(f)
			t.Cleanup(hs.Close)
			e.ups[sp.name] = f
			u = hs.URL
		}
		provs = append(provs, config.Provider{Name: sp.name, BaseURL: u})
	}
	cfg := testConfig(provs...)
	if tweak != nil {
		tweak(cfg)
	}
	srv, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	e.front = httptest.NewServer(srv.Handler())
	tr := &http.Transport{}
	e.client = &http.Client{Transport: tr}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		e.front.Close()
		srv.Close()
	})
	return e
}

func ups(names ...string) []upSpec {
	var out []upSpec
	for _, n := range names {
		out = append(out, upSpec{name: n})
	}
	return out
}

// claudeBody is a request shaped like Claude Code's (key order, system
// blocks, a role:"system" message inside messages).
func claudeBody(model string, stream bool) []byte {
	b := `{"model":"` + model + `","messages":[{"role":"user","content":[{"type":"text","text":"hello","cache_control":{"type":"ephemeral"}}]},` +
		`{"role":"system","content":"mid-conversation note"}],` +
		`"system":[{"type":"text","text":"a"},{"type":"text","text":"b","cache_control":{"type":"ephemeral"}}],` +
		`"tools":[],"metadata":{"user_id":"{\"device_id\":\"d\",\"session_id\":\"s\"}"},"max_tokens":64000,` +
		`"thinking":{"type":"adaptive"},"context_management":{"edits":[{"type":"clear_thinking_20251015","keep":"all"}]},"output_config":{"effort":"high"}`
	if stream {
		b += `,"stream":true`
	}
	return []byte(b + "}")
}

func (e *env) post(path string, body []byte, hdr map[string]string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.front.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Anthropic-Version", "2023-06-01")
	req.Header.Set("X-Api-Key", "client-key")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// send posts a messages request and reads the whole answer; readErr is the
// error the client's HTTP library reported while reading the body.
func (e *env) send(stream bool, hdr map[string]string) (resp *http.Response, body string, readErr error) {
	e.t.Helper()
	resp = e.post("/v1/messages?beta=true", claudeBody("claude-sonnet-5", stream), hdr)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

type provJSON struct {
	Name               string  `json:"name"`
	Healthy            bool    `json:"healthy"`
	State              string  `json:"state"`
	FailureCount       int     `json:"failure_count"`
	CooldownRemainingS float64 `json:"cooldown_remaining_s"`
	LastError          string  `json:"last_error"`
	Requests           int64   `json:"requests"`
}

func (e *env) providers() map[string]provJSON {
	e.t.Helper()
	resp, err := e.client.Get(e.front.URL + "/providers")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Providers []provJSON `json:"providers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		e.t.Fatal(err)
	}
	m := map[string]provJSON{}
	for _, p := range out.Providers {
		m[p.Name] = p
	}
	return m
}

// refusedURL is a loopback address nothing listens on.
func refusedURL(t *testing.T) string { return refusedURLB(t) }

func refusedURLB(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// blackholeURL is a loopback listener whose accept queue is full and which
// never accepts, so new connections hang in the handshake until the dialer's
// connect timeout.
func blackholeURL(t *testing.T) string {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	// Fill the accept queue.
	for range 4 {
		d := net.Dialer{Timeout: 200 * time.Millisecond}
		if c, err := d.Dial("tcp", addr); err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}
	return "http://" + addr
}

// streamText joins the text deltas of an SSE body.
func streamText(t *testing.T, body string) string {
	t.Helper()
	r := sse.NewReader(strings.NewReader(body), 0)
	var b strings.Builder
	for {
		ev, err := r.Next()
		if err != nil {
			return b.String()
		}
		if ev.Name != "content_block_delta" {
			continue
		}
		var d struct {
			Delta struct {
				Text string `json:"text"`
			} `json:"delta"`
		}
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			t.Fatalf("bad delta %s: %v", ev.Data, err)
		}
		b.WriteString(d.Delta.Text)
	}
}

// waitIdle waits until the proxy has finished every request handler, so
// that what a handler would still do after its client left can be checked.
func (e *env) waitIdle() {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for e.srv.inFlight.Load() != 0 || e.srv.flights.Active() != 0 {
		if time.Now().After(deadline) {
			e.t.Fatal("request handlers still running")
		}
		time.Sleep(time.Millisecond)
	}
}

func configProvider(name, url string) config.Provider {
	return config.Provider{Name: name, BaseURL: url}
}
