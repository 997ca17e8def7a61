// Package sse reads and writes server-sent events (text/event-stream) as the
// Anthropic and OpenAI streaming APIs use them (WHATWG HTML, "Server-sent
// events": a blank line ends an event; lines starting with ':' are comments).
// Lines end in \n or \r\n; a lone \r, which no API sends, is not a line end.
package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Event is one server-sent event. Data holds the data lines joined by "\n".
// Raw is the event exactly as it arrived: its lines, the blank line that
// ended it, and any comment or blank lines before it, so that a relay can
// pass events on byte for byte. Data and Raw are only valid until the next
// call to Next.
type Event struct {
	Name string
	Data []byte
	Raw  []byte
}

// DefaultMax is the bound on one event (and so on one line) when NewReader
// is given none.
const DefaultMax = 4 << 20

// ErrTooLong is returned (wrapped) when an event or a line exceeds the
// reader's bound: a stream that never ends its lines or events must not grow
// memory without limit.
var ErrTooLong = errors.New("sse: event too long")

// Reader parses events from a stream into one buffer that it reuses: bytes
// are scanned once (a line is searched for its end only in bytes not seen
// before), and an event longer than the bound fails the stream. It is not
// safe for concurrent use.
type Reader struct {
	src io.Reader
	max int
	buf []byte
	// Unread bytes are buf[r:w]. buf[r:ls] holds whole lines of the event
	// being read, already parsed; buf[ls:scan] is the start of the next line,
	// already searched for its end.
	r, ls, scan, w int
	err            error // sticky error from src
	// scanned counts the bytes searched for line ends: each byte once.
	scanned int

	// The event being read, as offsets from r (the buffer may move).
	name      [2]int
	hasName   bool
	data      [2]int // the single data line, when there is one
	dataLines int
	joined    []byte // data lines joined, when there are several
	fields    bool   // the block has an event or data field
}

// NewReader returns a Reader on src whose events may be at most max bytes
// long (DefaultMax when max <= 0).
func NewReader(src io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMax
	}
	return &Reader{src: src, max: max, buf: make([]byte, min(16<<10, max+1))}
}

// Next returns the next event. At a clean end of the stream it returns
// io.EOF; a stream that ends inside an event (no terminating blank line)
// still yields that event first. A read error is returned wrapped, so that a
// caller can tell a cut from a clean end; an event or line past the bound is
// ErrTooLong.
func (r *Reader) Next() (Event, error) {
	for {
		i := bytes.IndexByte(r.buf[r.scan:r.w], '\n')
		if i >= 0 {
			r.scanned += i + 1
			end := r.scan + i
			start := r.ls
			r.ls, r.scan = end+1, end+1
			if r.scan-r.r > r.max {
				// The buffer holds max+1 bytes: an event that fits in it
				// whole can still be one byte too long.
				return Event{}, fmt.Errorf("%w: more than %d bytes without the end of an event", ErrTooLong, r.max)
			}
			if ev, ok := r.line(start, end); ok {
				return ev, nil
			}
			continue
		}
		r.scanned += r.w - r.scan
		r.scan = r.w
		if r.err != nil {
			return r.finish()
		}
		if r.w-r.r > r.max {
			return Event{}, fmt.Errorf("%w: more than %d bytes without the end of an event", ErrTooLong, r.max)
		}
		r.fill()
	}
}

// line handles the line buf[start:end] (without its \n). It reports an event
// when the line is the blank line that ends one.
func (r *Reader) line(start, end int) (Event, bool) {
	if end > start && r.buf[end-1] == '\r' {
		end--
	}
	if end == start {
		if !r.fields {
			return Event{}, false // blank lines before an event ride along in Raw
		}
		return r.emit(r.ls), true
	}
	line := r.buf[start:end]
	if line[0] == ':' {
		return Event{}, false
	}
	colon := bytes.IndexByte(line, ':')
	field, vs := line, end
	if colon >= 0 {
		field, vs = line[:colon], start+colon+1
		if vs < end && r.buf[vs] == ' ' {
			vs++
		}
	}
	switch string(field) {
	case "event":
		r.name, r.hasName, r.fields = [2]int{vs - r.r, end - r.r}, true, true
	case "data":
		r.fields = true
		r.dataLines++
		switch r.dataLines {
		case 1:
			r.data = [2]int{vs - r.r, end - r.r}
		case 2:
			r.joined = append(r.joined[:0], r.buf[r.r+r.data[0]:r.r+r.data[1]]...)
			fallthrough
		default:
			r.joined = append(append(r.joined, '\n'), r.buf[vs:end]...)
		}
	}
	return Event{}, false
}

// emit returns the event whose raw bytes end at end and starts the next one.
func (r *Reader) emit(end int) Event {
	ev := Event{Raw: r.buf[r.r:end]}
	if r.hasName {
		ev.Name = eventName(r.buf[r.r+r.name[0] : r.r+r.name[1]])
	}
	switch {
	case r.dataLines == 1:
		ev.Data = r.buf[r.r+r.data[0] : r.r+r.data[1]]
	case r.dataLines > 1:
		ev.Data = r.joined
	}
	r.r, r.ls, r.scan = end, end, end
	r.hasName, r.dataLines, r.fields = false, 0, false
	return ev
}

// finish handles the end of the source. At a clean end a last line without
// a newline still counts, and an event without its blank line is still
// returned; after a read error the partial event is dropped.
func (r *Reader) finish() (Event, error) {
	if !errors.Is(r.err, io.EOF) {
		return Event{}, fmt.Errorf("sse: reading stream: %w", r.err)
	}
	if r.ls < r.w {
		start := r.ls
		r.ls, r.scan = r.w, r.w
		if ev, ok := r.line(start, r.w); ok {
			return ev, nil
		}
	}
	if r.fields {
		return r.emit(r.w), nil
	}
	return Event{}, io.EOF
}

// fill reads more of the source, first moving the unread bytes to the front
// of the buffer or growing it (up to the bound) when it is full.
func (r *Reader) fill() {
	if r.w == len(r.buf) {
		if r.r > 0 {
			n := copy(r.buf, r.buf[r.r:r.w])
			r.ls -= r.r
			r.scan -= r.r
			r.w = n
			r.r = 0
		} else {
			nb := make([]byte, min(2*len(r.buf), r.max+1))
			copy(nb, r.buf[:r.w])
			r.buf = nb
		}
	}
	n, err := r.src.Read(r.buf[r.w:])
	r.w += n
	if err != nil {
		r.err = err
	} else if n == 0 {
		r.err = io.ErrNoProgress
	}
}

// eventName returns the event's name without allocating for the names the
// Messages API uses.
func eventName(b []byte) string {
	switch string(b) {
	case "message_start":
		return "message_start"
	case "content_block_start":
		return "content_block_start"
	case "content_block_delta":
		return "content_block_delta"
	case "content_block_stop":
		return "content_block_stop"
	case "message_delta":
		return "message_delta"
	case "message_stop":
		return "message_stop"
	case "ping":
		return "ping"
	case "error":
		return "error"
	}
	return string(b)
}

// Append appends one encoded event to dst: "event: NAME\ndata: DATA\n\n".
// Data containing newlines is split over several data lines.
func Append(dst []byte, name string, data []byte) []byte {
	if name != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, name...)
		dst = append(dst, '\n')
	}
	for {
		line, rest, more := bytes.Cut(data, []byte{'\n'})
		dst = append(dst, "data: "...)
		dst = append(dst, line...)
		dst = append(dst, '\n')
		if !more {
			break
		}
		data = rest
	}
	return append(dst, '\n')
}
