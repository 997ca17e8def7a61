package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/internal/fakesystemd"
	"github.com/ccbalancer/ccbalancer/osservice"
)

// TestServiceCommand: install checks the configuration in the service's
// environment before writing anything, and copies into the service's
// environment file the variables the configuration uses, and only those.
func TestServiceCommand(t *testing.T) {
	fake := fakesystemd.Start(t)
	dir := t.TempDir()
	t.Setenv("CCBALANCER_CONFIG", "")
	t.Chdir(dir)
	cfg := filepath.Join(dir, "p.yaml")
	os.WriteFile(cfg, []byte("providers:\n"+
		"  - {name: A, type: anthropic, base_url: \"http://127.0.0.1:9\", auth_value: \"${CCB_KEY_A}\"}\n"+
		"  - {name: B, type: anthropic, base_url: \"http://127.0.0.1:9\", auth_value: \"${CCB_KEY_B}\", enabled: false}\n"+
		"model_routes:\n  \"*sonnet*\": [{provider: A}]\n"), 0o600)
	withKeyring := filepath.Join(dir, "kr.yaml")
	os.WriteFile(withKeyring, []byte("providers:\n  - {name: A, type: anthropic, base_url: \"http://127.0.0.1:9\", auth_value: \"keyring:a\"}\n"+
		"model_routes:\n  \"*sonnet*\": [{provider: A}]\n"), 0o600)
	envFile := filepath.Join(dir, "keys.env")
	os.WriteFile(envFile, []byte("CCB_KEY_B=b\n"), 0o600)
	loose := filepath.Join(dir, "loose.env")
	os.WriteFile(loose, []byte("CCB_KEY_A=a\n"), 0o600)
	os.Chmod(loose, 0o644)
	serviceEnv := filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "ccbalancer", "service.env")
	unit := filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "systemd", "user", "ccbalancer.service")
	t.Setenv("UNRELATED_SECRET", "never copied")

	steps := []struct {
		args     []string
		setA     bool
		code     int
		out, err string
	}{
		{args: []string{"install", "--user", "--config", filepath.Join(dir, "none.yaml")}, code: 1, err: "ccbalancer init"},
		{args: []string{"install", "--user", "--config", "p.yaml"}, code: 1,
			err: `p.yaml:2: providers[0].auth_value: provider "A": environment variable CCB_KEY_A is not set` + "\n" +
				"the service gets ${NAME} values from this shell's environment at install time (sudo drops it: use sudo -E, or pass --env-file FILE)"},
		{args: []string{"install", "--user", "--config", "p.yaml", "--env-file", "keys.env"}, code: 1,
			err: "environment variable CCB_KEY_A is not set\nset the variables in " + envFile},
		{args: []string{"install", "--user", "--config", "p.yaml", "--env-file", "loose.env"}, code: 1,
			err: "loose.env is readable by every user (mode 0644) and holds keys: run chmod 600"},
		{args: []string{"install", "--config", "kr.yaml"}, code: 1,
			err: `keyring entry "a" cannot be read: a system service runs outside any user's session and cannot read a keyring`},
		{args: []string{"install", "--user", "--config", "p.yaml"}, setA: true, code: 0,
			out: "installed and started the user service ccbalancer (systemd), serving " + cfg},
		{args: []string{"--user", "status"}, code: 0, out: "the user service ccbalancer is running (" + unit + ")"},
		{args: []string{"--user", "uninstall"}, code: 0, out: "uninstalled the user service ccbalancer; removed:"},
		{args: []string{"status", "--env-file", "keys.env"}, code: 2, err: "--env-file is for install only"},
		{args: []string{"explode"}, code: 2, err: `unknown action "explode"`},
		{args: nil, code: 2, err: "missing action"},
		{args: []string{"install", "--bogus"}, code: 2, err: "flag provided but not defined"},
	}
	for i, s := range steps {
		if s.setA {
			t.Setenv("CCB_KEY_A", "sk-a")
		}
		var out, errb bytes.Buffer
		code := serviceCommand(s.args, &out, &errb)
		if code != s.code || !strings.Contains(out.String(), s.out) || !strings.Contains(errb.String(), s.err) {
			t.Fatalf("step %d service %q = %d\nstdout: %s\nstderr: %s\nwant %d, %q, %q", i, s.args, code, out.String(), errb.String(), s.code, s.out, s.err)
		}
		if s.code == 1 {
			if _, err := os.Stat(unit); !os.IsNotExist(err) {
				t.Fatalf("step %d: a failed install left %s: %v", i, unit, err)
			}
			if got := fake.Calls(t); got != nil {
				t.Fatalf("step %d: a configuration that does not load reached systemctl: %q", i, got)
			}
		}
		if s.setA {
			// The variables the file names that are set go in; nothing else does.
			env, err := osservice.ReadEnvFile(serviceEnv)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(map[string]string{"CCB_KEY_A": "sk-a"}, env); diff != "" {
				t.Errorf("service environment (-want +got):\n%s", diff)
			}
		}
	}
	if _, err := os.Stat(serviceEnv); !os.IsNotExist(err) {
		t.Errorf("environment file still there after uninstall: %v", err)
	}
}
