package proxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/ccbalancer/ccbalancer/config"
)

// TestBodyNotCopied guards the performance issue's "no extra copies of the
// body" with the allocation counter rather than a clock. Requests of 2 KB and
// of 512 KB go through the proxy, passed through and with the model mapped;
// what the whole process (client, proxy, upstream) allocates per request may
// grow with the body by less than three quarters of the body's size. One copy
// of the body anywhere on the way would add all of it. What grows without a
// copy: the transports' copy buffers (sized up to 32 KB by the body) and the
// pooled body buffer, allocated again only when the pool has dropped it, which
// under the race detector happens to a quarter of the buffers put back: about
// 80 KB per request without the race detector, 200–250 KB with it.
//
// Not parallel: the counter is the whole process's, and parallel tests run
// only after the sequential ones.
func TestBodyNotCopied(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"`+
			strconv.FormatInt(n, 10)+`"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}`)
	}))
	defer up.Close()
	bodyOf := func(size int) []byte {
		const word = "read the file and return each line that matches the pattern "
		return []byte(`{"model":"claude-sonnet-5","messages":[{"role":"user","content":[{"type":"text","text":"` +
			strings.Repeat(word, size/len(word)) + `"}]}],"max_tokens":64000}`)
	}
	small, large := bodyOf(2<<10), bodyOf(512<<10)

	for _, model := range []string{config.Passthrough, "vendor/sonnet-mapped"} {
		t.Run(model, func(t *testing.T) {
			e := newEnv(t, func(c *config.Config) { c.Routes[0].Entries[0].Model = model },
				upSpec{name: "p", url: up.URL})
			send := func(body []byte) {
				wantLen := len(body)
				if model != config.Passthrough {
					wantLen += len(model) - len("claude-sonnet-5")
				}
				resp := e.post("/v1/messages", body, nil)
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !bytes.Contains(got, []byte(`"text":"`+strconv.Itoa(wantLen)+`"`)) {
					t.Fatalf("status %d, body %.200s; want 200 and the upstream to have read %d bytes", resp.StatusCode, got, wantLen)
				}
			}
			perRequest := func(body []byte) int64 {
				for range 3 { // connections, pools
					send(body)
				}
				const n = 60
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				for range n {
					send(body)
				}
				runtime.ReadMemStats(&after)
				return int64(after.TotalAlloc-before.TotalAlloc) / n
			}
			base, big := perRequest(small), perRequest(large)
			t.Logf("allocated per request: %d bytes for a %d-byte body, %d bytes for a %d-byte body", base, len(small), big, len(large))
			if grew := big - base; grew > int64(len(large)*3/4) {
				t.Errorf("allocations per request grew by %d bytes for %d more bytes of body: the body is being copied", grew, len(large)-len(small))
			}
		})
	}
}
