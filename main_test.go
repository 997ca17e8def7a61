package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCommandLine(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	t.Setenv("CCBALANCER_CONFIG", "")
	t.Chdir(dir)
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("providers:\n  - {name: A, type: anthropic, base_url: \"http://127.0.0.1:9\", auth_type: api_key, auth_value: k}\nmodel_routes:\n  \"*sonnet*\":\n    - {provider: A, model: passthrough}\n"), 0o600)
	oai := filepath.Join(dir, "oai.yaml")
	os.WriteFile(oai, []byte("providers:\n  - {name: DS, type: openai, base_url: \"https://api.deepseek.com\", auth_value: k}\n"+
		"  - {name: Local, type: openai, base_url: \"http://127.0.0.1:8000\", auth_value: k, family: vllm}\n"+
		"model_routes:\n  \"*sonnet*\":\n    - {provider: DS, model: deepseek-chat}\n"), 0o600)
	withPassword := filepath.Join(dir, "userinfo.yaml")
	os.WriteFile(withPassword, []byte("providers:\n  - {name: A, type: anthropic, base_url: \"https://user:pa55-w0rd@127.0.0.1:9\", auth_type: api_key, auth_value: k}\nmodel_routes:\n  \"*sonnet*\":\n    - {provider: A, model: passthrough}\n"), 0o600)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("providers:\n  - {name: A, type: zed, base_url: \"nope\"}\nsettings:\n  prioirty: 1\n"), 0o600)
	written := filepath.Join(dir, "new", "providers.yaml")
	tests := []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"version", []string{"version"}, 0, "ccbalancer dev", ""},
		{"help", []string{"help"}, 0, "Usage:", ""},
		{"unknown command", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"unknown flag", []string{"serve", "--bogus"}, 2, "", "flag provided but not defined: -bogus"},
		{"stray argument", []string{"check", "extra"}, 2, "", `unexpected argument "extra"`},
		{"check good", []string{"check", "--config", good}, 0, "good.yaml: ok", ""},
		// check starts nothing: it says where serve would listen, and the
		// log file's real path.
		{"check says it would listen", []string{"check", "--config", good}, 0, "would listen on http://127.0.0.1:8080", ""},
		{"check names the log file", []string{"check", "--config", good}, 0, "log file: " + filepath.Join(dir, "state", "ccbalancer"), ""},
		{"serve --listen not HOST:PORT", []string{"serve", "--config", good, "--listen", "nonsense"}, 2, "", `--listen "nonsense": want HOST:PORT`},
		{"serve --listen bad port", []string{"serve", "--config", good, "--listen", "127.0.0.1:99999"}, 2, "", `--listen "127.0.0.1:99999": want HOST:PORT`},
		{"check prints the family", []string{"check", "--config", oai}, 0, "DS             family deepseek (detected from the host api.deepseek.com), requests to https://api.deepseek.com/chat/completions", ""},
		{"check prints a set family", []string{"check", "--config", oai}, 0, "Local          family vllm (set by family:), requests to http://127.0.0.1:8000/chat/completions", ""},
		{"check warns about a base without a version", []string{"check", "--config", oai}, 0,
			"warning: " + oai + ":3: providers[1].base_url: base_url \"http://127.0.0.1:8000\" has no version segment", ""},
		{"check bad lists every error", []string{"check", "--config", bad}, 1, "", "bad.yaml:2"},
		{"check hides a base_url's user info", []string{"check", "--config", withPassword}, 0, "https://[REDACTED]@127.0.0.1:9", ""},
		{"check missing file", []string{"check", "--config", filepath.Join(dir, "none.yaml")}, 1, "", "none.yaml"},
		{"no config anywhere", []string{"serve"}, 1, "", "ccbalancer init"},
		{"serve --listen beyond loopback without auth_key", []string{"serve", "--config", good, "--listen", "0.0.0.0:0"}, 1, "", `listening on \"0.0.0.0:0\" (not a loopback address) requires settings.auth_key`},
		{"demo --listen beyond loopback", []string{"demo", "--headless", "--traffic=false", "--listen", ":0"}, 1, "", "requires settings.auth_key"},
		{"init writes", []string{"init", "--config", written}, 0, "wrote " + written, ""},
		{"init never overwrites", []string{"init", "--config", written}, 1, "", "exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tt.args, &out, &errb)
			if code != tt.code || !strings.Contains(out.String(), tt.out) || !strings.Contains(errb.String(), tt.err) ||
				strings.Contains(out.String()+errb.String(), "pa55-w0rd") {
				t.Fatalf("run(%q) = %d\nstdout: %s\nstderr: %s\nwant %d, stdout ~ %q, stderr ~ %q", tt.args, code, out.String(), errb.String(), tt.code, tt.out, tt.err)
			}
		})
	}
	// DeepSeek serves Chat Completions without a version segment: no warning.
	var oaiOut bytes.Buffer
	if run([]string{"check", "--config", oai}, &oaiOut, &bytes.Buffer{}); strings.Contains(oaiOut.String(), "providers[0].base_url") {
		t.Errorf("check warned about DeepSeek's base_url:\n%s", oaiOut.String())
	}
	// The file init wrote is the embedded example, private, and it parses.
	st, err := os.Stat(written)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("init wrote %v, %v", st, err)
	}
	b, _ := os.ReadFile(written)
	if !bytes.Equal(b, exampleConfig) {
		t.Error("init did not write the example configuration")
	}
	// Without a keyring its first key cannot be read, and check says so
	// (TestSecretCommand checks it with the keys stored).
	var out, errb bytes.Buffer
	t.Setenv("OPENROUTER_API_KEY", "y")
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(dir, "no-bus"))
	if code := run([]string{"check", "--config", written}, &out, &errb); code != 1 || !strings.Contains(errb.String(), `keyring entry "anthropic" cannot be read`) {
		t.Fatalf("check of the example without its keys = %d: %s", code, errb.String())
	}
}

// TestVersionString: the values packaging/build.sh sets with -ldflags win
// over the VCS stamp.
func TestVersionString(t *testing.T) {
	v, c, d := version, commit, date
	t.Cleanup(func() { version, commit, date = v, c, d })
	version, commit, date = "1.2.3", "0123abc", "2026-11-30T12:00:00Z"
	got := versionString()
	if !strings.HasPrefix(got, "ccbalancer 1.2.3 (commit 0123abc, built 2026-11-30T12:00:00Z, go") {
		t.Errorf("versionString = %q", got)
	}
}
