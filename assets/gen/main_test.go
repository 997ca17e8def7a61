package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedIconsAreCurrent fails when the drawing code changed but the
// committed icons were not regenerated (go generate ./assets).
func TestCommittedIconsAreCurrent(t *testing.T) {
	dir := t.TempDir()
	if err := run(dir); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("generator wrote nothing")
	}
	for _, e := range entries {
		want, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("..", e.Name()))
		if err != nil {
			t.Errorf("committed icon missing: %v", err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("assets/%s differs from the generator's output; run go generate ./assets", e.Name())
		}
	}
}
