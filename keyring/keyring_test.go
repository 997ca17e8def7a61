package keyring_test

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/ccbalancer/ccbalancer/internal/desktoptest"
	"github.com/ccbalancer/ccbalancer/keyring"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		// The session bus connection go-keyring opened ends with the bus.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// secretService starts a private session bus with GNOME Keyring on it and
// points this process's session bus at it.
func secretService(t *testing.T) *desktoptest.Bus {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the Secret Service test runs on Linux")
	}
	bus := desktoptest.StartBus(t)
	desktoptest.StartKeyring(t, bus)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus.Address)
	return bus
}

// removeBehindOurBack deletes the entry name over DBus, as secret-tool or
// Seahorse would, without touching the index.
func removeBehindOurBack(t *testing.T, bus *desktoptest.Bus, name string) {
	t.Helper()
	conn := bus.Connect(t)
	var items []dbus.ObjectPath
	err := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets/collection/login").
		Call("org.freedesktop.Secret.Collection.SearchItems", 0, map[string]string{"service": keyring.Service, "username": name}).
		Store(&items)
	if err != nil || len(items) != 1 {
		t.Fatalf("searching for %s: %v, %v", name, items, err)
	}
	var prompt dbus.ObjectPath
	if err := conn.Object("org.freedesktop.secrets", items[0]).Call("org.freedesktop.Secret.Item.Delete", 0).Store(&prompt); err != nil || prompt != "/" {
		t.Fatalf("deleting %s: prompt %q, %v", items[0], prompt, err)
	}
}

// TestStoreListDelete runs every operation against GNOME Keyring over DBus.
func TestStoreListDelete(t *testing.T) {
	secretService(t)
	list := func() []keyring.Entry {
		t.Helper()
		got, err := keyring.List()
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		return got
	}
	if got := list(); len(got) != 0 {
		t.Fatalf("a new keyring lists %v", got)
	}
	if _, err := keyring.Get("anthropic"); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("Get of a missing entry: %v, want ErrNotFound", err)
	}
	for name, value := range map[string]string{"anthropic": "sk-ant-1", "open.router_2": "sk-or-2"} {
		if err := keyring.Set(name, value); err != nil {
			t.Fatalf("Set(%s): %v", name, err)
		}
	}
	if err := keyring.Set("anthropic", "sk-ant-replaced"); err != nil {
		t.Fatalf("Set again: %v", err)
	}
	got, err := keyring.Get("anthropic")
	if err != nil || got != "sk-ant-replaced" {
		t.Fatalf("Get(anthropic) = %q, %v; want the replaced value", got, err)
	}
	want := []keyring.Entry{{Name: "anthropic", Present: true}, {Name: "open.router_2", Present: true}}
	if diff := cmp.Diff(want, list()); diff != "" {
		t.Errorf("List after Set (-want +got):\n%s", diff)
	}

	if err := keyring.Delete("anthropic"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := keyring.Get("anthropic"); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
	if err := keyring.Delete("anthropic"); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("second Delete: %v, want ErrNotFound", err)
	}
	if diff := cmp.Diff([]keyring.Entry{{Name: "open.router_2", Present: true}}, list()); diff != "" {
		t.Errorf("List after Delete (-want +got):\n%s", diff)
	}
}

// TestListShowsEntriesRemovedElsewhere: an entry deleted with another tool
// stays listed, marked as gone, until `secret delete` drops it.
func TestListShowsEntriesRemovedElsewhere(t *testing.T) {
	bus := secretService(t)
	if err := keyring.Set("relay", "tok"); err != nil {
		t.Fatal(err)
	}
	removeBehindOurBack(t, bus, "relay")
	got, err := keyring.List()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]keyring.Entry{{Name: "relay"}}, got); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	if err := keyring.Delete("relay"); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("Delete: %v, want ErrNotFound", err)
	}
	if got, err := keyring.List(); err != nil || len(got) != 0 {
		t.Errorf("List after Delete = %v, %v; want nothing", got, err)
	}
}

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"anthropic", "A-b_c.9", "x"} {
		if err := keyring.CheckName(ok); err != nil {
			t.Errorf("CheckName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "ccbalancer names", "a/b", "ключ", "a:b", string(make([]byte, 65))} {
		if err := keyring.CheckName(bad); err == nil {
			t.Errorf("CheckName(%q) accepted it", bad)
		}
	}
	if err := keyring.Set("x", ""); err == nil {
		t.Error("Set with an empty key succeeded")
	}
}

// TestNoSecretService: without a session bus every operation says so.
func TestNoSecretService(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
	if _, err := keyring.Get("anthropic"); err == nil || !strings.Contains(err.Error(), "cannot reach the session bus") {
		t.Errorf("Get without a bus: %v, want one saying the bus cannot be reached", err)
	}
	if err := keyring.Set("anthropic", "k"); err == nil {
		t.Error("Set without a bus succeeded")
	}
}

// TestBusWithoutSecretService: a session bus on which no keyring runs.
func TestBusWithoutSecretService(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	bus := desktoptest.StartBus(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus.Address)
	_, err := keyring.Get("anthropic")
	if err == nil || !strings.HasPrefix(err.Error(), `no Secret Service (GNOME Keyring, KWallet, KeePassXC) runs in this session: `) {
		t.Errorf("Get = %v, want an error saying no Secret Service runs", err)
	}
}
