//go:build linux

package osservice

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestServeAsSystemService runs the real `ccbalancer serve` the way systemd
// runs the system unit: no HOME or XDG variables, the key from the
// environment, the log directory from LogsDirectory= ($LOGS_DIRECTORY), and
// a notification socket that learns when it is ready and when it stops.
func TestServeAsSystemService(t *testing.T) {
	exe := buildCCBalancer(t)
	sock := listenNotify(t)
	logs := t.TempDir()
	port := freePort(t)
	cfg := filepath.Join(t.TempDir(), "providers.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("providers:\n  - {name: A, type: anthropic, base_url: \"http://127.0.0.1:9\", auth_value: \"${CCB_TEST_KEY}\"}\n"+
		"model_routes:\n  \"*sonnet*\": [{provider: A}]\nsettings:\n  port: %d\n", port)), 0o600)
	cmd := exec.Command(exe, "serve", "--config", cfg)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LOGS_DIRECTORY=" + logs, "NOTIFY_SOCKET=" + os.Getenv("NOTIFY_SOCKET"), "CCB_TEST_KEY=k"}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if got := readNotify(t, sock); got != "READY=1" {
		t.Fatalf("notification %q, want READY=1\n%s", got, out.String())
	}
	answers(t, port)
	cmd.Process.Signal(syscall.SIGTERM)
	if got := readNotify(t, sock); got != "STOPPING=1" {
		t.Errorf("notification %q, want STOPPING=1", got)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve ended with %v after SIGTERM\n%s", err, out.String())
	}
	log, err := os.ReadFile(filepath.Join(logs, "logs.jsonl"))
	if err != nil || !strings.Contains(string(log), "listening") {
		t.Errorf("log file in $LOGS_DIRECTORY: %v\n%s", err, log)
	}
}
