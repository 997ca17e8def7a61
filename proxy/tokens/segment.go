package tokens

import (
	"unicode"
	"unicode/utf8"
)

// Byte-pair encoding as tiktoken implements it costs time that grows with the
// square of a piece's length, and its regular expression splits text into
// pieces without bound: a run of letters (base64 of zeros, say) is one piece.
// 64 K letters took seconds, 256 K nearly a minute. Text is therefore handed
// to the encoder in segments, cut so that the work and the memory are linear
// in the text's length:
//
//   - a run of characters of one class (letters, digits, white space, other)
//     is cut every maxRun bytes, so that no piece is longer than about
//     2*maxRun bytes;
//   - a segment ends after at most maxSegment bytes, before a space that
//     precedes a letter where there is one (the encoder's pieces never span
//     such a point, so this cut changes nothing), else wherever it is.
//
// Text without a run longer than maxRun and with such a space at least every
// maxSegment bytes (prose, code, JSON) counts exactly as tiktoken counts it.
// Each other cut (a forced cut) may change the count, by at most
// maxCutError tokens: a cut changes the encoder's pieces only next to it.
// The bound is measured, not proven: TestEstimateBound on runs of letters,
// base64, digits, white space, newlines, punctuation and CJK, and
// FuzzEstimate against tiktoken's own count. So the estimate is within
// maxCutError*ceil(len/maxRun) tokens of the exact count. Measured on texts
// that are one long run: 0 apart for base64 of zeros, one letter, spaces,
// newlines or CJK; 0.14% for random letters; 1.6% for punctuation (one token
// per cut).
const (
	maxRun      = 128
	maxSegment  = 8 << 10
	maxCutError = 2
)

// class is a character class of the encoder's split pattern (cl100k_base:
// letters \p{L}, digits \p{N}, white space \s, everything else).
type class int8

const (
	classNone class = iota
	classLetter
	classDigit
	classSpace
	classOther
)

func classOf(r rune) class {
	if r < utf8.RuneSelf {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
			return classLetter
		case '0' <= r && r <= '9':
			return classDigit
		case r == ' ', '\t' <= r && r <= '\r':
			return classSpace
		}
		return classOther
	}
	switch {
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classDigit
	case unicode.IsSpace(r):
		return classSpace
	}
	return classOther
}

// segments calls yield with consecutive segments of s that together make s,
// cut as described above, and returns the number of forced cuts. It stops
// early when yield returns false.
func segments(s string, yield func(string) bool) (forced int) {
	start, runStart := 0, 0
	run := classNone
	safe := -1 // the last cut point in this segment that changes nothing
	prevSpace := false
	for i, r := range s {
		c := classOf(r)
		if c != run {
			run, runStart = c, i
		}
		if c == classLetter && prevSpace && i-1 > start {
			safe = i - 1
		}
		prevSpace = r == ' '
		cut := -1
		switch {
		case i-runStart >= maxRun:
			cut, runStart = i, i
			forced++
		case i-start >= maxSegment && safe > start:
			cut = safe
		case i-start >= maxSegment:
			cut = i
			forced++
		}
		if cut < 0 {
			continue
		}
		if !yield(s[start:cut]) {
			return forced
		}
		start, safe = cut, -1
	}
	if start < len(s) {
		yield(s[start:])
	}
	return forced
}
