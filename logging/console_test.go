package logging

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// at is the fixed time of the records these tests format.
var at = time.Date(2026, 11, 25, 9, 4, 5, 123_000_000, time.UTC)

// token stands for any value that must redact itself: only its LogValue
// hides it, so a handler that skipped Resolve would leak it.
type token string

func (token) LogValue() slog.Value { return slog.StringValue("[REDACTED]") }

func record(level slog.Level, msg string, attrs ...slog.Attr) slog.Record {
	r := slog.NewRecord(at, level, msg, 0)
	r.AddAttrs(attrs...)
	return r
}

func TestConsoleFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		handle func(h slog.Handler) slog.Handler // derives the handler to use
		rec    slog.Record
		want   string
	}{
		{
			name: "message only",
			rec:  record(slog.LevelInfo, "proxy started"),
			want: "09:04:05.123 INFO  proxy started\n",
		},
		{
			name: "kinds of values",
			rec: record(slog.LevelWarn, "provider failed",
				slog.String("provider", "main"),
				slog.Int("status", 529),
				slog.Bool("retry", true),
				slog.Duration("cooldown", 90*time.Second),
				slog.Float64("ratio", 0.5),
				slog.Any("err", errors.New("upstream said no")),
			),
			want: `09:04:05.123 WARN  provider failed provider=main status=529 retry=true cooldown=1m30s ratio=0.5 err="upstream said no"` + "\n",
		},
		{
			name: "strings quoted when ambiguous",
			rec: record(slog.LevelError, "bad",
				slog.String("empty", ""), slog.String("eq", "a=b"), slog.String("quote", `say "hi"`),
				slog.String("newline", "a\nb"), slog.String("plain", "/v1/messages")),
			want: `09:04:05.123 ERROR bad empty="" eq="a=b" quote="say \"hi\"" newline="a\nb" plain=/v1/messages` + "\n",
		},
		{
			name: "debug and custom levels",
			rec:  record(slog.LevelDebug+2, "detail"),
			want: "09:04:05.123 DEBUG+2 detail\n",
		},
		{
			name: "groups and With",
			handle: func(h slog.Handler) slog.Handler {
				return h.WithAttrs([]slog.Attr{slog.String("req", "r1")}).
					WithGroup("upstream").
					WithAttrs([]slog.Attr{slog.String("provider", "p")}).
					WithGroup("http")
			},
			rec: record(slog.LevelInfo, "answered",
				slog.Int("status", 200),
				slog.Group("timing", slog.Int("ms", 12))),
			want: "09:04:05.123 INFO  answered req=r1 upstream.provider=p upstream.http.status=200 upstream.http.timing.ms=12\n",
		},
		{
			name:   "empty group and empty attributes are dropped",
			handle: func(h slog.Handler) slog.Handler { return h.WithGroup("unused").WithGroup("") },
			rec:    record(slog.LevelInfo, "quiet", slog.Attr{}, slog.Group("g")),
			want:   "09:04:05.123 INFO  quiet\n",
		},
		{
			name: "inline group",
			rec:  record(slog.LevelInfo, "inline", slog.Group("", slog.Int("a", 1))),
			want: "09:04:05.123 INFO  inline a=1\n",
		},
		{
			name: "LogValuer resolved, even inside groups and With",
			handle: func(h slog.Handler) slog.Handler {
				return h.WithAttrs([]slog.Attr{slog.Any("auth", token("sk-with"))})
			},
			rec: record(slog.LevelInfo, "request",
				slog.Any("key", token("sk-secret")),
				slog.Group("g", slog.Any("key", token("sk-nested")))),
			want: "09:04:05.123 INFO  request auth=[REDACTED] key=[REDACTED] g.key=[REDACTED]\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			var h slog.Handler = newConsoleHandler(&buf, slog.LevelDebug, false)
			if tt.handle != nil {
				h = tt.handle(h)
			}
			if err := h.Handle(context.Background(), tt.rec); err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if diff := cmp.Diff(tt.want, buf.String()); diff != "" {
				t.Errorf("console line (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConsoleColor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		color bool
		level slog.Level
		want  string
	}{
		{"off", false, slog.LevelWarn, "09:04:05.123 WARN  slow provider=p\n"},
		{"debug", true, slog.LevelDebug, "\x1b[2m09:04:05.123\x1b[0m \x1b[34mDEBUG\x1b[0m slow \x1b[2mprovider=\x1b[0mp\n"},
		{"info", true, slog.LevelInfo, "\x1b[2m09:04:05.123\x1b[0m \x1b[32mINFO \x1b[0m slow \x1b[2mprovider=\x1b[0mp\n"},
		{"warn", true, slog.LevelWarn, "\x1b[2m09:04:05.123\x1b[0m \x1b[33mWARN \x1b[0m slow \x1b[2mprovider=\x1b[0mp\n"},
		{"error", true, slog.LevelError, "\x1b[2m09:04:05.123\x1b[0m \x1b[31mERROR\x1b[0m slow \x1b[2mprovider=\x1b[0mp\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			h := newConsoleHandler(&buf, slog.LevelDebug, tt.color)
			if err := h.Handle(context.Background(), record(tt.level, "slow", slog.String("provider", "p"))); err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if diff := cmp.Diff(tt.want, buf.String()); diff != "" {
				t.Errorf("console line (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConsoleLevel(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(newConsoleHandler(&buf, slog.LevelWarn, false))
	log.Info("dropped")
	log.Warn("kept")
	log.Error("kept too")
	got := strings.Count(buf.String(), "\n")
	if got != 2 || strings.Contains(buf.String(), "dropped") {
		t.Errorf("at level WARN got %d lines:\n%s", got, buf.String())
	}
}

func TestIsTerminal(t *testing.T) {
	t.Parallel()
	regular, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer regular.Close()
	if isTerminal(regular) {
		t.Error("a regular file was taken for a terminal")
	}
	if isTerminal(&bytes.Buffer{}) {
		t.Error("a buffer was taken for a terminal")
	}
	if runtime.GOOS == "windows" {
		return
	}
	// /dev/null is a character device like a terminal; the check cannot
	// tell them apart, and does not need to: nobody reads colour there.
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	if !isTerminal(devNull) {
		t.Error("a character device was not taken for a terminal")
	}
}

func TestNoColor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value string
		want  bool
	}{{"", false}, {"1", true}, {"0", true}}
	for _, tt := range tests {
		got := noColor(func(k string) string {
			if k == "NO_COLOR" {
				return tt.value
			}
			return ""
		})
		if got != tt.want {
			t.Errorf("NO_COLOR=%q: noColor = %v, want %v", tt.value, got, tt.want)
		}
	}
}
