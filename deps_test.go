package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportDirection: dependencies point one way, config <- proxy <-
// supervisor <- tray <- main. The proxy and the supervisor never link GUI
// code, config knows nothing above it, and control stands alone.
func TestImportDirection(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	tests := []struct {
		pkg       string
		forbidden []string
	}{
		{"./config/...", []string{"ccbalancer/proxy", "ccbalancer/tray", "fyne.io/systray", "gen2brain/beeep"}},
		{"./proxy/...", []string{"ccbalancer/supervisor", "ccbalancer/tray", "ccbalancer/autostart", "ccbalancer/osservice", "fyne.io/systray", "gen2brain/beeep", "kardianos/service"}},
		{"./supervisor/...", []string{"ccbalancer/tray", "ccbalancer/autostart", "ccbalancer/osservice", "fyne.io/systray", "gen2brain/beeep", "kardianos/service"}},
		{"./control/...", []string{"ccbalancer/config", "ccbalancer/proxy", "ccbalancer/supervisor", "ccbalancer/tray"}},
	}
	for _, tt := range tests {
		out, err := exec.Command("go", "list", "-deps", tt.pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", tt.pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range tt.forbidden {
				if strings.Contains(dep, f) {
					t.Errorf("%s depends on %s", tt.pkg, dep)
				}
			}
		}
	}
}
