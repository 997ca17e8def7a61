package tokens

import (
	"context"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"
)

// longRuns are texts of the kinds that defeat a byte-pair encoder: long runs
// of one class of character, and some ordinary ones for contrast.
func longRuns(n int) map[string]string {
	rng := rand.New(rand.NewPCG(1, 2))
	letters := make([]byte, n)
	for i := range letters {
		letters[i] = byte('a' + rng.IntN(26))
	}
	random := make([]byte, n*3/4)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	var mixed strings.Builder
	alphabet := []rune("aZ09 \n\t!{}\"'é漢🌍")
	for mixed.Len() < n {
		mixed.WriteRune(alphabet[rng.IntN(len(alphabet))])
	}
	return map[string]string{
		"base64 of zeros":  base64.StdEncoding.EncodeToString(make([]byte, n*3/4)),
		"base64 of random": base64.StdEncoding.EncodeToString(random),
		"random letters":   string(letters),
		"one letter":       strings.Repeat("a", n),
		"digits":           strings.Repeat("1234567890", n/10),
		"spaces":           strings.Repeat(" ", n) + "x",
		"newlines":         strings.Repeat("\n", n),
		"space newline":    strings.Repeat(" \n", n/2) + "x",
		"punctuation":      strings.Repeat("!?", n/2),
		"cjk":              strings.Repeat("漢字仮名", n/12),
		"emoji":            strings.Repeat("🌍", n/4),
		"prose":            prose(3, n),
		"mixed":            mixed.String(),
	}
}

// TestEstimateBound checks the bound documented in segment.go against
// tiktoken's own count: equal when no cut was forced, and at most
// maxCutError tokens apart per forced cut.
func TestEstimateBound(t *testing.T) {
	t.Parallel()
	exact := reference(t)
	enc, err := encoding()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{100, 1000, 6000} {
		for name, s := range longRuns(n) {
			c := counter{enc: enc, ctx: context.Background()}
			got, want := c.text(s), exact(s)
			forced := segments(s, func(string) bool { return true })
			if d := got - want; d > maxCutError*forced || -d > maxCutError*forced {
				t.Errorf("%s, %d bytes: estimate %d, tiktoken %d: %d apart with %d forced cuts", name, len(s), got, want, d, forced)
			}
		}
	}
}

// TestSegments checks that segments cover the text, cut only at character
// boundaries, and leave no run or segment longer than the bounds.
func TestSegments(t *testing.T) {
	t.Parallel()
	for name, s := range longRuns(50000) {
		var joined strings.Builder
		segments(s, func(seg string) bool {
			joined.WriteString(seg)
			if !utf8.ValidString(seg) && utf8.ValidString(s) {
				t.Errorf("%s: a cut splits a character", name)
			}
			if len(seg) > maxSegment+utf8.UTFMax {
				t.Errorf("%s: segment of %d bytes", name, len(seg))
			}
			run, runLen := classNone, 0
			for _, r := range seg {
				if c := classOf(r); c != run {
					run, runLen = c, 0
				}
				runLen += utf8.RuneLen(r)
				if runLen > maxRun+utf8.UTFMax {
					t.Fatalf("%s: a run of %d bytes in one segment", name, runLen)
				}
			}
			return true
		})
		if joined.String() != s {
			t.Errorf("%s: segments do not make up the text", name)
		}
	}
}

func TestCountContextCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	body := `{"messages":[{"role":"user","content":"` + strings.Repeat("A", 1<<20) + `"}]}`
	n, err := CountContext(ctx, []byte(body))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("CountContext = %d, %v; want context.Canceled", n, err)
	}
	if errors.Is(err, ErrInvalidRequest) {
		t.Errorf("a cancelled count is reported as the request's fault: %v", err)
	}
}

// countdown is a context that ends after n calls to Err.
type countdown struct {
	context.Context
	n atomic.Int32
}

func (c *countdown) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// TestCountStopsMidway: a count ends within one segment of its context
// ending, however much text is left.
func TestCountStopsMidway(t *testing.T) {
	t.Parallel()
	ctx := &countdown{Context: context.Background()}
	ctx.n.Store(3)
	body := `{"messages":[{"role":"user","content":"` + strings.Repeat("A", 8<<20) + `"}]}`
	n, err := CountContext(ctx, []byte(body))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("CountContext = %d, %v; want context.Canceled", n, err)
	}
	if left := ctx.n.Load(); left != -1 {
		t.Errorf("the context was asked %d more times after it ended", -1-left)
	}
}

// BenchmarkCountLongRun shows that the cost of a run of letters grows
// linearly with its length (it grew with the square before segments).
func BenchmarkCountLongRun(b *testing.B) {
	if err := Warm(); err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{64 << 10, 256 << 10, 1 << 20} {
		body := []byte(`{"messages":[{"role":"user","content":"` + base64.StdEncoding.EncodeToString(make([]byte, n*3/4)) + `"}]}`)
		b.Run(byteSize(n), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := Count(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func byteSize(n int) string {
	switch {
	case n >= 1<<20:
		return strconv.Itoa(n>>20) + "MiB"
	default:
		return strconv.Itoa(n>>10) + "KiB"
	}
}
