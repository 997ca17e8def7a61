package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestAutostartCommand: enable, status, disable and usage errors, with the
// entry in a temporary XDG_CONFIG_HOME.
func TestAutostartCommand(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("the entry is an XDG file on Linux and the BSDs only")
	}
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("CCB_TEST_KEY", "k")
	entry := filepath.Join(dir, "config", "autostart", "ccbalancer.desktop")
	cfg := filepath.Join(dir, "my providers.yaml")
	valid := "providers:\n  - {name: A, type: anthropic, base_url: \"http://127.0.0.1:9\", auth_type: api_key, auth_value: \"${CCB_TEST_KEY}\"}\nmodel_routes:\n  \"*\": [{provider: A}]\n"
	if err := os.WriteFile(cfg, []byte(valid), 0o600); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken.yaml")
	if err := os.WriteFile(broken, []byte("providers: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The test binary is a temporary build: stand in an installed one, in a
	// directory outside the temp dir.
	installed := filepath.Join(dir, "bin", "ccbalancer")
	t.Setenv("TMPDIR", filepath.Join(dir, "tmp"))
	loginExecutable = func() (string, error) { return installed, nil }
	defer func() { loginExecutable = executable }()
	steps := []struct {
		args     []string
		code     int
		out, err string
	}{
		{[]string{"status"}, 0, "start at login: disabled", ""},
		{[]string{"enable", "--config", broken}, 1, "", "does not load; fix it first (ccbalancer check --config " + broken + ")"},
		{[]string{"enable", "--config", filepath.Join(dir, "none.yaml")}, 1, "", "no config file found"},
		{[]string{"status"}, 0, "start at login: disabled", ""},
		// It loads here, but its key comes from the shell: a warning.
		{[]string{"enable", "--config", cfg}, 0, "start at login enabled (" + entry + ")", "environment variable CCB_TEST_KEY is not set"},
		{[]string{"status"}, 0, "start at login: enabled (" + entry + ")", ""},
		{[]string{"disable"}, 0, "start at login disabled", ""},
		{[]string{"disable"}, 0, "start at login disabled", ""},
		{[]string{"status"}, 0, "start at login: disabled", ""},
		{nil, 2, "", "missing action"},
		{[]string{"explode"}, 2, "", `unknown action "explode"`},
		{[]string{"status", "extra"}, 2, "", `unexpected argument "extra"`},
	}
	for i, s := range steps {
		var out, errb bytes.Buffer
		code := autostartCommand(s.args, &out, &errb)
		if code != s.code || !strings.Contains(out.String(), s.out) || !strings.Contains(errb.String(), s.err) {
			t.Fatalf("step %d autostart %q = %d\nstdout: %s\nstderr: %s\nwant %d, %q, %q", i, s.args, code, out.String(), errb.String(), s.code, s.out, s.err)
		}
		if i == 4 {
			b, err := os.ReadFile(entry)
			if err != nil {
				t.Fatal(err)
			}
			// The path has a space: it is quoted for the Exec key.
			if !strings.Contains(string(b), ` --config "`+cfg+`"`) {
				t.Errorf("entry does not pin the config:\n%s", b)
			}
		}
	}
}

func TestPinnedConfigArgs(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	def := filepath.Join(dir, "config", "ccbalancer", "providers.yaml")
	if got := pinnedConfigArgs(def); got != nil {
		t.Errorf("default config pinned: %q", got)
	}
	if got := pinnedConfigArgs(""); got != nil {
		t.Errorf("empty path pinned: %q", got)
	}
	if got := pinnedConfigArgs("/etc/p.yaml"); len(got) != 2 || got[1] != "/etc/p.yaml" {
		t.Errorf("pinnedConfigArgs(/etc/p.yaml) = %q", got)
	}
}

func TestTemporaryBuild(t *testing.T) {
	tests := []struct {
		exe  string
		want bool
	}{
		{"/tmp/go-build123/b001/exe/ccbalancer", true},
		{"/tmp/x/ccbalancer", true},
		{"/home/me/.cache/go-build/ab/ccbalancer", true},
		{"/usr/bin/ccbalancer", false},
		{"/home/me/go/bin/ccbalancer", false},
		{"/tmpfoo/ccbalancer", false},
	}
	for _, tt := range tests {
		if got := temporaryBuild(tt.exe, "/tmp"); got != tt.want {
			t.Errorf("temporaryBuild(%q) = %v, want %v", tt.exe, got, tt.want)
		}
	}
}

// TestAutostartRefusesATemporaryBuild: the test binary itself is one.
func TestAutostartRefusesATemporaryBuild(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	cfg := filepath.Join(dir, "p.yaml")
	os.WriteFile(cfg, []byte("providers:\n  - {name: A, type: anthropic, base_url: \"http://127.0.0.1:9\", auth_type: api_key, auth_value: k}\nmodel_routes:\n  \"*\": [{provider: A}]\n"), 0o600)
	var out, errb bytes.Buffer
	if code := autostartCommand([]string{"enable", "--config", cfg}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "is a temporary build") {
		t.Fatalf("enable from a temporary build = %d\n%s%s", code, out.String(), errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "config", "autostart", "ccbalancer.desktop")); !os.IsNotExist(err) {
		t.Errorf("an entry was written: %v", err)
	}
}

// TestStatusAndStopWithNothingRunning: both say so and exit 1.
func TestStatusAndStopWithNothingRunning(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	for _, cmd := range []string{"status", "stop"} {
		var out, errb bytes.Buffer
		if code := run([]string{cmd}, &out, &errb); code != 1 || out.String() != "ccbalancer is not running\n" {
			t.Errorf("%s = %d, %q %q", cmd, code, out.String(), errb.String())
		}
	}
}
