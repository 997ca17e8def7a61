//go:build linux || freebsd || netbsd || openbsd || dragonfly || illumos || solaris

package autostart

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ccbalancer/ccbalancer/internal/desktoptest"
)

func TestEnableDisableRoundTrip(t *testing.T) {
	validate := desktoptest.NeedTool(t, "desktop-file-validate", "desktop-file-utils")
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	want := filepath.Join(cfg, "autostart", "ccbalancer.desktop")

	if got, err := Location(); err != nil || got != want {
		t.Fatalf("Location() = %q, %v; want %q", got, err, want)
	}
	check := func(step string, want bool) {
		t.Helper()
		got, err := Enabled()
		if err != nil {
			t.Fatalf("%s: Enabled: %v", step, err)
		}
		if got != want {
			t.Fatalf("%s: Enabled = %v, want %v", step, got, want)
		}
	}
	check("fresh", false)
	if err := Disable(); err != nil {
		t.Fatalf("Disable with no entry: %v", err)
	}
	if err := Enable("/opt/my apps/ccbalancer", []string{"--config", "/home/me/p.yaml"}); err != nil {
		t.Fatal(err)
	}
	check("enabled", true)
	if out, err := exec.Command(validate, want).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("desktop-file-validate %s: %v\n%s", want, err, out)
	}
	// Enabling again replaces the entry and leaves no temporary files behind.
	if err := Enable("/usr/bin/ccbalancer", nil); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Dir(want))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("autostart directory holds %d files, want 1", len(entries))
	}
	b, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != DesktopEntry("/usr/bin/ccbalancer", nil) {
		t.Errorf("entry not replaced:\n%s", b)
	}
	// A user switching the entry off in their desktop's settings is honoured.
	if err := os.WriteFile(want, append(b, "Hidden=true\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	check("hidden by the user", false)
	if err := Disable(); err != nil {
		t.Fatal(err)
	}
	check("disabled", false)
	if _, err := os.Stat(want); !os.IsNotExist(err) {
		t.Errorf("entry still there after Disable: %v", err)
	}
}

func TestDefaultLocationUsesHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("HOME", home)
	got, err := Location()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(home, ".config", "autostart", "ccbalancer.desktop"); got != want {
		t.Errorf("Location() = %q, want %q", got, want)
	}
}

func TestEnableNeedsAbsolutePath(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	if err := Enable("ccbalancer", nil); err == nil {
		t.Error("Enable with a relative path succeeded")
	}
}
