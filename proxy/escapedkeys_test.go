package proxy

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/internal/fake"
)

// TestEscapedKeys: keys written with JSON escapes mean what they say, as they
// do to the Messages API: {"mod\u0065l": …} is the model, and of two model
// keys the last one counts. The request is routed by that model, the mapped
// model replaces that value (the rest of the body unchanged), and an escaped
// stream key asks for a stream; for both provider types.
func TestEscapedKeys(t *testing.T) {
	t.Parallel()
	bodies := []struct{ name, head string }{
		{"escaped model key", `{"mod\u0065l":"claude-sonnet-5"`},
		{"last of two model keys", `{"model":"claude-haiku-4","max_tokens":64,"mod\u0065l":"claude-sonnet-5"`},
	}
	for _, b := range bodies {
		for _, typ := range []config.ProviderType{config.TypeAnthropic, config.TypeOpenAI} {
			for _, stream := range []bool{false, true} {
				name := b.name + "/" + string(typ)
				if stream {
					name += "/stream"
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					client := b.head + `,"max_tokens":64,"messages":[{"role":"user","content":"hi"}]`
					if stream {
						client += `,"str\u0065am":true`
					}
					client += "}"
					var e *env
					var sent func() []byte
					if typ == config.TypeOpenAI {
						var o *fake.OpenAI
						e, o = openaiEnv(t, nil)
						sent = func() []byte { return o.Requests()[0].Body }
					} else {
						e = newEnv(t, func(c *config.Config) { c.Routes[0].Entries[0].Model = "vendor/sonnet" }, ups("A")...)
						sent = func() []byte { return e.ups["A"].Requests()[0].Body }
					}
					resp := e.post("/v1/messages", []byte(client), nil)
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("status %d: %s", resp.StatusCode, body)
					}
					if got := strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream"); got != stream {
						t.Errorf("streamed answer = %v, want %v", got, stream)
					}
					var up map[string]any
					if err := json.Unmarshal(sent(), &up); err != nil {
						t.Fatalf("upstream body %s: %v", sent(), err)
					}
					want := "vendor/sonnet"
					if typ == config.TypeOpenAI {
						want = "vendor/model-x"
					} else if got, want := string(sent()), strings.Replace(client, `"claude-sonnet-5"`, `"vendor/sonnet"`, 1); got != want {
						t.Errorf("forwarded body\n%s\nwant\n%s", got, want)
					}
					if up["model"] != want {
						t.Errorf("upstream model = %v, want %s", up["model"], want)
					}
				})
			}
		}
	}
}
