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

func TestSystemdUnitTarget(t *testing.T) {
	tests := []struct {
		user       bool
		wantedBy   string
		absentLine string
	}{
		// A user manager never reaches multi-user.target: such a unit would never start.
		{true, "WantedBy=default.target", "WantedBy=multi-user.target"},
		{false, "WantedBy=multi-user.target", "WantedBy=default.target"},
	}
	for _, tt := range tests {
		unit := SystemdUnit("/usr/bin/ccbalancer", []string{"serve", "--config", "/etc/ccbalancer/providers.yaml"}, tt.user)
		lines := strings.Split(unit, "\n")
		has := func(l string) bool {
			for _, x := range lines {
				if x == l {
					return true
				}
			}
			return false
		}
		for _, want := range []string{tt.wantedBy, "ExecStart=/usr/bin/ccbalancer serve --config /etc/ccbalancer/providers.yaml", "[Install]", "Restart=on-failure"} {
			if !has(want) {
				t.Errorf("user=%v: unit lacks %q:\n%s", tt.user, want, unit)
			}
		}
		if has(tt.absentLine) {
			t.Errorf("user=%v: unit has %q", tt.user, tt.absentLine)
		}
	}
}

func TestConfigRejects(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"relative config", Options{Executable: "/usr/bin/ccbalancer", ConfigPath: "providers.yaml"}},
		{"relative executable", Options{Executable: "ccbalancer", ConfigPath: "/p.yaml"}},
		{"template braces", Options{Executable: "/usr/bin/ccbalancer", ConfigPath: "/tmp/{{x}}/p.yaml"}},
	}
	for _, tt := range tests {
		if _, err := config(tt.opts); err == nil {
			t.Errorf("%s: config(%+v) succeeded, want an error", tt.name, tt.opts)
		}
	}
	if _, err := Control("explode", Options{Executable: "/usr/bin/ccbalancer"}); err == nil {
		t.Error("Control with an unknown action succeeded")
	}
}

// fakeSystemctl puts a systemctl on PATH that records its arguments and
// answers is-active from a state file, with HOME in a temp dir. It returns
// the log's path and the state file's path.
func fakeSystemctl(t *testing.T) (log, state string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("systemd user services exist on Linux only")
	}
	home := t.TempDir()
	bin := t.TempDir()
	log = filepath.Join(t.TempDir(), "systemctl.log")
	state = filepath.Join(t.TempDir(), "state")
	script := `#!/bin/sh
echo "$*" >> "` + log + `"
case "$1" in
is-active)
	if [ -f "` + state + `" ]; then cat "` + state + `"; exit 0; fi
	echo inactive; exit 3 ;;
list-unit-files)
	if [ -f "$HOME/.config/systemd/user/ccbalancer.service" ]; then echo "ccbalancer.service disabled disabled"; fi
	exit 0 ;;
esac
exit 0
`
	if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return log, state
}

func readLog(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(name)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(name)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func TestUserServiceLifecycle(t *testing.T) {
	log, state := fakeSystemctl(t)
	opts := Options{User: true, Executable: "/opt/cc balancer/ccbalancer", ConfigPath: "/home/me/ccbalancer/providers.yaml"}
	unitPath := filepath.Join(os.Getenv("HOME"), ".config", "systemd", "user", "ccbalancer.service")

	steps := []struct {
		action   string
		setState string // written to the state file before the step; "-" removes it
		wantMsg  string
		wantErr  bool
		wantCmds []string
	}{
		{action: "status", wantMsg: "the user service ccbalancer is not installed",
			wantCmds: []string{"is-active ccbalancer.service --user", "list-unit-files -t service ccbalancer.service --user"}},
		{action: "install", wantMsg: "installed the user service ccbalancer (linux-systemd), serving /home/me/ccbalancer/providers.yaml",
			wantCmds: []string{"enable --user ccbalancer.service", "daemon-reload --user"}},
		{action: "install", wantErr: true},
		{action: "status", wantMsg: "the user service ccbalancer is installed and stopped",
			wantCmds: []string{"is-active ccbalancer.service --user", "list-unit-files -t service ccbalancer.service --user"}},
		{action: "start", wantMsg: "started the user service ccbalancer", wantCmds: []string{"start --user ccbalancer.service"}},
		{action: "status", setState: "active", wantMsg: "the user service ccbalancer is running",
			wantCmds: []string{"is-active ccbalancer.service --user"}},
		{action: "stop", setState: "-", wantMsg: "stopped the user service ccbalancer", wantCmds: []string{"stop --user ccbalancer.service"}},
		{action: "uninstall", wantMsg: "uninstalled the user service ccbalancer",
			wantCmds: []string{"disable --user ccbalancer.service", "daemon-reload --user"}},
	}
	for i, st := range steps {
		switch st.setState {
		case "":
		case "-":
			os.Remove(state)
		default:
			if err := os.WriteFile(state, []byte(st.setState+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		msg, err := Control(st.action, opts)
		if st.wantErr {
			if err == nil {
				t.Errorf("step %d %s: succeeded, want an error", i, st.action)
			}
			readLog(t, log)
			continue
		}
		if err != nil {
			t.Fatalf("step %d %s: %v", i, st.action, err)
		}
		if msg != st.wantMsg {
			t.Errorf("step %d %s: message %q, want %q", i, st.action, msg, st.wantMsg)
		}
		if diff := cmp.Diff(st.wantCmds, readLog(t, log)); diff != "" {
			t.Errorf("step %d %s: systemctl calls (-want +got):\n%s", i, st.action, diff)
		}
		if st.action == "install" {
			b, err := os.ReadFile(unitPath)
			if err != nil {
				t.Fatalf("unit not written: %v", err)
			}
			want := SystemdUnit(opts.Executable, []string{"serve", "--config", opts.ConfigPath}, true)
			if diff := cmp.Diff(want, string(b)); diff != "" {
				t.Errorf("unit file (-want +got):\n%s", diff)
			}
		}
	}
	if _, err := os.Stat(unitPath); !os.IsNotExist(err) {
		t.Errorf("unit file still there after uninstall: %v", err)
	}
}

func TestUserServiceNeedsSystemctl(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := Control("install", Options{User: true, Executable: "/usr/bin/ccbalancer", ConfigPath: "/p.yaml"}); err == nil || !strings.Contains(err.Error(), "systemd") {
		t.Errorf("install without systemctl: %v, want an error naming systemd", err)
	}
}
