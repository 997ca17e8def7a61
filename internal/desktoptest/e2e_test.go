package desktoptest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ccbalancer/ccbalancer/assets"
)

// The binary is built once per test run, only by a test that gets that far.
var (
	buildOnce sync.Once
	buildDir  string
	buildPath string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	// Bus connections, watcher and notification server must all be gone.
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// binary builds the real ccbalancer command.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "ccbalancer-e2e-")
		if buildErr != nil {
			return
		}
		buildPath = filepath.Join(buildDir, "ccbalancer")
		cmd := exec.Command("go", "build", "-o", buildPath, "github.com/ccbalancer/ccbalancer")
		cmd.Dir = filepath.Join("..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// upstream is a fake Anthropic Messages API that answers 200, or the error
// status in fail (529 overloaded, 401 invalid key) while it is set.
type upstream struct {
	*httptest.Server
	fail  atomic.Int32
	calls atomic.Int64
}

// upstreamErrors are the error bodies Anthropic's API sends for a status.
var upstreamErrors = map[int32]string{
	529: `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
	401: `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`,
}

func newUpstream(t *testing.T, name string) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.calls.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/v1/messages" {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"type":"error","error":{"type":"not_found_error","message":"not found"}}`)
			return
		}
		if st := u.fail.Load(); st != 0 {
			w.WriteHeader(int(st))
			io.WriteString(w, upstreamErrors[st])
			return
		}
		fmt.Fprintf(w, `{"id":"msg_%s","type":"message","role":"assistant","model":"claude-sonnet-4-5",`+
			`"content":[{"type":"text","text":"hello from %s"}],"stop_reason":"end_turn","stop_sequence":null,`+
			`"usage":{"input_tokens":3,"output_tokens":4}}`, name, name)
	}))
	t.Cleanup(u.Close)
	return u
}

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

// lockedBuffer collects a process's output for failure messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// instanceEnv is a minimal environment in home: no DISPLAY, no
// WAYLAND_DISPLAY (so no clipboard, as on a headless machine), its own
// runtime and state directories, a temp dir of its own (so the binary, built
// elsewhere, is not a temporary build to it), and bin/ first on PATH, where a
// test may put stand-ins such as xdg-open.
func instanceEnv(t *testing.T, home string, env []string) []string {
	t.Helper()
	for _, d := range []string{"run", "tmp", "bin"} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return append([]string{
		"PATH=" + filepath.Join(home, "bin") + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_STATE_HOME=" + filepath.Join(home, ".local", "state"),
		"XDG_RUNTIME_DIR=" + filepath.Join(home, "run"),
		"TMPDIR=" + filepath.Join(home, "tmp"),
		"LANG=C.UTF-8",
	}, env...)
}

