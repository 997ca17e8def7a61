package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/pkoukk/tiktoken-go"
)

// FuzzEstimate holds the segmented count to tiktoken's exact one, within
// the bound segment.go documents: equal when no cut was forced, at most
// maxCutError tokens apart per forced cut. Seeds are in testdata/fuzz/FuzzEstimate.
func FuzzEstimate(f *testing.F) {
	for _, s := range longRuns(600) {
		f.Add(s)
	}
	if err := Warm(); err != nil {
		f.Fatal(err)
	}
	enc, err := encoding()
	if err != nil {
		f.Fatal(err)
	}
	exact, err := tiktoken.GetEncoding(encodingName)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 2<<10 || longestRun(s) > 2*maxRun {
			// tiktoken's own count is quadratic in a piece's length, and
			// far slower still under the fuzzer's instrumentation: keep
			// the oracle quick. Runs up to 2 maxRun still force cuts.
			return
		}
		c := counter{enc: enc, ctx: context.Background()}
		got, want := c.text(s), len(exact.EncodeOrdinary(s))
		forced := segments(s, func(string) bool { return true })
		if d := got - want; d > maxCutError*forced || -d > maxCutError*forced {
			t.Fatalf("estimate %d, tiktoken %d, %d forced cuts, for %q", got, want, forced, s)
		}
	})
}

// FuzzCount: any body is counted or refused as the client's fault, never a
// panic, and a count is never negative.
func FuzzCount(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	f.Add(claudeCodeBody(4 << 10))
	f.Add([]byte(`{"system":[{"type":"text","text":"s"}],"messages":[{"role":"user","content":[{"type":"tool_result","content":[{"type":"image"}]}]}],"tools":[{"name":"x"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := CountContext(context.Background(), body)
		if err != nil {
			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("error %v for %q is not the request's fault", err, body)
			}
			if json.Valid(body) && n != 0 {
				t.Fatalf("count %d with an error", n)
			}
			return
		}
		if n < 0 {
			t.Fatalf("count %d for %q", n, body)
		}
	})
}

// longestRun is the length in bytes of the longest run of one class of
// character in s.
func longestRun(s string) int {
	longest, n, run := 0, 0, classNone
	for _, r := range s {
		if c := classOf(r); c != run {
			run, n = c, 0
		}
		n += utf8.RuneLen(r)
		longest = max(longest, n)
	}
	return longest
}
