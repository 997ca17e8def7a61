// Package fakesystemd puts a stand-in for systemctl on PATH for tests that
// install ccbalancer's systemd unit without a real systemd. It speaks the
// part of systemctl's command line the installer uses, answers `show` as
// systemctl does, and records every call.
package fakesystemd

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// script stands in for systemctl: it records its arguments in
// $FAKE_SYSTEMCTL/log and keeps the unit's state in files there. A file
// "unreachable" makes every call fail as systemctl does without a manager;
// a file "fail-start" makes start fail as a unit whose process exits 1 does.
// start also creates the directories systemd makes for StateDirectory= and
// LogsDirectory= when the unit asks for them.
const script = `#!/bin/sh
d="$FAKE_SYSTEMCTL"
echo "$*" >> "$d/log"
if [ "$1" = --user ]; then
	unit="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/ccbalancer.service"; shift
else
	unit=/etc/systemd/system/ccbalancer.service
fi
if [ -f "$d/unreachable" ]; then
	echo "Failed to connect to bus: No medium found" >&2; exit 1
fi
case "$1" in
show)
	if [ "$2" = --property=Version ]; then echo Version=252; exit 0; fi
	if [ ! -f "$unit" ]; then printf 'LoadState=not-found\nActiveState=inactive\nSubState=dead\nResult=success\n'; exit 0; fi
	state=$(cat "$d/state" 2>/dev/null || echo inactive)
	result=success; code=0; status=0
	if [ "$state" = failed ]; then result=exit-code; code=1; status=1; fi
	printf 'LoadState=loaded\nActiveState=%s\nSubState=x\nResult=%s\nExecMainCode=%s\nExecMainStatus=%s\nFragmentPath=%s\n' "$state" "$result" "$code" "$status" "$unit" ;;
start)
	if grep -q '^StateDirectory=ccbalancer' "$unit"; then mkdir -p /var/lib/ccbalancer /var/log/ccbalancer; fi
	if [ -f "$d/fail-start" ]; then
		echo failed > "$d/state"
		echo "Job for ccbalancer.service failed because the control process exited with error code." >&2
		exit 1
	fi
	echo active > "$d/state" ;;
stop) echo inactive > "$d/state" ;;
enable) touch "$d/enabled" ;;
disable) rm -f "$d/enabled" ;;
esac
exit 0
`

// Fake is one fake systemctl's state directory.
type Fake struct{ dir string }

// Start puts the fake systemctl first on PATH, a journalctl that finds
// nothing beside it, and HOME, XDG_CONFIG_HOME and XDG_STATE_HOME in a temp
// dir, for the rest of the test. It skips the test on systems without systemd.
func Start(t *testing.T) *Fake {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the systemd service exists on Linux only")
	}
	home := t.TempDir()
	bin := t.TempDir()
	f := &Fake{dir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "journalctl"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "config"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(home, "state"))
	t.Setenv("FAKE_SYSTEMCTL", f.dir)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return f
}

// Calls returns the systemctl calls recorded since the last Calls, one
// command line each.
func (f *Fake) Calls(t *testing.T) []string {
	t.Helper()
	name := filepath.Join(f.dir, "log")
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

// FailStart makes every later start fail.
func (f *Fake) FailStart(t *testing.T) { f.touch(t, "fail-start") }

// Unreachable makes every later call fail as without a service manager.
func (f *Fake) Unreachable(t *testing.T) { f.touch(t, "unreachable") }

// Enabled is the file that exists while the unit is enabled.
func (f *Fake) Enabled() string { return filepath.Join(f.dir, "enabled") }

func (f *Fake) touch(t *testing.T, name string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, name), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}
