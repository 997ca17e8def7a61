//go:build unix

package osservice

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestRunEndsOnSIGTERM: outside a service manager, SIGTERM ends ctx and Run
// returns run's result.
func TestRunEndsOnSIGTERM(t *testing.T) {
	err := Run(discard, func(ctx context.Context) error {
		if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
			return err
		}
		<-ctx.Done()
		return errors.New("stopped")
	})
	if err == nil || err.Error() != "stopped" {
		t.Errorf("Run = %v, want run's error", err)
	}
}

// TestRunNotifiesSystemd: under a Type=notify unit, Run says READY=1 before
// run starts and STOPPING=1 after it returns, on $NOTIFY_SOCKET.
func TestRunNotifiesSystemd(t *testing.T) {
	sock := listenNotify(t)
	err := Run(discard, func(ctx context.Context) error {
		if got := readNotify(t, sock); got != "READY=1" {
			t.Errorf("first notification %q, want READY=1", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := readNotify(t, sock); got != "STOPPING=1" {
		t.Errorf("last notification %q, want STOPPING=1", got)
	}
}

// listenNotify listens where $NOTIFY_SOCKET says, as systemd does.
func listenNotify(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return conn
}

func readNotify(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 256)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("reading a notification: %v", err)
	}
	return string(buf[:n])
}
