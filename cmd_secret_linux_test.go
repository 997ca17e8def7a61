package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/ccbalancer/ccbalancer/internal/desktoptest"
)

// TestSecretCommand stores, lists and deletes keys in GNOME Keyring on a
// private bus, and loads a config that names them.
func TestSecretCommand(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the Secret Service test runs on Linux")
	}
	bus := desktoptest.StartBus(t)
	desktoptest.StartKeyring(t, bus)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus.Address)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "providers.yaml")
	os.WriteFile(cfg, []byte("providers:\n"+
		"  - {name: A, type: anthropic, base_url: \"http://127.0.0.1:9\", auth_value: \"keyring:anthropic\"}\n"+
		"  - {name: B, type: openai, base_url: \"http://127.0.0.1:9\", auth_value: \"keyring:openrouter\"}\n"+
		"model_routes:\n  \"*sonnet*\": [{provider: A}, {provider: B, model: m}]\n"), 0o644)

	stdin := func(s string) *os.File {
		f := filepath.Join(t.TempDir(), "stdin")
		os.WriteFile(f, []byte(s), 0o600)
		r, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	steps := []struct {
		args     []string
		stdin    string
		code     int
		out, err string
	}{
		{[]string{"list"}, "", 0, "no keys stored", ""},
		{[]string{"set", "anthropic"}, "sk-ant-from-stdin\n", 0, `stored "anthropic" in the keyring; use it with  auth_value: "keyring:anthropic"`, ""},
		{[]string{"set", "empty"}, " \n", 1, "", "the key is empty"},
		{[]string{"set", "two"}, "a\nb\n", 1, "", "more than one line"},
		{[]string{"set", "a/b"}, "k", 2, "", `keyring entry name "a/b" may hold only`},
		{[]string{"set"}, "", 2, "", "want 1 argument(s), got 0"},
		{[]string{"list", "x"}, "", 2, "", "want 0 argument(s), got 1"},
		{nil, "", 2, "", "missing action"},
		{[]string{"reveal", "anthropic"}, "", 2, "", `unknown action "reveal"`},
		{[]string{"delete", "nope"}, "", 1, "", `deleting keyring entry "nope": no such keyring entry`},
	}
	for i, s := range steps {
		var out, errb bytes.Buffer
		code := secretCommand(s.args, stdin(s.stdin), &out, &errb)
		if code != s.code || !strings.Contains(out.String(), s.out) || !strings.Contains(errb.String(), s.err) {
			t.Fatalf("step %d secret %q = %d\nstdout: %s\nstderr: %s\nwant %d, %q, %q", i, s.args, code, out.String(), errb.String(), s.code, s.out, s.err)
		}
	}

	typeKeyAtPrompt(t, "openrouter", "sk-or-typed")

	var out, errb bytes.Buffer
	if code := secretCommand([]string{"list"}, stdin(""), &out, &errb); code != 0 || out.String() != "anthropic\nopenrouter\n" {
		t.Fatalf("secret list = %d %q %q, want both names", code, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"check", "--config", cfg}, &out, &errb); code != 0 {
		t.Fatalf("check with both keys stored = %d:\n%s%s", code, out.String(), errb.String())
	}
	if strings.Contains(out.String(), "plain text") {
		t.Errorf("keys in the keyring reported as plain text:\n%s", out.String())
	}
	if code := secretCommand([]string{"delete", "openrouter"}, stdin(""), &out, &errb); code != 0 {
		t.Fatalf("secret delete = %d: %s", code, errb.String())
	}
	out.Reset()
	errb.Reset()
	code := run([]string{"check", "--config", cfg}, &out, &errb)
	want := cfg + ":3: providers[1].auth_value: provider \"B\": keyring entry \"openrouter\" is not stored: store it with `ccbalancer secret set openrouter`"
	if code != 1 || !strings.Contains(errb.String(), want) {
		t.Errorf("check after delete = %d\n%s\nwant 1 and %q", code, errb.String(), want)
	}

	// The example configuration checks once its keys are where it says.
	example := filepath.Join(dir, "example.yaml")
	os.WriteFile(example, exampleConfig, 0o600)
	t.Setenv("OPENROUTER_API_KEY", "sk-or-env")
	out.Reset()
	errb.Reset()
	if code := run([]string{"check", "--config", example}, &out, &errb); code != 0 {
		t.Errorf("check of the example with its keys stored = %d:\n%s", code, errb.String())
	}
	for _, key := range []string{"sk-ant-from-stdin", "sk-or-typed", "sk-or-env"} {
		if strings.Contains(out.String()+errb.String(), key) {
			t.Errorf("a key was printed: %s%s", out.String(), errb.String())
		}
	}
}

// typeKeyAtPrompt runs `secret set NAME` on a pseudo-terminal and types key
// once echo is off, as a person would at the prompt. It checks that the key
// was not echoed and that echo is back on afterwards.
func typeKeyAtPrompt(t *testing.T, name, key string) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	echoOn := func() bool {
		tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatalf("reading the terminal's settings: %v", err)
		}
		return tio.Lflag&unix.ECHO != 0
	}
	var out, errb bytes.Buffer
	done := make(chan int)
	go func() { done <- secretCommand([]string{"set", name}, tty, &out, &errb) }()
	deadline := time.Now().Add(10 * time.Second)
	for echoOn() {
		if time.Now().After(deadline) {
			t.Fatalf("secret set did not turn echo off within 10 s; stderr: %q", errb.String())
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := io.WriteString(ptmx, key+"\n"); err != nil {
		t.Fatal(err)
	}
	code := <-done
	if code != 0 || !strings.Contains(out.String(), `stored "`+name+`"`) {
		t.Fatalf("secret set on a terminal = %d\nstdout: %s\nstderr: %s", code, out.String(), errb.String())
	}
	if !strings.HasPrefix(errb.String(), "Key for "+name+" (not shown as you type): ") {
		t.Errorf("prompt = %q", errb.String())
	}
	if !echoOn() {
		t.Error("echo was left off")
	}
	// Everything the terminal displayed: the key must not be among it.
	tty.Close()
	shown, _ := io.ReadAll(ptmx)
	if strings.Contains(string(shown), key) {
		t.Errorf("the key was echoed: %q", shown)
	}
}
