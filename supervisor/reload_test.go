package supervisor

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ccbalancer/ccbalancer/internal/fake"
	"github.com/ccbalancer/ccbalancer/proxy"
)

// TestReloadUnderLoad: streaming requests run without pause while the
// watched file is rewritten ten times, valid and invalid, by renaming a
// new file over it and in place. No request fails; each valid version's
// routing takes effect and each invalid one leaves the last valid one
// serving; the state of a provider that stays in the file is kept.
func TestReloadUnderLoad(t *testing.T) {
	a, b, flaky := fake.New("A"), fake.New("B"), fake.New("Flaky")
	flaky.Always(fake.Reply{Mode: fake.Status, Status: 529})
	for _, f := range []*fake.Upstream{a, b} {
		f.Always(fake.Reply{Deltas: 6, Gap: time.Millisecond, Text: "a streamed answer"})
	}
	var urls []string
	for _, f := range []*fake.Upstream{a, b, flaky} {
		s := httptest.NewServer(f)
		defer s.Close()
		urls = append(urls, s.URL)
	}
	port := freePort(t)
	version := func(sonnet string) string {
		return fmt.Sprintf(`providers:
  - {name: A, type: anthropic, base_url: %q, auth_value: ka}
  - {name: B, type: anthropic, base_url: %q, auth_value: kb}
  - {name: Flaky, type: anthropic, base_url: %q, auth_value: kf}
model_routes:
  "*sonnet*": [{provider: %s}]
  "*haiku*": [{provider: Flaky}, {provider: A}]
settings: {port: %d, failure_cooldown: 600}
`, urls[0], urls[1], urls[2], sonnet, port)
	}
	invalid := version("A") + "  prioirty: 1\n"
	path := filepath.Join(t.TempDir(), "providers.yaml")
	if err := os.WriteFile(path, []byte(version("A")), 0o600); err != nil {
		t.Fatal(err)
	}
	s, events := start(t, path)
	if snap := s.Snapshot(); snap.Setup != SetupOK || !snap.Running {
		t.Fatalf("not serving: %+v", snap)
	}
	addr := s.Addr()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	ask := func(model string) (provider string, err error) {
		body := `{"model":"` + model + `","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
		resp, err := client.Post("http://"+addr+"/v1/messages", "application/json", strings.NewReader(body))
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		if err != nil {
			return "", err
		}
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(got), "event: message_stop") {
			return "", fmt.Errorf("HTTP %d: %s", resp.StatusCode, got)
		}
		return resp.Header.Get("X-Provider-Used"), nil
	}
	// Flaky fails once: it cools down for ten minutes, and must stay so.
	if p, err := ask("claude-haiku-4-5"); err != nil || p != "A" {
		t.Fatalf("haiku request: %s, %v", p, err)
	}
	flakyBefore := providerState(t, addr, "Flaky")
	if flakyBefore.State != "cooling" || flakyBefore.StateUntil == nil {
		t.Fatalf("Flaky is %+v, want cooling", flakyBefore)
	}

	stop := make(chan struct{})
	var served, failed atomic.Int64
	var errMu sync.Mutex
	var errs []string
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := ask("claude-sonnet-5"); err != nil {
					failed.Add(1)
					errMu.Lock()
					errs = append(errs, err.Error())
					errMu.Unlock()
				} else {
					served.Add(1)
				}
			}
		})
	}

	inPlace := func(text string) {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rename := func(text string) { writeFile(t, path, text) }
	want := "A"
	for i, step := range []struct {
		write func(string)
		text  string
		valid bool
		route string
	}{
		{rename, version("B"), true, "B"},
		{inPlace, invalid, false, ""},
		{inPlace, version("A"), true, "A"},
		{rename, invalid, false, ""},
		{rename, version("B"), true, "B"},
		{inPlace, version("A"), true, "A"},
		{inPlace, "providers: [", false, ""},
		{rename, version("B"), true, "B"},
		{rename, version("A"), true, "A"},
		{inPlace, version("B"), true, "B"},
	} {
		step.write(step.text)
		kind := waitReload(t, events)
		if (kind == proxy.EventConfigReloaded) != step.valid {
			t.Fatalf("rewrite %d: event %s, valid %v", i+1, kind, step.valid)
		}
		if step.valid {
			want = step.route
		}
		if p, err := ask("claude-sonnet-5"); err != nil || p != want {
			t.Fatalf("after rewrite %d: served by %q (%v), want %s", i+1, p, err, want)
		}
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed during the reloads: %v", failed.Load(), failed.Load()+served.Load(), errs)
	}
	if served.Load() < 10 {
		t.Errorf("only %d requests ran during the reloads", served.Load())
	}
	t.Logf("%d streamed requests served during 10 rewrites", served.Load())
	flakyAfter := providerState(t, addr, "Flaky")
	if flakyAfter.State != "cooling" || flakyAfter.StateUntil == nil || *flakyAfter.StateUntil != *flakyBefore.StateUntil || flakyAfter.FailureCount != flakyBefore.FailureCount {
		t.Errorf("Flaky's state was not kept across the reloads: before %+v, after %+v", flakyBefore, flakyAfter)
	}
	if got := flaky.Count(); got != 1 {
		t.Errorf("Flaky was asked %d times, want once", got)
	}
}

type provState struct {
	State        string  `json:"state"`
	StateUntil   *string `json:"state_until"`
	FailureCount int     `json:"failure_count"`
}

func providerState(t *testing.T, addr, name string) provState {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/providers")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Providers []struct {
			Name string `json:"name"`
			provState
		} `json:"providers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	for _, p := range out.Providers {
		if p.Name == name {
			return p.provState
		}
	}
	t.Fatalf("no provider %s", name)
	return provState{}
}

// waitReload returns the kind of the next reload event.
func waitReload(t *testing.T, events <-chan proxy.Event) proxy.EventKind {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-events:
			if e.Kind == proxy.EventConfigReloaded || e.Kind == proxy.EventConfigReloadFailed {
				return e.Kind
			}
		case <-timeout:
			t.Fatal("no reload within 10 s of the rewrite")
		}
	}
}
