// Package packaging holds the files distributions install: the application
// menu entry and the systemd user unit. Its tests check them.
package packaging

import (
	"os"
	"os/exec"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/internal/desktoptest"
	"github.com/ccbalancer/ccbalancer/osservice"
)

func TestDesktopEntryValidates(t *testing.T) {
	validate := desktoptest.NeedTool(t, "desktop-file-validate", "desktop-file-utils")
	out, err := exec.Command(validate, "ccbalancer.desktop").CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("desktop-file-validate ccbalancer.desktop: %v\n%s", err, out)
	}
}

// TestUserUnitMatchesInstaller: the packaged unit is the one `ccbalancer
// service install --user` writes for /usr/bin/ccbalancer (with the config
// found by default), so both behave the same.
func TestUserUnitMatchesInstaller(t *testing.T) {
	b, err := os.ReadFile("ccbalancer.service")
	if err != nil {
		t.Fatal(err)
	}
	want := osservice.SystemdUnit("/usr/bin/ccbalancer", []string{"serve"}, true, osservice.UserEnvFile)
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("packaging/ccbalancer.service (-want +got):\n%s", diff)
	}
}
