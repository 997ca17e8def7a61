package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// configText is a valid one-provider configuration listening on port; key
// is the auth_value as written.
func configText(port int, key string) string {
	return fmt.Sprintf(`providers:
  - {name: A, type: anthropic, base_url: "http://127.0.0.1:1", auth_type: api_key, auth_value: %q}
model_routes:
  "*": [{provider: A}]
settings: {host: 127.0.0.1, port: %d}
`, key, port)
}

// writeFile replaces path's content the way editors do: a new file renamed
// over the old one.
func writeFile(t *testing.T, path, text string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// start runs a Supervisor for the file at path (which may not exist) with
// its watcher, as the tray does.
func start(t *testing.T, path string) (*Supervisor, <-chan proxy.Event) {
	t.Helper()
	p, cfg, err := Find(path)
	if p != path {
		t.Fatalf("Find(%q) path = %q", path, p)
	}
	s := New(Options{Path: p, Config: cfg, LoadErr: err, Flag: path, Example: []byte(configText(freePort(t), "${CCB_TEST_UNSET_KEY}"))})
	events, unsub := s.Subscribe()
	ctx, cancel := context.WithCancel(context.Background())
	// Watch's two halves, so that the directory is watched before the
	// test writes to it.
	w, err := s.watcher()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		defer w.Close()
		if err := s.watchLoop(ctx, w); err != nil {
			t.Errorf("watchLoop: %v", err)
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		s.Close()
		unsub()
	})
	s.Start()
	return s, events
}

// waitSetup waits for a setup event: EventReady when want is "", else one
// whose reason contains want; it returns the snapshot then.
func waitSetup(t *testing.T, s *Supervisor, events <-chan proxy.Event, want string) Snapshot {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-events:
			if (want == "" && e.Kind == EventReady) || (want != "" && e.Kind != EventReady && strings.Contains(e.Reason, want)) {
				return s.Snapshot()
			}
		case <-timeout:
			t.Fatalf("no setup event with %q within 10 s; snapshot %+v", want, s.Snapshot())
		}
	}
}

func get(t *testing.T, addr string) int {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("GET / on the proxy: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestNotSetUpThenFileAppears: with no file the snapshot says so and names
// the file expected; writing a valid file starts the proxy without a click.
func TestNotSetUpThenFileAppears(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "providers.yaml")
	s, events := start(t, path)
	snap := s.Snapshot()
	if snap.Setup != NotSetUp || snap.ConfigPath != path || snap.Running || len(snap.Providers) != 0 || !strings.Contains(snap.Problem, path) {
		t.Fatalf("snapshot without a file: %+v", snap)
	}
	if err := s.RetryNow("A"); err == nil {
		t.Error("RetryNow without a configuration succeeded")
	}
	port := freePort(t)
	writeFile(t, path, configText(port, "sk-literal"))
	snap = waitSetup(t, s, events, "")
	if e := snap.Event(); e.Kind != EventReady || e.Reason != snap.Listen {
		t.Errorf("event for the snapshot: %+v", e)
	}
	if snap.Setup != SetupOK || !snap.Running || snap.Listen != fmt.Sprintf("127.0.0.1:%d", port) || len(snap.Providers) != 1 {
		t.Fatalf("snapshot after the file appeared: %+v", snap)
	}
	if code := get(t, snap.Listen); code != 200 {
		t.Errorf("GET / = %d", code)
	}
}

// TestConfigErrorThenFixed: an unset ${ENV} key is a ConfigError naming the
// variable and the line; fixing the file starts the proxy.
func TestConfigErrorThenFixed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "providers.yaml")
	port := freePort(t)
	writeFile(t, path, configText(port, "${CCB_TEST_UNSET_KEY}"))
	s, events := start(t, path)
	snap := s.Snapshot()
	want := path + ":2: providers[0].auth_value: provider \"A\": environment variable CCB_TEST_UNSET_KEY is not set"
	if snap.Setup != ConfigError || snap.Problem != want || snap.ConfigPath != path {
		t.Fatalf("snapshot: setup %q, problem %q, path %q; want problem %q", snap.Setup, snap.Problem, snap.ConfigPath, want)
	}
	writeFile(t, path, configText(port, "sk-literal"))
	snap = waitSetup(t, s, events, "")
	if !snap.Running {
		t.Fatalf("not running after the fix: %+v", snap)
	}
}

// TestListenError: a port in use is a ListenError; Start tries again.
func TestListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	path := filepath.Join(t.TempDir(), "providers.yaml")
	writeFile(t, path, configText(port, "sk-literal"))
	s, events := start(t, path)
	snap := s.Snapshot()
	if snap.Setup != ListenError || !strings.Contains(snap.Problem, "address already in use") || snap.Running || len(snap.Providers) != 1 {
		t.Fatalf("snapshot with the port taken: %+v", snap)
	}
	ln.Close()
	if err := s.Start(); err != nil {
		t.Fatalf("Start after the port was freed: %v", err)
	}
	if snap := waitSetup(t, s, events, ""); !snap.Running {
		t.Fatalf("snapshot: %+v", snap)
	}
}

// TestStrategyKeptAcrossReload: a strategy chosen by hand survives a reload
// of a file that says otherwise.
func TestStrategyKeptAcrossReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "providers.yaml")
	writeFile(t, path, configText(freePort(t), "sk-literal"))
	s, events := start(t, path)
	if err := s.SetStrategy(config.StrategyRandom); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStrategy("bogus"); err == nil {
		t.Error("an unknown strategy was accepted")
	}
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	// The reload event is forwarded after the strategy is applied again.
	timeout := time.After(10 * time.Second)
	for done := false; !done; {
		select {
		case e := <-events:
			done = e.Kind == proxy.EventConfigReloaded
		case <-timeout:
			t.Fatal("no reload event")
		}
	}
	if st := s.Snapshot().Strategy; st != config.StrategyRandom {
		t.Errorf("strategy after reload = %q, want random", st)
	}
}

// TestCreateConfig writes the example where the file is expected, loads it
// (its unset keys are the next thing to show), and never overwrites.
func TestCreateConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cfg", "providers.yaml")
	s, _ := start(t, path)
	got, err := s.CreateConfig()
	if err != nil || got != path {
		t.Fatalf("CreateConfig = %q, %v", got, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("written file: %v, %v", st, err)
	}
	snap := s.Snapshot()
	if snap.Setup != ConfigError || !strings.Contains(snap.Problem, "CCB_TEST_UNSET_KEY is not set") {
		t.Errorf("after CreateConfig: setup %q, problem %q", snap.Setup, snap.Problem)
	}
	if _, err := s.CreateConfig(); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second CreateConfig: %v, want an error wrapping fs.ErrExist", err)
	}
}
