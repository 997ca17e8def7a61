package logging

import (
	"errors"
	"path/filepath"
	"runtime"
	"testing"
)

func TestDefaultDirPerPlatform(t *testing.T) {
	t.Parallel()
	home := func() (string, error) { return "/home/u", nil }
	noHome := func() (string, error) { return "", errors.New("$HOME is not defined") }
	tests := []struct {
		name    string
		goos    string
		env     map[string]string
		home    func() (string, error)
		want    string
		wantErr bool
	}{
		{name: "linux XDG_STATE_HOME", goos: "linux", env: map[string]string{"XDG_STATE_HOME": "/xdg/state"}, home: home,
			want: filepath.Join("/xdg/state", "ccbalancer")},
		{name: "linux default", goos: "linux", home: home,
			want: filepath.Join("/home/u", ".local", "state", "ccbalancer")},
		{name: "linux relative XDG_STATE_HOME ignored", goos: "linux", env: map[string]string{"XDG_STATE_HOME": "rel"}, home: home,
			want: filepath.Join("/home/u", ".local", "state", "ccbalancer")},
		{name: "freebsd like linux", goos: "freebsd", home: home,
			want: filepath.Join("/home/u", ".local", "state", "ccbalancer")},
		{name: "linux without home", goos: "linux", home: noHome, wantErr: true},
		{name: "systemd LogsDirectory without home", goos: "linux", env: map[string]string{"LOGS_DIRECTORY": "/var/log/ccbalancer:/var/log/other"}, home: noHome,
			want: "/var/log/ccbalancer"},
		{name: "systemd LogsDirectory wins over XDG", goos: "linux", env: map[string]string{"LOGS_DIRECTORY": "/var/log/ccbalancer", "XDG_STATE_HOME": "/xdg"}, home: home,
			want: "/var/log/ccbalancer"},
		{name: "relative LOGS_DIRECTORY ignored", goos: "linux", env: map[string]string{"LOGS_DIRECTORY": "rel"}, home: home,
			want: filepath.Join("/home/u", ".local", "state", "ccbalancer")},
		{name: "macOS", goos: "darwin", env: map[string]string{"XDG_STATE_HOME": "/ignored"}, home: home,
			want: filepath.Join("/home/u", "Library", "Logs", "ccbalancer")},
		{name: "macOS without home", goos: "darwin", home: noHome, wantErr: true},
		{name: "windows", goos: "windows", env: map[string]string{"LocalAppData": "/Users/u/AppData/Local"}, home: home,
			want: filepath.Join("/Users/u/AppData/Local", "ccbalancer", "logs")},
		{name: "windows without LocalAppData", goos: "windows", home: home, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := defaultDir(tt.goos, func(k string) string { return tt.env[k] }, tt.home)
			if (err != nil) != tt.wantErr {
				t.Fatalf("defaultDir: %q, %v; want error %v", got, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("defaultDir = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestDefaultDirHonoursXDG checks the real environment is read. It sets
// environment variables, so it cannot run in parallel.
func TestDefaultDirHonoursXDG(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("XDG_STATE_HOME applies to Linux and other Unix systems")
	}
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	got, err := DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(state, "ccbalancer"); got != want {
		t.Errorf("DefaultDir = %q, want %q", got, want)
	}
}

func TestResolveFile(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("uses XDG_STATE_HOME to place the default directory")
	}
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	abs := filepath.Join(t.TempDir(), "elsewhere", "l.jsonl")
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"default", "", filepath.Join(state, "ccbalancer", "logs.jsonl")},
		{"relative", filepath.Join("logs", "logs.jsonl"), filepath.Join(state, "ccbalancer", "logs", "logs.jsonl")},
		{"absolute kept", abs, abs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveFile(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("ResolveFile(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
