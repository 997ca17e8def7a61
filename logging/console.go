package logging

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// ANSI escape sequences for the coloured console.
const (
	ansiReset  = "\x1b[0m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiBlue   = "\x1b[34m"
)

// consoleHandler writes one human line per record:
//
//	15:04:05.000 INFO  message key=value group.key=value
//
// Attributes added with WithAttrs are formatted once, when added, and the
// handlers derived from one another share the writer's mutex so lines from
// concurrent goroutines never interleave.
type consoleHandler struct {
	level slog.Leveler
	color bool

	mu *sync.Mutex
	w  io.Writer

	prefix string // group path for attributes added later, e.g. "req."
	attrs  []byte // preformatted " key=value" pairs from WithAttrs
}

func newConsoleHandler(w io.Writer, level slog.Leveler, color bool) *consoleHandler {
	return &consoleHandler{level: level, color: color, mu: &sync.Mutex{}, w: w}
}

// Enabled reports whether level is at or above the configured level.
func (h *consoleHandler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.level.Level()
}

// WithAttrs returns a handler whose lines carry attrs after the message.
func (h *consoleHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	buf := append([]byte(nil), h.attrs...)
	for _, a := range attrs {
		buf = h.appendAttr(buf, h.prefix, a)
	}
	h2.attrs = buf
	return &h2
}

// WithGroup returns a handler that qualifies later attribute keys with name.
func (h *consoleHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.prefix = h.prefix + name + "."
	return &h2
}

// Handle formats r and writes it with a single Write call.
func (h *consoleHandler) Handle(_ context.Context, r slog.Record) error {
	buf := make([]byte, 0, 256)
	if !r.Time.IsZero() {
		buf = h.appendColored(buf, ansiDim, r.Time.Format("15:04:05.000"))
		buf = append(buf, ' ')
	}
	buf = h.appendLevel(buf, r.Level)
	buf = append(buf, ' ')
	buf = append(buf, r.Message...)
	buf = append(buf, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		buf = h.appendAttr(buf, h.prefix, a)
		return true
	})
	buf = append(buf, '\n')

	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(buf)
	return err
}

// appendLevel writes the level padded to five columns so messages line up.
func (h *consoleHandler) appendLevel(buf []byte, level slog.Level) []byte {
	name := level.String()
	for len(name) < 5 {
		name += " "
	}
	color := ansiRed
	switch {
	case level < slog.LevelInfo:
		color = ansiBlue
	case level < slog.LevelWarn:
		color = ansiGreen
	case level < slog.LevelError:
		color = ansiYellow
	}
	return h.appendColored(buf, color, name)
}

// appendAttr writes " key=value", resolving LogValuers (so secrets redact
// themselves) and flattening groups into dotted keys.
func (h *consoleHandler) appendAttr(buf []byte, prefix string, a slog.Attr) []byte {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return buf // slog's rule: an empty attribute is ignored
	}
	if a.Value.Kind() == slog.KindGroup {
		group := a.Value.Group()
		if len(group) == 0 {
			return buf
		}
		if a.Key != "" { // an unnamed group is inlined
			prefix += a.Key + "."
		}
		for _, ga := range group {
			buf = h.appendAttr(buf, prefix, ga)
		}
		return buf
	}
	buf = append(buf, ' ')
	buf = h.appendColored(buf, ansiDim, prefix+a.Key+"=")
	return appendValue(buf, a.Value)
}

// appendValue writes v, quoting strings that would otherwise be ambiguous.
func appendValue(buf []byte, v slog.Value) []byte {
	switch v.Kind() {
	case slog.KindString:
		return appendString(buf, v.String())
	case slog.KindTime:
		return append(buf, v.Time().Format(time.RFC3339Nano)...)
	case slog.KindDuration:
		return append(buf, v.Duration().String()...)
	case slog.KindInt64:
		return strconv.AppendInt(buf, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(buf, v.Uint64(), 10)
	case slog.KindFloat64:
		return strconv.AppendFloat(buf, v.Float64(), 'g', -1, 64)
	case slog.KindBool:
		return strconv.AppendBool(buf, v.Bool())
	default:
		return appendString(buf, v.String())
	}
}

// appendString quotes s when it is empty or holds spaces, quotes, '=' or
// control characters, so every line splits back into key=value pairs.
func appendString(buf []byte, s string) []byte {
	if needsQuote(s) {
		return strconv.AppendQuote(buf, s)
	}
	return append(buf, s...)
}

func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if r == utf8.RuneError || r == '"' || r == '=' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}

// appendColored writes s wrapped in color when colour is on.
func (h *consoleHandler) appendColored(buf []byte, color, s string) []byte {
	if !h.color {
		return append(buf, s...)
	}
	buf = append(buf, color...)
	buf = append(buf, s...)
	return append(buf, ansiReset...)
}
