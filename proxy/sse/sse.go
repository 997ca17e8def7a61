// Package sse reads and writes server-sent events (text/event-stream) as the
// Anthropic and OpenAI streaming APIs use them.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Event is one server-sent event. Data holds the data lines joined by "\n".
type Event struct {
	Name string
	Data []byte
}

// maxLine bounds one line of the stream; a longer line is an error, not an
// unbounded allocation.
const maxLine = 8 << 20

// ErrLineTooLong is returned when a single line exceeds the reader's bound.
var ErrLineTooLong = errors.New("sse: line too long")

// Reader parses events from a stream. It is not safe for concurrent use.
type Reader struct {
	r    *bufio.Reader
	name []byte
	data []byte
	has  bool
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 16<<10)}
}

// Next returns the next event. At a clean end of the stream it returns io.EOF;
// a stream that ends inside an event (no terminating blank line) still yields
// that event first. Any other read error is returned as is (wrapped), so a
// caller can tell a cut from a clean end.
func (r *Reader) Next() (Event, error) {
	for {
		line, err := r.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) && r.has {
				return r.emit(), nil
			}
			return Event{}, err
		}
		if len(line) == 0 {
			if r.has {
				return r.emit(), nil
			}
			continue
		}
		if line[0] == ':' {
			continue // comment
		}
		field, value, _ := bytes.Cut(line, []byte{':'})
		value = bytes.TrimPrefix(value, []byte{' '})
		switch string(field) {
		case "event":
			r.name = append(r.name[:0], value...)
			r.has = true
		case "data":
			if r.data != nil {
				r.data = append(r.data, '\n')
			} else {
				r.data = make([]byte, 0, len(value))
			}
			r.data = append(r.data, value...)
			r.has = true
		}
	}
}

func (r *Reader) emit() Event {
	e := Event{Name: string(r.name), Data: r.data}
	r.name = r.name[:0]
	r.data = nil
	r.has = false
	return e
}

// readLine returns one line without its terminator (\n, \r\n or \r\n).
func (r *Reader) readLine() ([]byte, error) {
	line, err := r.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		buf := append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(buf) > maxLine {
				return nil, ErrLineTooLong
			}
			line, err = r.r.ReadSlice('\n')
			buf = append(buf, line...)
		}
		line = buf
	}
	if err != nil {
		if errors.Is(err, io.EOF) && len(line) > 0 {
			// A last line without a newline still counts; the stream ends after it.
			return bytes.TrimRight(line, "\r"), nil
		}
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("sse: reading stream: %w", err)
	}
	line = line[:len(line)-1]
	return bytes.TrimSuffix(line, []byte{'\r'}), nil
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
