package desktoptest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// KeyringPassword unlocks the login keyring that StartKeyring creates.
const KeyringPassword = "ccbalancer-test"

// StartKeyring runs a real Secret Service, GNOME Keyring's daemon, on bus
// with its files in a temporary home. The daemon creates a "login" keyring,
// unlocked with KeyringPassword, and lives until the test ends. It skips the
// test when gnome-keyring-daemon is missing (fails under CI=true).
func StartKeyring(t testing.TB, bus *Bus) {
	t.Helper()
	daemon := NeedTool(t, "gnome-keyring-daemon", "gnome-keyring")
	home := t.TempDir()
	runtimeDir := filepath.Join(home, "run")
	if err := os.Mkdir(runtimeDir, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemon, "--foreground", "--unlock", "--components=secrets")
	cmd.Env = []string{
		"DBUS_SESSION_BUS_ADDRESS=" + bus.Address,
		"HOME=" + home,
		"XDG_RUNTIME_DIR=" + runtimeDir,
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"PATH=" + os.Getenv("PATH"),
	}
	// --unlock reads the login keyring's password from standard input.
	cmd.Stdin = strings.NewReader(KeyringPassword)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting gnome-keyring-daemon: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	conn := bus.Connect(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var owned bool
		err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.freedesktop.secrets").Store(&owned)
		if err != nil {
			t.Fatalf("asking the test bus for org.freedesktop.secrets: %v", err)
		}
		if owned && loginCollectionExists(conn) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gnome-keyring-daemon did not offer an unlocked login keyring within 10 s:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// loginCollectionExists reports whether the daemon has created the login
// keyring that go-keyring stores into.
func loginCollectionExists(conn *dbus.Conn) bool {
	v, err := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets").
		GetProperty("org.freedesktop.Secret.Service.Collections")
	if err != nil {
		return false
	}
	paths, _ := v.Value().([]dbus.ObjectPath)
	for _, p := range paths {
		if p == "/org/freedesktop/secrets/collection/login" {
			return true
		}
	}
	return false
}
