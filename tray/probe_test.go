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
	bare := desktoptest.StartBus(t)
	withHost := desktoptest.StartBus(t)
	desktoptest.StartWatcher(t, withHost)
	tests := []struct {
		name, addr string
		wantHost   bool
		wantErr    string // "" for success
	}{
		{"no bus", "", false, "DBUS_SESSION_BUS_ADDRESS is not set"},
		{"dead bus", "unix:path=" + filepath.Join(t.TempDir(), "nobody-listens"), false, "cannot connect to the session bus"},
		{"a bus without a tray host", bare.Address, false, ""},
		{"a bus with a tray host", withHost.Address, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("DBUS_SESSION_BUS_ADDRESS", tt.addr)
			host, err := Probe()
			if tt.wantErr == "" {
				if err != nil || host != tt.wantHost {
					t.Fatalf("Probe() = %v, %v; want %v, nil", host, err, tt.wantHost)
				}
				return
			}
			if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Probe() = %v, want ErrUnavailable saying %q", err, tt.wantErr)
			}
		})
	}
}
