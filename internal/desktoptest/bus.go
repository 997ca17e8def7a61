package desktoptest

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// busConfig is a session bus that allows everything and has no service
// directory, so nothing is started on demand and a missing name fails at once.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// Bus is a private dbus-daemon for one test.
type Bus struct {
	// Address is the value for DBUS_SESSION_BUS_ADDRESS.
	Address string
}

// StartBus starts a private session bus that lives until the test ends. It
// skips the test when dbus-daemon is missing (fails under CI=true).
func StartBus(t testing.TB) *Bus {
	t.Helper()
	daemon := NeedTool(t, "dbus-daemon", "dbus-daemon")
	conf := filepath.Join(t.TempDir(), "bus.conf")
	if err := os.WriteFile(conf, []byte(busConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemon, "--config-file="+conf, "--nofork", "--nopidfile", "--print-address=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// Its stderr (fd limit warnings as non-root) is left out of test output.
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting dbus-daemon: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		if s.Scan() {
			line <- strings.TrimSpace(s.Text())
		}
		close(line)
		// Keep reading so the daemon never blocks on a full pipe.
		for s.Scan() {
		}
	}()
	select {
	case addr, ok := <-line:
		if !ok || addr == "" {
			t.Fatal("dbus-daemon printed no address")
		}
		return &Bus{Address: addr}
	case <-time.After(10 * time.Second):
		t.Fatal("dbus-daemon did not print its address within 10 s")
	}
	return nil
}

// Connect opens a private connection to the bus, closed when the test ends.
func (b *Bus) Connect(t testing.TB) *dbus.Conn {
	t.Helper()
	// No dbus.WithContext: its context would bound the connection's life.
	conn, err := dbus.Connect(b.Address)
	if err != nil {
		t.Fatalf("connecting to the test bus: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// Own requests name on conn and fails the test if it is not granted.
func Own(t testing.TB, conn *dbus.Conn, name string) {
	t.Helper()
	reply, err := conn.RequestName(name, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("owning %s: reply %v, %v", name, reply, err)
	}
}
