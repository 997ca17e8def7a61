package sse

import (
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
		{"lf", "event: a\ndata: {\"x\":1}\n\nevent: b\ndata: 2\n\n", []Event{{"a", []byte(`{"x":1}`)}, {"b", []byte("2")}}, io.EOF},
		{"crlf", "event: a\r\ndata: 1\r\n\r\n", []Event{{"a", []byte("1")}}, io.EOF},
		{"multiline data", "data: a\ndata: b\n\n", []Event{{"", []byte("a\nb")}}, io.EOF},
		{"comments and blank lines", ": ping\n\n\nevent: a\n: mid\ndata: 1\n\n", []Event{{"a", []byte("1")}}, io.EOF},
		{"no trailing blank line", "event: a\ndata: 1", []Event{{"a", []byte("1")}}, io.EOF},
		{"no space after colon", "event:a\ndata:1\n\n", []Event{{"a", []byte("1")}}, io.EOF},
		{"openai done", "data: {}\n\ndata: [DONE]\n\n", []Event{{"", []byte("{}")}, {"", []byte("[DONE]")}}, io.EOF},
		{"empty", "", nil, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := NewReader(iotest.OneByteReader(strings.NewReader(tt.in)))
			var got []Event
			var err error
			for {
				var e Event
				e, err = r.Next()
				if err != nil {
					break
				}
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
	r := NewReader(io.MultiReader(strings.NewReader("event: a\ndata: 1\n\nevent: b\nda"), iotest.ErrReader(cut)))
	if _, err := r.Next(); err != nil {
		t.Fatalf("first event: %v", err)
	}
	if _, err := r.Next(); !errors.Is(err, cut) {
		t.Fatalf("after a cut: err = %v, want %v", err, cut)
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
	r := NewReader(strings.NewReader(string(buf)))
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
		r := NewReader(strings.NewReader(in))
		for i := 0; i < 10000; i++ {
			if _, err := r.Next(); err != nil {
				return
			}
		}
		t.Fatal("reader did not end")
	})
}
