package sse

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

func TestReader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    []Event
		wantErr error
	}{
		{"lf", "event: a\ndata: {\"x\":1}\n\nevent: b\ndata: 2\n\n", []Event{
			{"a", []byte(`{"x":1}`), []byte("event: a\ndata: {\"x\":1}\n\n")}, {"b", []byte("2"), []byte("event: b\ndata: 2\n\n")}}, io.EOF},
		{"crlf", "event: a\r\ndata: 1\r\n\r\n", []Event{{"a", []byte("1"), []byte("event: a\r\ndata: 1\r\n\r\n")}}, io.EOF},
		{"multiline data", "data: a\ndata: b\ndata: c\n\n", []Event{{"", []byte("a\nb\nc"), []byte("data: a\ndata: b\ndata: c\n\n")}}, io.EOF},
		{"comments and blank lines ride along", ": ping\n\n\nevent: a\n: mid\ndata: 1\n\n", []Event{{"a", []byte("1"), []byte(": ping\n\n\nevent: a\n: mid\ndata: 1\n\n")}}, io.EOF},
		{"no trailing blank line", "event: a\ndata: 1", []Event{{"a", []byte("1"), []byte("event: a\ndata: 1")}}, io.EOF},
		{"no space after colon", "event:a\ndata:1\n\n", []Event{{"a", []byte("1"), []byte("event:a\ndata:1\n\n")}}, io.EOF},
		{"field without colon", "data\n\n", []Event{{"", []byte(""), []byte("data\n\n")}}, io.EOF},
		{"openai done", "data: {}\n\ndata: [DONE]\n\n", []Event{{"", []byte("{}"), []byte("data: {}\n\n")}, {"", []byte("[DONE]"), []byte("data: [DONE]\n\n")}}, io.EOF},
		{"trailing comment dropped", "data: 1\n\n: bye\n", []Event{{"", []byte("1"), []byte("data: 1\n\n")}}, io.EOF},
		{"empty", "", nil, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := NewReader(iotest.OneByteReader(strings.NewReader(tt.in)), 0)
			var got []Event
			var err error
			for {
				var e Event
				e, err = r.Next()
				if err != nil {
					break
				}
				// Data and Raw are only valid until the next call.
				e.Data, e.Raw = bytes.Clone(e.Data), bytes.Clone(e.Raw)
				got = append(got, e)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("end error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReaderCutIsNotEOF(t *testing.T) {
	t.Parallel()
	cut := errors.New("connection reset")
	r := NewReader(io.MultiReader(strings.NewReader("event: a\ndata: 1\n\nevent: b\nda"), iotest.ErrReader(cut)), 0)
	if _, err := r.Next(); err != nil {
		t.Fatalf("first event: %v", err)
	}
	if _, err := r.Next(); !errors.Is(err, cut) {
		t.Fatalf("after a cut: err = %v, want %v", err, cut)
	}
}

// TestBounded: a line or an event past the bound fails the stream, whatever
// the size of the reads, and the reader holds no more than the bound.
func TestBounded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
	}{
		{"endless line", "data: " + strings.Repeat("x", 5000)},
		{"endless event", strings.Repeat("data: xxxxxxxxxxxxxxxxxxxx\n", 300)},
		{"endless comments", strings.Repeat(": keep-alive\n\n", 500)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The stream goes on forever; only the bound can stop the reader.
			src := io.MultiReader(strings.NewReader(tt.in), endless{})
			r := NewReader(src, 4096)
			_, err := r.Next()
			if !errors.Is(err, ErrTooLong) {
				t.Fatalf("err = %v, want ErrTooLong", err)
			}
			if len(r.buf) > 4097 {
				t.Errorf("buffer grew to %d bytes, bound 4096", len(r.buf))
			}
		})
	}
	// Exactly at the bound is fine.
	ev := "data: " + strings.Repeat("y", 4096-8) + "\n\n"
	r := NewReader(strings.NewReader(ev), 4096)
	if e, err := r.Next(); err != nil || len(e.Raw) != 4096 {
		t.Fatalf("event of exactly the bound: %d bytes, %v", len(e.Raw), err)
	}
}

// endless is a source of 'x' bytes that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// TestScannedOnce: every byte is searched for a line end once, however the
// stream is split into reads: a long line arriving a few bytes at a time is
// not searched again from its start after every read (which is quadratic).
func TestScannedOnce(t *testing.T) {
	t.Parallel()
	const n = 1 << 18
	in := "event: content_block_delta\ndata: " + strings.Repeat("z", n) + "\n\n" + strings.Repeat("data: 1\n\n", 1000)
	for _, src := range []io.Reader{iotest.OneByteReader(strings.NewReader(in)), iotest.HalfReader(strings.NewReader(in)), strings.NewReader(in)} {
		r := NewReader(src, 2*n)
		events := 0
		for {
			_, err := r.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatal(err)
				}
				break
			}
			events++
		}
		if events != 1001 || r.scanned != len(in) {
			t.Errorf("%T: %d events, %d bytes searched for %d bytes of input", src, events, r.scanned, len(in))
		}
	}
}

func TestAppendRoundTrip(t *testing.T) {
	t.Parallel()
	var buf []byte
	buf = Append(buf, "message_start", []byte(`{"type":"message_start"}`))
	buf = Append(buf, "", []byte("two\nlines"))
	if got, want := string(buf), "event: message_start\ndata: {\"type\":\"message_start\"}\n\ndata: two\ndata: lines\n\n"; got != want {
		t.Fatalf("Append = %q, want %q", got, want)
	}
	r := NewReader(strings.NewReader(string(buf)), 0)
	e, _ := r.Next()
	if e.Name != "message_start" {
		t.Errorf("name = %q", e.Name)
	}
	e, _ = r.Next()
	if string(e.Data) != "two\nlines" {
		t.Errorf("data = %q", e.Data)
	}
}

func FuzzReader(f *testing.F) {
	f.Add("event: a\ndata: 1\n\n")
	f.Add("data: x\r\n\r\n: c\n")
	f.Fuzz(func(t *testing.T, in string) {
		// The raw bytes of the events are the input, less what follows the
		// last event (comments and blank lines, or a cut line).
		r := NewReader(strings.NewReader(in), 64)
		var raw []byte
		for i := 0; i < 10000; i++ {
			ev, err := r.Next()
			if err != nil {
				if !strings.HasPrefix(in, string(raw)) {
					t.Fatalf("raw bytes %q are not a prefix of the input %q", raw, in)
				}
				return
			}
			if len(ev.Raw) > 64 {
				t.Fatalf("event of %d bytes passed a bound of 64", len(ev.Raw))
			}
			raw = append(raw, ev.Raw...)
		}
		t.Fatal("reader did not end")
	})
}
