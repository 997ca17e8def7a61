package osservice

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// nsEnv marks the copy of a test that runs inside a private mount namespace.
const nsEnv = "CCBALANCER_TEST_MOUNT_NS"

// inMountNamespace runs the calling test again in a private mount namespace
// (unshare --mount), where it may mount over system directories without the
// machine seeing it. It returns true in that copy, which goes on with the
// test, and false in the original, which has checked the copy's result.
// Without root or unshare the test is skipped (it fails under CI=true).
func inMountNamespace(t *testing.T) bool {
	t.Helper()
	if os.Getenv(nsEnv) == t.Name() {
		return true
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil || os.Geteuid() != 0 {
		msg := "needs root and unshare (util-linux) to mount over system directories in a private mount namespace"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	cmd := exec.Command(unshare, "--mount", "--propagation", "private", "--",
		os.Args[0], "-test.run", "^"+regexp.QuoteMeta(t.Name())+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), nsEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err == nil && strings.Contains(string(out), "--- SKIP: "+t.Name()) {
		t.Skipf("skipped in the namespace:\n%s", out)
	}
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("%s in a private mount namespace: %v\n%s", t.Name(), err, out)
	}
	t.Logf("in a private mount namespace:\n%s", out)
	return false
}

// mountTmpfs mounts an empty tmpfs on dir (inside the private namespace).
func mountTmpfs(t *testing.T, dir string) {
	t.Helper()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "mode=0755"); err != nil {
		t.Fatalf("mounting a tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
}

// mountOverlay makes dir writable with the changes kept in a temp dir, so
// that it keeps its files (/etc/passwd) but nothing written reaches the disk.
func mountOverlay(t *testing.T, dir string) {
	t.Helper()
	tmp := t.TempDir()
	upper, work := filepath.Join(tmp, "upper"), filepath.Join(tmp, "work")
	os.Mkdir(upper, 0o755)
	os.Mkdir(work, 0o755)
	if err := unix.Mount("overlay", dir, "overlay", 0, "lowerdir="+dir+",upperdir="+upper+",workdir="+work); err != nil {
		t.Fatalf("mounting an overlay on %s: %v", dir, err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
}

// systemdBooted makes /run/systemd/system exist, which is how programs
// (systemd itself among them) tell that systemd runs the machine.
func systemdBooted(t *testing.T) {
	t.Helper()
	if err := os.MkdirAll("/run/systemd", 0o755); err != nil {
		t.Fatal(err)
	}
	mountTmpfs(t, "/run/systemd")
	if err := os.Mkdir("/run/systemd/system", 0o755); err != nil {
		t.Fatal(err)
	}
}
