// Package logging builds the process-wide slog.Logger: a human console line
// for the person watching the terminal, and a size-bounded JSON-lines file
// that the tray's "open logs" item and bug reports rely on.
package logging

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// DefaultMaxBytes bounds the log file when Options.MaxBytes is not positive.
const DefaultMaxBytes = 10 << 20

// Options configures New.
type Options struct {
	// Level is the minimum level written to both the console and the file.
	Level slog.Level
	// Color asks for a coloured console. It is honoured only when the
	// console is a terminal and NO_COLOR is not set.
	Color bool
	// File is the JSON-lines log file. "" means DefaultDir()/logs.jsonl; a
	// relative path is taken under DefaultDir() (see ResolveFile).
	File string
	// MaxBytes bounds the file; past it the file is rotated once to
	// "<File>.1". Zero or less means DefaultMaxBytes.
	MaxBytes int64
	// Console receives the human-readable lines; nil means os.Stderr.
	Console io.Writer
}

// New returns a logger that writes every record at or above opts.Level both
// to the console and to the log file. The returned Closer closes the file;
// records logged after Close still reach the console.
func New(opts Options) (*slog.Logger, io.Closer, error) {
	path, err := ResolveFile(opts.File)
	if err != nil {
		return nil, nil, fmt.Errorf("resolving log file: %w", err)
	}
	maxBytes := opts.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	file, err := openRotating(path, maxBytes)
	if err != nil {
		return nil, nil, err
	}
	console := opts.Console
	if console == nil {
		console = os.Stderr
	}
	color := opts.Color && isTerminal(console) && !noColor(os.Getenv)

	handler := slog.NewMultiHandler(
		newConsoleHandler(console, opts.Level, color),
		slog.NewJSONHandler(file, &slog.HandlerOptions{Level: opts.Level}),
	)
	return slog.New(handler), file, nil
}

// isTerminal reports whether w is a character device, which is how a
// terminal looks without a dependency on a terminal library.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	if err != nil {
		return false
	}
	return info.Mode()&os.ModeCharDevice != 0
}

// noColor follows https://no-color.org: a NO_COLOR that is present and not
// empty turns colour off whatever the configuration says.
func noColor(getenv func(string) string) bool {
	return getenv("NO_COLOR") != ""
}

// errClosed is returned by writes to a closed log file.
var errClosed = errors.New("log file is closed")
