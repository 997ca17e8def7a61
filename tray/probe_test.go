package tray

import (
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ccbalancer/ccbalancer/internal/desktoptest"
)

func TestProbe(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("the tray needs no session bus here")
	}
	bus := desktoptest.StartBus(t)
	tests := []struct {
		name, addr string
		wantErr    string // "" for success
	}{
		{"no bus", "", "DBUS_SESSION_BUS_ADDRESS is not set"},
		{"dead bus", "unix:path=" + filepath.Join(t.TempDir(), "nobody-listens"), "cannot connect to the session bus"},
		{"a bus", bus.Address, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("DBUS_SESSION_BUS_ADDRESS", tt.addr)
			err := Probe()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Probe() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Probe() = %v, want ErrUnavailable saying %q", err, tt.wantErr)
			}
		})
	}
}
