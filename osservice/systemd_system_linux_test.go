package osservice

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/internal/fakesystemd"
)

// TestSystemServiceLifecycle installs and removes the system unit with the
// fake systemctl, over private copies of /etc, /var/lib, /var/log and
// /run/systemd.
func TestSystemServiceLifecycle(t *testing.T) {
	if !inMountNamespace(t) {
		return
	}
	state := fakesystemd.Start(t)
	mountOverlay(t, "/etc")
	mountTmpfs(t, "/var/lib")
	mountTmpfs(t, "/var/log")
	os.MkdirAll("/run/systemd", 0o755)
	mountTmpfs(t, "/run/systemd")
	opts := Options{Executable: "/usr/bin/ccbalancer", ConfigPath: "/srv/providers.yaml", Env: map[string]string{"ANTHROPIC_API_KEY": "sk-ant-sys"}}

	// Without systemd running the machine there is nothing to install into.
	if _, err := Control("install", opts); err == nil || !strings.Contains(err.Error(), "systemd is not running on this machine") {
		t.Fatalf("install without systemd: %v", err)
	}
	if err := os.Mkdir("/run/systemd/system", 0o755); err != nil {
		t.Fatal(err)
	}
	// What an install through SysV init left behind.
	legacy := []string{"/etc/init.d/ccbalancer", "/var/log/ccbalancer.log", "/var/log/ccbalancer.err"}
	for _, p := range legacy {
		touch(t, p)
	}
	for _, l := range []string{"/etc/rc2.d/S50ccbalancer", "/etc/rc0.d/K02ccbalancer"} {
		if err := os.Symlink("/etc/init.d/ccbalancer", l); err != nil {
			t.Fatal(err)
		}
		legacy = append(legacy, l)
	}
	state.Calls(t)

	msg, err := Control("install", opts)
	if err != nil {
		t.Fatal(err)
	}
	want := "installed and started the system service ccbalancer (systemd), serving /srv/providers.yaml\n" +
		"  /etc/ccbalancer/ccbalancer.env (mode 0600): the service's keys (ANTHROPIC_API_KEY)\n" +
		"  /etc/systemd/system/ccbalancer.service\n" +
		"it starts at boot; its log: /var/log/ccbalancer/logs.jsonl and journalctl -u ccbalancer.service"
	if diff := cmp.Diff(want, msg); diff != "" {
		t.Errorf("install message (-want +got):\n%s", diff)
	}
	unit, _ := os.ReadFile("/etc/systemd/system/ccbalancer.service")
	if diff := cmp.Diff(SystemdUnit("/usr/bin/ccbalancer", []string{"serve", "--config", "/srv/providers.yaml"}, false, "/etc/ccbalancer/ccbalancer.env"), string(unit)); diff != "" {
		t.Errorf("unit (-want +got):\n%s", diff)
	}
	for path, mode := range map[string]os.FileMode{"/etc/ccbalancer": 0o700 | os.ModeDir, "/etc/ccbalancer/ccbalancer.env": 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != mode {
			t.Errorf("%s: %v, %v; want mode %v", path, fi, err, mode)
		}
	}
	if msg, err := Control("status", Options{}); err != nil || msg != "the system service ccbalancer is running (/etc/systemd/system/ccbalancer.service)" {
		t.Errorf("status = %q, %v", msg, err)
	}
	state.Calls(t)

	msg, err = Control("uninstall", Options{})
	if err != nil {
		t.Fatal(err)
	}
	want = "uninstalled the system service ccbalancer; removed:\n" +
		"  the unit's enable links (systemctl disable)\n" +
		"  /etc/systemd/system/ccbalancer.service\n" +
		"  /etc/ccbalancer/ccbalancer.env\n" +
		"  /etc/init.d/ccbalancer\n  /var/log/ccbalancer.log\n  /var/log/ccbalancer.err\n" +
		"  /etc/rc2.d/S50ccbalancer\n  /etc/rc0.d/K02ccbalancer\n" +
		"  /var/lib/ccbalancer/\n  /var/log/ccbalancer/\n" +
		"  /etc/ccbalancer/"
	if diff := cmp.Diff(want, msg); diff != "" {
		t.Errorf("uninstall message (-want +got):\n%s", diff)
	}
	for _, p := range append(legacy, "/etc/systemd/system/ccbalancer.service", "/etc/ccbalancer", "/var/lib/ccbalancer", "/var/log/ccbalancer", state.Enabled()) {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s left behind: %v", p, err)
		}
	}
	if diff := cmp.Diff([]string{"stop ccbalancer.service", "disable ccbalancer.service", "daemon-reload", "reset-failed ccbalancer.service"}, state.Calls(t)); diff != "" {
		t.Errorf("uninstall's systemctl calls (-want +got):\n%s", diff)
	}

	// With --env-file the user's own file is named in the unit, and stays.
	own := filepath.Join(t.TempDir(), "keys.env")
	os.WriteFile(own, []byte("ANTHROPIC_API_KEY=k\n"), 0o600)
	if _, err := Control("install", Options{Executable: "/usr/bin/ccbalancer", ConfigPath: "/srv/providers.yaml", EnvFile: own}); err != nil {
		t.Fatal(err)
	}
	unit, _ = os.ReadFile("/etc/systemd/system/ccbalancer.service")
	if !strings.Contains(string(unit), "\nEnvironmentFile="+own+"\n") {
		t.Errorf("unit does not name the user's environment file:\n%s", unit)
	}
	if _, err := os.Stat("/etc/ccbalancer"); !os.IsNotExist(err) {
		t.Errorf("an environment file was written although --env-file was given: %v", err)
	}
	if _, err := Control("uninstall", Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(own); err != nil {
		t.Errorf("uninstall removed the user's own environment file: %v", err)
	}
}