// failingOpener puts an xdg-open on the instance's PATH that fails the way
// the real one does for a file no application handles.
func failingOpener(t *testing.T, home string) {
	t.Helper()
	script := "#!/bin/sh\necho \"xdg-open: no method available for opening '$1'\" >&2\nexit 3\n"
	if err := os.WriteFile(filepath.Join(home, "bin", "xdg-open"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// command runs the binary once with the instance's environment (status,
// stop) and returns its exit code and output.
func (in *instance) command(args ...string) (int, string) {
	in.t.Helper()
	cmd := exec.Command(binary(in.t), args...)
	cmd.Env = in.env
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		in.t.Fatalf("running ccbalancer %v: %v", args, err)
	}
	return 0, string(out)
}

// instance is one running ccbalancer with its own config and home.
type instance struct {
	t      *testing.T
	env    []string
	cmd    *exec.Cmd
	out    *lockedBuffer
	addr   string
	home   string
	config string
	exited chan struct{}
	err    error
	start  time.Time
}

// writeConfig writes a two-provider config and returns its path and the
// proxy's address.
func writeConfig(t *testing.T, dir string, a, b *upstream) (string, string) {
	port := freePort(t)
	path := filepath.Join(dir, "providers.yaml")
	writeFileAtomic(t, path, configText(a, b, port, dir))
	return path, fmt.Sprintf("127.0.0.1:%d", port)
}

// writeFileAtomic replaces path the way editors do: a new file renamed over it.
func writeFileAtomic(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".new", []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

// configText is a two-provider configuration listening on port, logging
// under dir.
func configText(a, b *upstream, port int, dir string) string {
	return fmt.Sprintf(`providers:
  - {name: A, type: anthropic, base_url: %q, auth_type: api_key, auth_value: "k1"}
  - {name: B, type: anthropic, base_url: %q, auth_type: api_key, auth_value: "k2"}
model_routes:
  "*sonnet*":
    - {provider: A, model: passthrough, priority: 1}
    - {provider: B, model: passthrough, priority: 2}
settings: {host: 127.0.0.1, port: %d, failure_cooldown: 90, log_file: %q, log_color: false}
`, a.URL, b.URL, port, filepath.Join(dir, "logs", "ccbalancer.jsonl"))
}

// startInstance runs the binary with env added to a minimal environment.
func startInstance(t *testing.T, config, addr string, env []string, args ...string) *instance {
	t.Helper()
	home := t.TempDir()
	in := &instance{t: t, out: &lockedBuffer{}, addr: addr, home: home, config: config, exited: make(chan struct{})}
	in.env = instanceEnv(t, home, env)
	if config != "" {
		args = append([]string{"--config", config}, args...)
	}
	in.cmd = exec.Command(binary(t), args...)
	in.cmd.Env = in.env
	in.cmd.Dir = home
	in.cmd.Stdout = in.out
	in.cmd.Stderr = in.out
	in.start = time.Now()
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		in.err = in.cmd.Wait()
		close(in.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-in.exited:
		default:
			in.cmd.Process.Kill()
			<-in.exited
		}
		if t.Failed() {
			t.Logf("ccbalancer output:\n%s", in.out.String())
		}
	})
	return in
}

// waitListening waits until the proxy accepts connections.
func (in *instance) waitListening(timeout time.Duration) {
	in.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-in.exited:
			in.t.Fatalf("ccbalancer exited early: %v", in.err)
		default:
		}
		if c, err := net.Dial("tcp", in.addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	in.t.Fatalf("proxy not listening on %s after %s", in.addr, timeout)
}

func (in *instance) listening() bool {
	c, err := net.DialTimeout("tcp", in.addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// message sends one Messages API request and returns the status and the
// provider that served it.
func (in *instance) message() (int, string) {
	in.t.Helper()
	body := `{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`
	req, err := http.NewRequest(http.MethodPost, "http://"+in.addr+"/v1/messages", strings.NewReader(body))
	if err != nil {
		in.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("anthropic-version", "2023-06-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		in.t.Fatalf("request through the proxy: %v", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("x-provider-used")
}

// providers reads GET /providers.
func (in *instance) providers() map[string]any {
	in.t.Helper()
	resp, err := http.Get("http://" + in.addr + "/providers")
	if err != nil {
		in.t.Fatalf("GET /providers: %v", err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		in.t.Fatalf("GET /providers: %v", err)
	}
	return v
}

// waitExit waits for the process to end and returns its exit code.
func (in *instance) waitExit(timeout time.Duration) int {
	in.t.Helper()
	select {
	case <-in.exited:
	case <-time.After(timeout):
		in.t.Fatalf("ccbalancer still running %s later", timeout)
	}
	var ee *exec.ExitError
	if errors.As(in.err, &ee) {
		return ee.ExitCode()
	}
	if in.err != nil {
		in.t.Fatalf("waiting for ccbalancer: %v", in.err)
	}
	return 0
}

// expectedPixmap is the icon a state shows, converted as fyne.io/systray
// converts PNG files for IconPixmap.
func expectedPixmap(t *testing.T, s assets.State) []byte {
	t.Helper()
	b, err := assets.PNG(s, 32)
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	data := make([]byte, 0, w*h*4)
	for y := range h {
		for x := range w {
			r, g, b, a := img.At(x, y).RGBA()
			data = append(data, byte(a), byte(r), byte(g), byte(b))
		}
	}
	return data
}

// iconState names the state whose pixmap the item shows.
func iconState(t *testing.T, item *TrayItem) assets.State {
	t.Helper()
	px, err := item.IconPixmap()
	if err != nil {
		t.Fatal(err)
	}
	if len(px) != 1 {
		t.Fatalf("item shows %d pixmaps, want 1", len(px))
	}
	for _, s := range assets.States {
		if bytes.Equal(px[0].Data, expectedPixmap(t, s)) {
			return s
		}
	}
	return "unknown"
}

// waitLog waits until the instance's output contains want.
func (in *instance) waitLog(want string) {
	in.t.Helper()
	poll(in.t, 15*time.Second, "log line "+want, func() (string, error) { return in.out.String(), nil },
		func(s string) bool { return strings.Contains(s, want) })
}

// poll calls get until ok returns true or timeout passes; it returns the
// last value and how long it took.
func poll[T any](t *testing.T, timeout time.Duration, what string, get func() (T, error), ok func(T) bool) (T, time.Duration) {
	t.Helper()
	start := time.Now()
	var (
		v   T
		err error
	)
	for time.Since(start) < timeout {
		v, err = get()
		if err == nil && ok(v) {
			return v, time.Since(start)
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("waited %s for %s; last: %+v, %v", timeout, what, v, err)
	return v, 0
}

func itoa(n int) string { return fmt.Sprint(n) }

// listenOn holds addr open, as another program on the port would.
func listenOn(t *testing.T, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}
