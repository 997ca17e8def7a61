package osservice

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/internal/fakesystemd"
)

const showStatus = "--user show ccbalancer.service --property=LoadState,ActiveState,SubState,Result,ExecMainCode,ExecMainStatus,FragmentPath"

func TestUserServiceLifecycle(t *testing.T) {
	state := fakesystemd.Start(t)
	config := os.Getenv("XDG_CONFIG_HOME")
	unit := filepath.Join(config, "systemd", "user", "ccbalancer.service")
	envFile := filepath.Join(config, "ccbalancer", "service.env")
	opts := Options{User: true, Executable: "/opt/cc balancer/ccbalancer", ConfigPath: filepath.Join(config, "ccbalancer", "providers.yaml"),
		Env: map[string]string{"OPENROUTER_API_KEY": "sk-or-1"}}
	os.MkdirAll(filepath.Dir(opts.ConfigPath), 0o700)
	touch(t, opts.ConfigPath)

	steps := []struct {
		action   string
		wantMsg  string
		wantCmds []string
	}{
		{action: "status", wantMsg: "the user service ccbalancer is not installed", wantCmds: []string{showStatus}},
		{action: "install",
			wantMsg: "installed and started the user service ccbalancer (systemd), serving " + opts.ConfigPath + "\n" +
				"  " + envFile + " (mode 0600): the service's keys (OPENROUTER_API_KEY)\n" +
				"  " + unit + "\n" +
				"it starts at login; its log: " + filepath.Join(os.Getenv("XDG_STATE_HOME"), "ccbalancer", "logs.jsonl") + " and journalctl --user -u ccbalancer.service",
			wantCmds: []string{"--user show --property=Version", "--user daemon-reload", "--user enable ccbalancer.service", "--user start ccbalancer.service", showStatus}},
		{action: "status", wantMsg: "the user service ccbalancer is running (" + unit + ")", wantCmds: []string{showStatus}},
		{action: "stop", wantMsg: "stopped the user service ccbalancer", wantCmds: []string{"--user stop ccbalancer.service"}},
		{action: "status", wantMsg: "the user service ccbalancer is stopped (" + unit + ")", wantCmds: []string{showStatus}},
		{action: "start", wantMsg: "started the user service ccbalancer", wantCmds: []string{"--user start ccbalancer.service", showStatus}},
		{action: "uninstall",
			wantMsg:  "uninstalled the user service ccbalancer; removed:\n  the unit's enable links (systemctl disable)\n  " + unit + "\n  " + envFile,
			wantCmds: []string{"--user stop ccbalancer.service", "--user disable ccbalancer.service", "--user daemon-reload", "--user reset-failed ccbalancer.service"}},
		{action: "uninstall", wantMsg: "the user service ccbalancer is not installed: nothing to remove"},
	}
	for i, st := range steps {
		msg, err := Control(st.action, opts)
		if err != nil {
			t.Fatalf("step %d %s: %v", i, st.action, err)
		}
		if diff := cmp.Diff(st.wantMsg, msg); diff != "" {
			t.Errorf("step %d %s: message (-want +got):\n%s", i, st.action, diff)
		}
		if diff := cmp.Diff(st.wantCmds, state.Calls(t)); diff != "" {
			t.Errorf("step %d %s: systemctl calls (-want +got):\n%s", i, st.action, diff)
		}
		if st.action == "install" {
			b, err := os.ReadFile(unit)
			if err != nil {
				t.Fatalf("unit not written: %v", err)
			}
			want := SystemdUnit(opts.Executable, []string{"serve", "--config", opts.ConfigPath}, true, envFile)
			if diff := cmp.Diff(want, string(b)); diff != "" {
				t.Errorf("unit file (-want +got):\n%s", diff)
			}
			fi, err := os.Stat(envFile)
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("environment file: %v, %v; want mode 0600", fi, err)
			}
			if env, err := ReadEnvFile(envFile); err != nil || env["OPENROUTER_API_KEY"] != "sk-or-1" {
				t.Errorf("environment file holds %v, %v", env, err)
			}
			if _, err := Control("install", opts); err == nil || !strings.Contains(err.Error(), unit+" exists: run `ccbalancer service uninstall --user` first") {
				t.Errorf("second install: %v", err)
			}
			state.Calls(t)
		}
	}
	for _, p := range []string{unit, envFile, state.Enabled()} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still there after uninstall: %v", p, err)
		}
	}
	// The user's own config, beside the environment file, stays.
	if _, err := os.Stat(opts.ConfigPath); err != nil {
		t.Errorf("the config file went: %v", err)
	}
}

