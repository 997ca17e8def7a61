// Package demo runs ccbalancer's built-in demo: two simulated Anthropic
// providers on loopback (one steady, one that fails every few requests) and
// an optional trickle of sample requests, so a newcomer sees routing,
// failover, cooldown and recovery with no keys.
package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/internal/fake"
)

// FlakyEvery is how often the flaky provider fails: every FlakyEvery-th request gets a 529.
const FlakyEvery = 3

// Providers are the running simulated providers.
type Providers struct {
	servers []*http.Server
	wg      sync.WaitGroup
}

// Start starts the simulated providers and returns a configuration that
// routes every model to them: "Flaky" first, "Steady" as its fallback.
func Start(listen string) (*Providers, *config.Config, error) {
	flaky := fake.New("Flaky")
	flaky.SetScript(func(n int, _ *http.Request) fake.Reply {
		if n%FlakyEvery == 0 {
			return fake.Reply{Mode: fake.Status, Status: 529, Message: "Overloaded (simulated)"}
		}
		return fake.Reply{Text: "Hello from the Flaky provider, streamed word by word.", Deltas: 8, Gap: 40 * time.Millisecond}
	})
	steady := fake.New("Steady")
	steady.Always(fake.Reply{Text: "Hello from the Steady provider, streamed word by word.", Deltas: 8, Gap: 40 * time.Millisecond})

	p := &Providers{}
	cfg := &config.Config{Settings: config.Defaults()}
	cfg.Settings.FailureCooldown = 10 * time.Second
	cfg.Settings.LogFile = "demo.jsonl"
	if listen != "" {
		host, port, err := net.SplitHostPort(listen)
		if err != nil {
			return nil, nil, fmt.Errorf("demo: --listen %q: %w", listen, err)
		}
		cfg.Settings.Host = host
		if _, err := fmt.Sscan(port, &cfg.Settings.Port); err != nil {
			return nil, nil, fmt.Errorf("demo: --listen %q: bad port", listen)
		}
	}
	route := config.Route{Pattern: "*"}
	for i, f := range []*fake.Upstream{flaky, steady} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			p.Close()
			return nil, nil, fmt.Errorf("demo: starting simulated provider: %w", err)
		}
		srv := &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
		p.servers = append(p.servers, srv)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			_ = srv.Serve(ln)
		}()
		cfg.Providers = append(cfg.Providers, config.Provider{
			Name: f.Name, Type: config.TypeAnthropic, BaseURL: "http://" + ln.Addr().String(),
			AuthType: config.AuthAPIKey, AuthValue: "demo-key-not-secret", Enabled: true,
		})
		route.Entries = append(route.Entries, config.RouteEntry{Provider: f.Name, Model: config.Passthrough, Priority: i + 1})
	}
	cfg.Routes = []config.Route{route}
	return p, cfg, nil
}

// Close stops the simulated providers.
func (p *Providers) Close() {
	for _, s := range p.servers {
		_ = s.Close()
	}
	p.wg.Wait()
}

// Traffic sends a sample streaming request to the proxy at baseURL every
// interval until ctx ends, logging who served it.
func Traffic(ctx context.Context, baseURL string, interval time.Duration, log *slog.Logger) {
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	t := time.NewTicker(interval)
	defer t.Stop()
	body := []byte(`{"model":"claude-sonnet-5","messages":[{"role":"user","content":"Say hello."}],"max_tokens":256,"stream":true}`)
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/v1/messages", bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Anthropic-Version", "2023-06-01")
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			if !errors.Is(ctx.Err(), context.Canceled) {
				log.Warn("demo request failed", slog.Int("n", n), slog.Any("err", err))
			}
			continue
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		log.Info("demo client got an answer", slog.Int("n", n), slog.Int("status", resp.StatusCode),
			slog.String("provider", resp.Header.Get("X-Provider-Used")), slog.Duration("took", time.Since(start)),
			slog.Bool("complete", err == nil))
	}
}
