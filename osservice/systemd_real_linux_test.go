package osservice

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestUnitUnderRealSystemd installs the user unit into a real systemd user
// manager, started for the test in a private mount namespace (systemd only
// runs where /run/systemd/system exists, which the namespace provides), and
// runs the real ccbalancer binary under it: Type=notify start-up, keys from
// the environment file, the failure report with the service's own log
// lines, rollback, and uninstall leaving nothing; then the system unit's text.
func TestUnitUnderRealSystemd(t *testing.T) {
	if !inMountNamespace(t) {
		return
	}
	systemd := needSystemd(t)
	// Built before /root is hidden: the Go caches live there.
	exe := buildCCBalancer(t)
	systemdBooted(t)
	// The manager is root's, whose services get HOME=/root: a tmpfs keeps
	// their files off the machine.
	mountTmpfs(t, "/root")
	runtimeDir := filepath.Join(t.TempDir(), "run")
	os.Mkdir(runtimeDir, 0o700)
	t.Setenv("HOME", "/root")
	t.Setenv("XDG_RUNTIME_DIR", runtimeDir)
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	startUserManager(t, systemd, runtimeDir)

	port := freePort(t)
	cfg := filepath.Join(t.TempDir(), "providers.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("providers:\n  - {name: A, type: anthropic, base_url: \"http://127.0.0.1:9\", auth_value: \"${CCB_TEST_KEY}\"}\n"+
		"model_routes:\n  \"*sonnet*\": [{provider: A}]\nsettings:\n  port: %d\n", port)), 0o600)
	opts := Options{User: true, Executable: exe, ConfigPath: cfg, Env: map[string]string{"CCB_TEST_KEY": "sk-test-under-systemd"}}
	unit := "/root/.config/systemd/user/ccbalancer.service"

	// The port is taken: the service cannot listen, install says why and
	// leaves nothing behind.
	busy, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Control("install", opts)
	if err == nil || !strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), "nothing was left installed") {
		t.Fatalf("install with the port taken = %v\nwant systemd's failure with the service's log line", err)
	}
	t.Logf("install with the port taken:\n%v", err)
	if _, err := os.Stat(unit); !os.IsNotExist(err) {
		t.Errorf("unit left behind: %v", err)
	}
	expectStatus(t, "the user service ccbalancer is not installed")
	busy.Close()

	// Type=notify: install returns once the proxy answers.
	msg, err := Control("install", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("install:\n%s", msg)
	answers(t, port)
	expectStatus(t, "the user service ccbalancer is running ("+unit+")")

	if _, err := Control("stop", opts); err != nil {
		t.Fatal(err)
	}
	expectStatus(t, "the user service ccbalancer is stopped ("+unit+")")
	busy, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Control("start", opts); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("start with the port taken = %v", err)
	}
	st, err := Control("status", opts)
	if err != nil || !strings.Contains(st, "ccbalancer failed: restarting after a failure: exit-code, exit status 1") || !strings.Contains(st, "address already in use") {
		t.Errorf("status after a failed start = %q, %v", st, err)
	}
	busy.Close()

	msg, err = Control("uninstall", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("uninstall:\n%s", msg)
	for _, p := range []string{unit, "/root/.config/ccbalancer/service.env", "/root/.config/systemd/user/default.target.wants/ccbalancer.service"} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s left behind: %v", p, err)
		}
	}
	expectStatus(t, "the user service ccbalancer is not installed")

	bootSystemUnit(t, exe, cfg, port)
}

// bootSystemUnit starts the system unit's text under the user manager (a
// system manager cannot run in a test): Type=notify, the keys from
// EnvironmentFile=, and the log in the directory LogsDirectory= makes.
func bootSystemUnit(t *testing.T, exe, cfg string, port int) {
	t.Helper()
	env := filepath.Join(t.TempDir(), "ccbalancer.env")
	data, _ := RenderEnvFile(map[string]string{"CCB_TEST_KEY": "k"})
	os.WriteFile(env, data, 0o600)
	unit := "/root/.config/systemd/user/ccbalancer-system.service"
	os.MkdirAll(filepath.Dir(unit), 0o755)
	if err := os.WriteFile(unit, []byte(SystemdUnit(exe, []string{"serve", "--config", cfg}, false, env)), 0o644); err != nil {
		t.Fatal(err)
	}
	systemctl := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("systemctl", append([]string{"--user"}, args...)...).CombinedOutput(); err != nil {
			status, _ := exec.Command("systemctl", "--user", "status", "ccbalancer-system.service").CombinedOutput()
			log, _ := os.ReadFile("/root/.config/log/ccbalancer/logs.jsonl")
			t.Fatalf("systemctl --user %s: %v\n%s\n%s\n%s", strings.Join(args, " "), err, out, status, log)
		}
	}
	systemctl("daemon-reload")
	systemctl("start", "ccbalancer-system.service")
	answers(t, port)
	// Where LogsDirectory= is depends on the systemd version: ask the process.
	pid, _ := exec.Command("systemctl", "--user", "show", "-p", "MainPID", "--value", "ccbalancer-system.service").Output()
	environ, err := os.ReadFile("/proc/" + strings.TrimSpace(string(pid)) + "/environ")
	if err != nil {
		t.Fatalf("reading the service's environment: %v", err)
	}
	var logs string
	for _, kv := range strings.Split(string(environ), "\x00") {
		if v, ok := strings.CutPrefix(kv, "LOGS_DIRECTORY="); ok {
			logs = v
		}
	}
	log, err := os.ReadFile(filepath.Join(logs, "logs.jsonl"))
	if logs == "" || err != nil || !strings.Contains(string(log), "listening") {
		t.Errorf("no log in the LogsDirectory= directory %q: %v\n%s", logs, err, log)
	}
	systemctl("stop", "ccbalancer-system.service")
	os.Remove(unit)
	systemctl("daemon-reload")
}

func expectStatus(t *testing.T, want string) {
	t.Helper()
	got, err := Control("status", Options{User: true})
	if err != nil || got != want {
		t.Errorf("status = %q, %v\nwant %q", got, err, want)
	}
}

// answers checks that ccbalancer serves on port.
func answers(t *testing.T, port int) {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatalf("the service does not answer: %v", err)
	}
	defer resp.Body.Close()
	var body struct{ Service string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 || body.Service == "" {
		t.Fatalf("GET / = %d %+v %v", resp.StatusCode, body, err)
	}
}

func needSystemd(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/lib/systemd/systemd", "/lib/systemd/systemd"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	msg := "systemd is not installed: apt-get install -y --no-install-recommends systemd"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// buildCCBalancer builds the ccbalancer command for the unit to run.
func buildCCBalancer(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "ccbalancer")
	cmd := exec.Command("go", "build", "-o", exe, "github.com/ccbalancer/ccbalancer")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return exe
}

// startUserManager runs `systemd --user` until the test ends and waits until
// systemctl --user reaches it.
func startUserManager(t *testing.T, systemd, runtimeDir string) {
	t.Helper()
	cmd := exec.Command(systemd, "--user")
	cmd.Env = []string{"HOME=/root", "XDG_RUNTIME_DIR=" + runtimeDir, "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting systemd --user: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		state, _ := exec.Command("systemctl", "--user", "is-system-running").Output()
		switch strings.TrimSpace(string(state)) {
		case "running", "degraded":
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("systemd --user is not running after 20 s (%q):\n%s", state, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer collects a process's output for failure messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
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
