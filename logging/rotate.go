package logging

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// rotatingFile is an io.WriteCloser bounded in size: a write that would take
// the file past maxBytes first moves it to "<path>.1", replacing an older
// one, and starts a new file. So the logs on disk never exceed about twice
// maxBytes, and the most recent history survives a rotation.
type rotatingFile struct {
	path     string
	maxBytes int64

	mu   sync.Mutex // guards everything below
	f    *os.File   // nil once closed
	size int64
}

// openRotating opens (appending to) or creates path, creating its directory
// with mode 0700 and the file with mode 0600: logs can name providers and
// endpoints the user would rather keep to themselves.
func openRotating(path string, maxBytes int64) (*rotatingFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating log directory: %w", err)
	}
	r := &rotatingFile{path: path, maxBytes: maxBytes}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

// open opens r.path for appending and records its current size. The caller
// holds r.mu or has the only reference.
func (r *rotatingFile) open() error {
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("opening log file: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("opening log file %s: %w", r.path, err)
	}
	// A file left by an older version or created by hand may be wider.
	if info.Mode().Perm() != 0o600 {
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			return fmt.Errorf("restricting log file %s: %w", r.path, err)
		}
	}
	r.f, r.size = f, info.Size()
	return nil
}

// Write appends p, rotating first when p would take the file past the bound.
// A record larger than the bound is still written whole, to a fresh file.
// slog handlers write each record with one call, so a record never straddles
// two files.
func (r *rotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return 0, errClosed
	}
	if r.size > 0 && r.size+int64(len(p)) > r.maxBytes {
		// A failed rename leaves the old file open and growing: losing
		// records would be worse than passing the bound.
		if err := r.rotate(); err != nil && r.f == nil {
			return 0, err
		}
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("writing log file %s: %w", r.path, err)
	}
	return n, nil
}

// rotate moves the current file to "<path>.1" and opens a new one. The
// caller holds r.mu.
func (r *rotatingFile) rotate() error {
	if err := r.f.Close(); err != nil {
		r.f = nil
		return fmt.Errorf("closing log file %s for rotation: %w", r.path, err)
	}
	r.f = nil
	// os.Rename replaces an existing target on every platform Go supports.
	if err := os.Rename(r.path, r.path+".1"); err != nil {
		// Keep logging to the same file rather than losing records.
		if oerr := r.open(); oerr != nil {
			return fmt.Errorf("rotating log file %s: %w (reopening: %v)", r.path, err, oerr)
		}
		return fmt.Errorf("rotating log file %s: %w", r.path, err)
	}
	return r.open()
}

// Close closes the file; later writes fail with errClosed.
func (r *rotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	if err != nil {
		return fmt.Errorf("closing log file %s: %w", r.path, err)
	}
	return nil
}