// TestUserInstallFailsToStart: the unit's process exits at once. install
// reports systemctl's message, systemd's reason and the service's last log
// lines, and removes everything it wrote.
func TestUserInstallFailsToStart(t *testing.T) {
	state := fakesystemd.Start(t)
	state.FailStart(t)
	logFile := filepath.Join(os.Getenv("XDG_STATE_HOME"), "ccbalancer", "logs.jsonl")
	os.MkdirAll(filepath.Dir(logFile), 0o700)
	var log strings.Builder
	for i := range 12 {
		log.WriteString(`{"level":"INFO","msg":"line ` + string(rune('a'+i)) + `"}` + "\n")
	}
	log.WriteString(`{"level":"ERROR","msg":"cannot start","err":"listen tcp 127.0.0.1:8080: bind: address already in use"}` + "\n")
	os.WriteFile(logFile, []byte(log.String()), 0o600)

	_, err := Control("install", Options{User: true, Executable: "/usr/bin/ccbalancer", ConfigPath: "/p.yaml", Env: map[string]string{"K": "v"}})
	if err == nil {
		t.Fatal("install succeeded although the service failed to start")
	}
	for _, want := range []string{
		"installing the user service ccbalancer (systemd): systemctl --user start ccbalancer.service: Job for ccbalancer.service failed because the control process exited with error code.",
		"the service failed: exit-code, exit status 1 (",
		"last lines of its log:\n  " + `{"level":"INFO","msg":"line d"}`,
		`bind: address already in use"}` + "\nnothing was left installed",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), `"line c"`) {
		t.Errorf("more than %d log lines shown:\n%v", logLines, err)
	}
	config := os.Getenv("XDG_CONFIG_HOME")
	for _, p := range []string{filepath.Join(config, "systemd", "user", "ccbalancer.service"), filepath.Join(config, "ccbalancer", "service.env"),
		filepath.Join(config, "ccbalancer"), filepath.Join(config, "systemd")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left behind: %v", p, err)
		}
	}
	got := state.Calls(t)
	if !containsAll(got, "--user disable ccbalancer.service", "--user daemon-reload") || got[len(got)-1] != "--user reset-failed ccbalancer.service" {
		t.Errorf("rollback calls: %q", got)
	}
}

// TestUserServiceWithoutManager: systemctl cannot reach a user manager.
// install says what systemctl said and what to do, and writes nothing.
func TestUserServiceWithoutManager(t *testing.T) {
	state := fakesystemd.Start(t)
	state.Unreachable(t)
	_, err := Control("install", Options{User: true, Executable: "/usr/bin/ccbalancer", ConfigPath: "/p.yaml", Env: map[string]string{"K": "v"}})
	want := "installing the user service ccbalancer (systemd): systemctl --user show --property=Version: Failed to connect to bus: No medium found\n" +
		"no systemd user manager is reachable: log in to a desktop session (or run `loginctl enable-linger $USER`), or use `ccbalancer autostart enable` to start the tray at login"
	if err == nil || err.Error() != want {
		t.Errorf("install = %v\nwant %s", err, want)
	}
	if _, err := os.Stat(os.Getenv("XDG_CONFIG_HOME")); !os.IsNotExist(err) {
		t.Errorf("install wrote into the config directory: %v", err)
	}
	if _, err := Control("status", Options{User: true}); err == nil || !strings.Contains(err.Error(), "No medium found") {
		t.Errorf("status = %v, want systemctl's message", err)
	}
}

func TestUserServiceNeedsSystemctl(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := Control("install", Options{User: true, Executable: "/usr/bin/ccbalancer", ConfigPath: "/p.yaml"}); err == nil || !strings.Contains(err.Error(), "systemctl is not installed") {
		t.Errorf("install without systemctl: %v, want an error naming systemctl", err)
	}
}

func containsAll(list []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, l := range list {
			found = found || l == w
		}
		if !found {
			return false
		}
	}
	return true
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}
