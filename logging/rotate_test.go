package logging

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// line returns a 10-byte record "line NNN\n" padded with dots.
func line(i int) string { return fmt.Sprintf("line %03d.\n", i) }

func TestRotation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		maxBytes  int64
		existing  string // content already in the file before opening
		writes    int
		wantFile  string
		wantOld   string
		wantNoOld bool
	}{
		{
			name: "under the bound", maxBytes: 30, writes: 3,
			wantFile: line(0) + line(1) + line(2), wantNoOld: true,
		},
		{
			name: "rotated once at the bound", maxBytes: 30, writes: 4,
			wantFile: line(3), wantOld: line(0) + line(1) + line(2),
		},
		{
			name: "older .1 replaced", maxBytes: 20, writes: 5,
			wantFile: line(4), wantOld: line(2) + line(3),
		},
		{
			name: "existing content counts", maxBytes: 30, existing: "previous run\n", writes: 2,
			wantFile: line(1), wantOld: "previous run\n" + line(0),
		},
		{
			name: "record larger than the bound written whole", maxBytes: 5, writes: 2,
			wantFile: line(1), wantOld: line(0),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "logs.jsonl")
			if tt.existing != "" {
				if err := os.WriteFile(path, []byte(tt.existing), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			r, err := openRotating(path, tt.maxBytes)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.writes {
				if _, err := r.Write([]byte(line(i))); err != nil {
					t.Fatalf("write %d: %v", i, err)
				}
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantFile, readFile(t, path)); diff != "" {
				t.Errorf("current file (-want +got):\n%s", diff)
			}
			old, err := os.ReadFile(path + ".1")
			switch {
			case tt.wantNoOld:
				if !errors.Is(err, os.ErrNotExist) {
					t.Errorf("rotated file exists (err %v) with %q", err, old)
				}
			case err != nil:
				t.Errorf("reading rotated file: %v", err)
			default:
				if diff := cmp.Diff(tt.wantOld, string(old)); diff != "" {
					t.Errorf("rotated file (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestRotatingFilePermissions(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("Unix permission bits")
	}
	root := t.TempDir()
	path := filepath.Join(root, "state", "ccbalancer", "logs.jsonl")
	r, err := openRotating(path, 15)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // rotates twice; the new files must be private too
		if _, err := r.Write([]byte(line(i))); err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	for p, want := range map[string]os.FileMode{
		filepath.Join(root, "state"): 0o700,
		filepath.Dir(path):           0o700,
		path:                         0o600,
		path + ".1":                  0o600,
	} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", p, got, want)
		}
	}

	// A file left world-readable by hand is narrowed on open.
	wide := filepath.Join(root, "wide.jsonl")
	if err := os.WriteFile(wide, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(wide, 0o644); err != nil { // undo the umask
		t.Fatal(err)
	}
	r, err = openRotating(wide, 100)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if info, err := os.Stat(wide); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("existing wide file: %v, %v; want mode 0600", info.Mode().Perm(), err)
	}
}

func TestRotatingFileClosed(t *testing.T) {
	t.Parallel()
	r, err := openRotating(filepath.Join(t.TempDir(), "l"), 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := r.Write([]byte("late\n")); !errors.Is(err, errClosed) {
		t.Errorf("Write after Close: %v, want errClosed", err)
	}
}

func TestOpenRotatingError(t *testing.T) {
	t.Parallel()
	// A regular file where the directory should be.
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := openRotating(filepath.Join(blocker, "logs.jsonl"), 100)
	if err == nil || !strings.Contains(err.Error(), "creating log directory") {
		t.Errorf("openRotating under a file: %v, want a directory error", err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
