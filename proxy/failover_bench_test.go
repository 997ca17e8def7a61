package proxy

import (
	"io"
	"testing"

	"github.com/ccbalancer/ccbalancer/internal/fake"
)

// BenchmarkFailover measures a whole client request whose first provider
// fails in the given way and whose second serves it, over loopback. The
// first provider's state is reset before each iteration (in every kind,
// the baseline included) so that every iteration fails over: with its cooldown running, the next
// requests would skip it altogether. "baseline" is the same request served
// by the first provider.
func BenchmarkFailover(b *testing.B) {
	kinds := []struct {
		name  string
		dead  bool
		reply fake.Reply
	}{
		{name: "baseline"},
		{name: "connection_refused", dead: true},
		{name: "http_500", reply: fake.Reply{Mode: fake.Status, Status: 500}},
		{name: "http_529", reply: fake.Reply{Mode: fake.Status, Status: 529}},
		{name: "http_429", reply: fake.Reply{Mode: fake.Status, Status: 429}},
		{name: "http_401", reply: fake.Reply{Mode: fake.Status, Status: 401}},
		{name: "http_404", reply: fake.Reply{Mode: fake.Status, Status: 404}},
		{name: "error_event", reply: fake.Reply{Mode: fake.ErrorEvent}},
		{name: "close_without_response", reply: fake.Reply{Mode: fake.CloseConn}},
	}
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			specs := ups("A", "B")
			if k.dead {
				specs[0].url = refusedURLB(b)
			}
			e := newEnvTB(b, nil, specs...)
			if a := e.ups["A"]; a != nil {
				a.Always(k.reply)
			}
			body := claudeBody("claude-sonnet-5", true)
			want := "B"
			if k.name == "baseline" {
				want = "A"
			}
			b.ResetTimer()
			for b.Loop() {
				e.srv.health.Reset("A", "benchmark") // a lock and a map write, in every kind alike
				resp := e.post("/v1/messages?beta=true", body, nil)
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if got := resp.Header.Get("X-Provider-Used"); got != want {
					b.Fatalf("served by %q, want %q", got, want)
				}
			}
		})
	}
}
