package control

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// socketPath is a short path: Unix socket paths are limited to ~104 bytes.
func socketPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ccb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "run", SocketName)
}

func TestStatusAndStop(t *testing.T) {
	path := socketPath(t)
	want := Status{PID: 42, Version: "test", Tray: "no tray host", Setup: "config_error",
		Problem: "providers.yaml:2: boom", Listen: "127.0.0.1:8080", Providers: []Provider{{Name: "A", State: "needs_attention", Reason: "HTTP 401"}}}
	stopped := make(chan struct{})
	var srv *Server
	srv, err := Listen(path, func() Status { return want }, func() {
		// As main does: the instance shuts down, then closes the socket.
		go func() { srv.Close(); close(stopped) }()
	})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("socket: %v, %v; want mode 0600", st, err)
	}
	if st, err := os.Stat(filepath.Dir(path)); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("socket directory: %v, %v; want mode 0700", st, err)
	}
	got, err := Get(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	// A second instance is refused while the first answers.
	if _, err := Listen(path, func() Status { return Status{} }, func() {}); !errors.Is(err, ErrRunning) {
		t.Errorf("second Listen: %v, want ErrRunning", err)
	}
	got, err = Stop(path, 10*time.Second)
	if err != nil || got.PID != 42 {
		t.Fatalf("Stop = %+v, %v", got, err)
	}
	<-stopped
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left behind: %v", err)
	}
	if _, err := Get(path); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Get after stop: %v, want ErrNotRunning", err)
	}
	if _, err := Stop(path, time.Second); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Stop with nothing running: %v, want ErrNotRunning", err)
	}
}

// TestStaleSocket: a socket file left by an instance that died is replaced.
func TestStaleSocket(t *testing.T) {
	path := socketPath(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	// Closing a listener removes its file; a crash would not. Keep the file.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("stale socket not left in place: %v", err)
	}
	srv, err := Listen(path, func() Status { return Status{PID: 7} }, func() {})
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer srv.Close()
	if st, err := Get(path); err != nil || st.PID != 7 {
		t.Errorf("Get = %+v, %v", st, err)
	}
}

func TestDir(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "XDG_RUNTIME_DIR" {
				return v
			}
			return ""
		}
	}
	tests := []struct{ runtime, want string }{
		{"/run/user/1000", "/run/user/1000/ccbalancer"},
		{"", "/state"},
		{"relative", "/state"},
	}
	for _, tt := range tests {
		if got := Dir(env(tt.runtime), "/state"); got != tt.want {
			t.Errorf("Dir with XDG_RUNTIME_DIR=%q = %q, want %q", tt.runtime, got, tt.want)
		}
	}
}
