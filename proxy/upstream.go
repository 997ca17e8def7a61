package proxy

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
)

// upstream is one configured provider with its pooled HTTP client.
type upstream struct {
	cfg     config.Provider
	dialect dialect
	base    *url.URL
	// transport is owned by this upstream: one keep-alive pool per provider.
	transport *http.Transport
	client    *http.Client
}

// newUpstream builds the provider's transport: keep-alive with a large idle
// pool (Go's default of 2 idle connections per host would make every
// concurrent request beyond two dial anew), HTTP/2 where the server offers it,
// the configured connect timeout and optional outbound proxy.
func newUpstream(p config.Provider, s config.Settings, version string) (*upstream, error) {
	base, err := url.Parse(p.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("provider %s: base_url %s is not a URL", p.Name, p.DisplayURL())
	}
	// TCP keep-alive probes find a dead connection while a non-streamed
	// answer is awaited for minutes with no byte on the wire: after 15 s of
	// silence, a probe every 15 s, four unanswered probes close it.
	dialer := &net.Dialer{Timeout: s.ConnectTimeout, KeepAliveConfig: net.KeepAliveConfig{
		Enable: true, Idle: 15 * time.Second, Interval: 15 * time.Second, Count: 4}}
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   s.ConnectTimeout,
		ExpectContinueTimeout: time.Second,
		// Responses are relayed as they arrive; a large read buffer saves
		// syscalls on big JSON answers without delaying stream events.
		ReadBufferSize:  32 << 10,
		WriteBufferSize: 32 << 10,
	}
	if p.Proxy != "" {
		pu, err := url.Parse(p.Proxy)
		if err != nil {
			return nil, fmt.Errorf("provider %s: proxy: %w", p.Name, err)
		}
		t.Proxy = http.ProxyURL(pu)
	}
	var d dialect = anthropicDialect{}
	if p.Type == config.TypeOpenAI {
		od, err := newOpenAIDialect(p, version)
		if err != nil {
			return nil, fmt.Errorf("provider %s: %w", p.Name, err)
		}
		d = od
	}
	return &upstream{
		cfg:       p,
		dialect:   d,
		base:      base,
		transport: t,
		// No client timeout: first-byte and idle timeouts are enforced per
		// request, since a whole stream may legitimately last many minutes.
		client: &http.Client{
			Transport: t,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}, nil
}

// endpoint returns the upstream URL for path, keeping the client's raw query.
func (u *upstream) endpoint(path, rawQuery string) string {
	v := *u.base
	v.Path = singleJoin(u.base.Path, path)
	v.RawPath = ""
	v.RawQuery = rawQuery
	return v.String()
}

func singleJoin(a, b string) string {
	switch {
	case a == "":
		return b
	case a[len(a)-1] == '/' && b != "" && b[0] == '/':
		return a + b[1:]
	case a[len(a)-1] != '/' && b != "" && b[0] != '/':
		return a + "/" + b
	}
	return a + b
}

func (u *upstream) close() { u.transport.CloseIdleConnections() }
