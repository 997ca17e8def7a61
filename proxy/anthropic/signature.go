package anthropic

import (
	"bytes"
	"io"
	"slices"
)

// WriteSignature writes to w the request body without its metadata and
// stream members, for deduplication and caching: two requests that differ
// only in those (Claude Code's metadata carries a per-session user_id; the
// stream flag is compared apart) write the same bytes. What is written is
// the body as it would read had those members never been there: the other
// members in order, each byte as sent, joined by the commas between them.
// f must come from Peek(body).
func WriteSignature(w io.Writer, body []byte, f Fields) {
	var cut []Span
	for _, sp := range []Span{f.Metadata, f.StreamMember} {
		if sp.End > sp.Start {
			cut = append(cut, sp)
		}
	}
	if len(cut) == 0 {
		_, _ = w.Write(body)
		return
	}
	slices.SortFunc(cut, func(a, b Span) int { return a.Start - b.Start })
	open := bytes.IndexByte(body, '{')
	end := bytes.LastIndexByte(body, '}')
	_, _ = w.Write(body[:open+1])
	pos, first := open+1, true
	seg := func(b []byte) {
		// A segment holds whole members; only the commas that joined it to
		// a removed member, and blanks, sit at its ends.
		b = bytes.Trim(b, " \t\r\n,")
		if len(b) == 0 {
			return
		}
		if !first {
			_, _ = w.Write([]byte{','})
		}
		first = false
		_, _ = w.Write(b)
	}
	for _, sp := range cut {
		seg(body[pos:sp.Start])
		pos = sp.End
	}
	seg(body[pos:end])
	_, _ = w.Write(body[end:])
}
