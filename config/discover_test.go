package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// discoverEnv isolates Discover from the real machine: a fresh working
// directory and user config directory, and no $CCBALANCER_CONFIG.
func discoverEnv(t *testing.T) (work, userCfg string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the user config directory is only redirectable through XDG_CONFIG_HOME on Linux")
	}
	root := t.TempDir()
	work, userCfg = filepath.Join(root, "work"), filepath.Join(root, "xdg")
	for _, d := range []string{work, userCfg} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("XDG_CONFIG_HOME", userCfg)
	t.Setenv(EnvVar, "")
	t.Chdir(work)
	return work, userCfg
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("providers: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestDiscoverOrder(t *testing.T) {
	tests := []struct {
		name      string
		files     []string // relative to the temp root: work/..., xdg/..., other/...
		flag      string
		env       string
		want      string
		wantTried []string
		wantErr   bool
	}{
		{
			name:      "flag wins over everything",
			files:     []string{"other/f.yaml", "other/e.yaml", "work/providers.yaml", "xdg/ccbalancer/providers.yaml"},
			flag:      "other/f.yaml",
			env:       "other/e.yaml",
			want:      "other/f.yaml",
			wantTried: []string{"other/f.yaml"},
		},
		{
			name:      "environment before the working directory",
			files:     []string{"other/e.yaml", "work/providers.yaml"},
			env:       "other/e.yaml",
			want:      "other/e.yaml",
			wantTried: []string{"other/e.yaml"},
		},
		{
			name:      "working directory before the user config directory",
			files:     []string{"work/providers.yaml", "xdg/ccbalancer/providers.yaml"},
			want:      "work/providers.yaml",
			wantTried: []string{"work/providers.yaml"},
		},
		{
			name:      "user config directory last",
			files:     []string{"xdg/ccbalancer/providers.yaml"},
			want:      "xdg/ccbalancer/providers.yaml",
			wantTried: []string{"work/providers.yaml", "xdg/ccbalancer/providers.yaml"},
		},
		{
			name:      "nothing anywhere",
			wantTried: []string{"work/providers.yaml", "xdg/ccbalancer/providers.yaml"},
			wantErr:   true,
		},
		{
			name:      "a missing flag file is not replaced by another",
			files:     []string{"work/providers.yaml"},
			flag:      "other/missing.yaml",
			want:      "other/missing.yaml",
			wantTried: []string{"other/missing.yaml"},
			wantErr:   true,
		},
		{
			name:      "a missing environment file is not replaced by another",
			files:     []string{"work/providers.yaml"},
			env:       "other/missing.yaml",
			want:      "other/missing.yaml",
			wantTried: []string{"other/missing.yaml"},
			wantErr:   true,
		},
		{
			name:      "a directory is not a config file",
			files:     []string{"work/providers.yaml/x", "xdg/ccbalancer/providers.yaml"},
			want:      "xdg/ccbalancer/providers.yaml",
			wantTried: []string{"work/providers.yaml", "xdg/ccbalancer/providers.yaml"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			work, _ := discoverEnv(t)
			root := filepath.Dir(work)
			abs := func(rel string) string {
				if rel == "" {
					return ""
				}
				return filepath.Join(root, rel)
			}
			for _, f := range tt.files {
				touch(t, abs(f))
			}
			if tt.env != "" {
				t.Setenv(EnvVar, abs(tt.env))
			}
			flag := tt.flag
			if flag != "" {
				// A relative flag value is taken against the working directory.
				flag = filepath.Join("..", tt.flag)
			}
			got, tried, err := Discover(flag)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Discover error = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				if !errors.Is(err, ErrNotFound) {
					t.Errorf("error %v does not wrap ErrNotFound", err)
				}
				for _, p := range tried {
					if !strings.Contains(err.Error(), p) {
						t.Errorf("error %q does not name %s", err, p)
					}
				}
			}
			if got != abs(tt.want) {
				t.Errorf("path = %q, want %q", got, abs(tt.want))
			}
			var wantTried []string
			for _, p := range tt.wantTried {
				wantTried = append(wantTried, abs(p))
			}
			if diff := cmp.Diff(wantTried, tried); diff != "" {
				t.Errorf("tried (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultPath(t *testing.T) {
	_, userCfg := discoverEnv(t)
	got, err := DefaultPath()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(userCfg, "ccbalancer", "providers.yaml"); got != want {
		t.Errorf("DefaultPath = %q, want %q", got, want)
	}
}

func TestWriteExample(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a", "b", "providers.yaml")
	data := []byte("providers: []\n")
	if err := WriteExample(path, data); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(data) {
		t.Errorf("content = %q, want %q", got, data)
	}
	if runtime.GOOS != "windows" {
		st, _ := os.Stat(path)
		if mode := st.Mode().Perm(); mode != 0o600 {
			t.Errorf("file mode = %#o, want 0600", mode)
		}
		st, _ = os.Stat(filepath.Dir(path))
		if mode := st.Mode().Perm(); mode != 0o700 {
			t.Errorf("directory mode = %#o, want 0700", mode)
		}
	}

	// A second write must fail and leave the user's file alone.
	if err := os.WriteFile(path, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = WriteExample(path, data)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second WriteExample error = %v, want fs.ErrExist", err)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not overwriting") {
		t.Errorf("error %q should name the file and say it is not overwritten", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "mine" {
		t.Errorf("existing file changed to %q", got)
	}
}

func TestLoad(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes do not apply")
	}
	t.Setenv("CCB_TEST_KEY", "from-env")
	const plain = "providers:\n  - name: A\n    type: anthropic\n    base_url: https://a.example\n    auth_value: sk-plain\n"
	const fromEnv = "providers:\n  - name: A\n    type: anthropic\n    base_url: https://a.example\n    auth_value: \"${CCB_TEST_KEY}\"\n"
	tests := []struct {
		name     string
		content  string
		mode     os.FileMode
		wantWarn bool
	}{
		{"plain key, world-readable", plain, 0o644, true},
		{"plain key, private", plain, 0o600, false},
		{"plain key, group-readable only", plain, 0o640, false},
		{"env key, world-readable", fromEnv, 0o644, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "providers.yaml")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Path != path {
				t.Errorf("Path = %q, want %q", cfg.Path, path)
			}
			warned := len(filterWarnings(cfg.Warnings, "written in plain text")) > 0
			if warned != tt.wantWarn {
				t.Errorf("world-readable warning = %v, want %v (warnings %q)", warned, tt.wantWarn, cfg.Warnings)
			}
			if warned && !strings.HasPrefix(cfg.Warnings[len(cfg.Warnings)-1], path+":5: ") {
				t.Errorf("warning %q should point at the key's line", cfg.Warnings[len(cfg.Warnings)-1])
			}
		})
	}
	if got := mustLoadKey(t, fromEnv); got != "from-env" {
		t.Errorf("Load did not use the process environment: %q", got)
	}

	_, err := Load(filepath.Join(t.TempDir(), "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want fs.ErrNotExist", err)
	}
}

func mustLoadKey(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "providers.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Providers[0].AuthValue.Reveal()
}
