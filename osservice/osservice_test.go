package osservice

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSystemdExec(t *testing.T) {
	tests := []struct {
		argv []string
		want string
	}{
		{[]string{"/usr/bin/ccbalancer", "serve"}, "/usr/bin/ccbalancer serve"},
		{[]string{"/opt/my apps/ccbalancer", "serve", "--config", "/home/me/p.yaml"}, `"/opt/my apps/ccbalancer" serve --config /home/me/p.yaml`},
		{[]string{"/x", "100%"}, "/x 100%%"},
		{[]string{"/x", "$HOME"}, "/x $$HOME"},
		{[]string{"/x", `a"b\c`}, `/x "a\"b\\c"`},
		{[]string{"/x", ""}, `/x ""`},
	}
	for _, tt := range tests {
		if got := SystemdExec(tt.argv); got != tt.want {
			t.Errorf("SystemdExec(%q) = %s, want %s", tt.argv, got, tt.want)
		}
	}
}

func TestSystemdUnit(t *testing.T) {
	tests := []struct {
		name    string
		user    bool
		envFile string
		want    string
	}{
		{
			// A system service has no home: state and logs in its own
			// directories, keys from its environment file.
			name: "system", envFile: "/etc/ccbalancer/ccbalancer.env",
			want: `[Unit]
Description=ccbalancer: local proxy that balances Claude Code across providers
Documentation=https://github.com/ccbalancer/ccbalancer
Wants=network-online.target
After=network-online.target
StartLimitIntervalSec=60
StartLimitBurst=5

[Service]
Type=notify
ExecStart=/usr/bin/ccbalancer serve --config /etc/ccbalancer/providers.yaml
EnvironmentFile=/etc/ccbalancer/ccbalancer.env
StateDirectory=ccbalancer
LogsDirectory=ccbalancer
Restart=on-failure
RestartSec=5
TimeoutStopSec=120
NoNewPrivileges=true
ProtectSystem=full

[Install]
WantedBy=multi-user.target
`,
		},
		{
			// A user manager never reaches multi-user.target: such a unit would never start.
			name: "user without keys in the environment", user: true,
			want: `[Unit]
Description=ccbalancer: local proxy that balances Claude Code across providers
Documentation=https://github.com/ccbalancer/ccbalancer
StartLimitIntervalSec=60
StartLimitBurst=5

[Service]
Type=notify
ExecStart=/usr/bin/ccbalancer serve --config /etc/ccbalancer/providers.yaml
Restart=on-failure
RestartSec=5
TimeoutStopSec=120
NoNewPrivileges=true

[Install]
WantedBy=default.target
`,
		},
	}
	for _, tt := range tests {
		got := SystemdUnit("/usr/bin/ccbalancer", []string{"serve", "--config", "/etc/ccbalancer/providers.yaml"}, tt.user, tt.envFile)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestCommandRejects(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"relative config", Options{Executable: "/usr/bin/ccbalancer", ConfigPath: "providers.yaml"}},
		{"relative executable", Options{Executable: "ccbalancer", ConfigPath: "/p.yaml"}},
		{"relative environment file", Options{Executable: "/usr/bin/ccbalancer", ConfigPath: "/p.yaml", EnvFile: "keys.env"}},
	}
	for _, tt := range tests {
		if _, _, err := command(tt.opts); err == nil {
			t.Errorf("%s: command(%+v) succeeded, want an error", tt.name, tt.opts)
		}
	}
	if runtime.GOOS == "linux" {
		if _, err := Control("explode", Options{Executable: "/usr/bin/ccbalancer"}); err == nil {
			t.Error("Control with an unknown action succeeded")
		}
	}
}

func TestEnvFileRoundTrip(t *testing.T) {
	vars := map[string]string{"ANTHROPIC_API_KEY": "sk-ant-$x#y \\z", "B": "", "OPENROUTER_API_KEY": `sk"or`}
	data, err := RenderEnvFile(vars)
	if err != nil {
		t.Fatal(err)
	}
	want := "# Environment of the ccbalancer service, written by `ccbalancer service install`.\n" +
		"# It holds keys: keep it readable by its owner only (mode 0600).\n" +
		"ANTHROPIC_API_KEY='sk-ant-$x#y \\z'\nB=''\nOPENROUTER_API_KEY='sk\"or'\n"
	if diff := cmp.Diff(want, string(data)); diff != "" {
		t.Errorf("RenderEnvFile (-want +got):\n%s", diff)
	}
	for _, bad := range []map[string]string{{"K": "it's"}, {"K": "a\nb"}, {"1K": "v"}} {
		if _, err := RenderEnvFile(bad); err == nil {
			t.Errorf("RenderEnvFile(%q) succeeded", bad)
		}
	}
	// A file written by the user, in the forms systemd reads the same way.
	path := filepath.Join(t.TempDir(), "keys.env")
	os.WriteFile(path, []byte("# keys\n\n; also a comment\nA=plain value  \n B = 'single $x' \nC=\"double\"\nD=\n"), 0o600)
	got, err := ReadEnvFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"A": "plain value", "B": "single $x", "C": "double", "D": ""}, got); diff != "" {
		t.Errorf("ReadEnvFile (-want +got):\n%s", diff)
	}
	written := filepath.Join(t.TempDir(), "written.env")
	os.WriteFile(written, data, 0o600)
	back, err := ReadEnvFile(written)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(vars, back); diff != "" {
		t.Errorf("what RenderEnvFile writes reads back differently (-want +got):\n%s", diff)
	}
}

func TestReadEnvFileErrors(t *testing.T) {
	tests := []struct {
		content string
		mode    os.FileMode
		want    string
	}{
		{"A=1\nexport B=2\n", 0o600, "keys.env:2: want NAME=value"},
		{"A='it\\'s'\n", 0o600, `keys.env:1: A: a value in single quotes cannot hold a single quote`},
		{"A=\"a\\\\b\"\n", 0o600, `keys.env:1: A: a value in double quotes cannot hold`},
		{"A=it's\n", 0o600, "keys.env:1: A: quote the value in single quotes"},
		{"A=1\n", 0o644, "is readable by every user (mode 0644) and holds keys: run chmod 600"},
	}
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), "keys.env")
		os.WriteFile(path, []byte(tt.content), 0o600)
		os.Chmod(path, tt.mode)
		if runtime.GOOS == "windows" && tt.mode != 0o600 {
			continue
		}
		_, err := ReadEnvFile(path)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ReadEnvFile(%q) = %v, want %q", tt.content, err, tt.want)
		}
	}
}
