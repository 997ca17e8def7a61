package proxy

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/internal/fake"
	"github.com/ccbalancer/ccbalancer/proxy/health"
)

var threeKeys = []config.Secret{"sk-key-one-secret", "sk-key-two-secret", "sk-key-three-secret"}

func withKeys(name string, keys ...config.Secret) func(*config.Config) {
	return func(c *config.Config) {
		for i := range c.Providers {
			if c.Providers[i].Name == name {
				c.Providers[i].Keys, c.Providers[i].AuthValue = keys, keys[0]
			}
		}
	}
}

// keysSeen lists the x-api-key of each messages request A received.
func keysSeen(u *fake.Upstream) []string {
	var out []string
	for _, r := range u.Requests() {
		if r.Path == "/v1/messages" {
			out = append(out, r.Header.Get("X-Api-Key"))
		}
	}
	return out
}

func TestKeysRotateRoundRobin(t *testing.T) {
	e := newEnv(t, withKeys("A", threeKeys...), ups("A", "B")...)
	for range 4 {
		if resp, _, _ := e.send(false, nil); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	want := []string{"sk-key-one-secret", "sk-key-two-secret", "sk-key-three-secret", "sk-key-one-secret"}
	if diff := cmp.Diff(want, keysSeen(e.ups["A"])); diff != "" {
		t.Errorf("keys used (-want +got):\n%s", diff)
	}
}

// TestKeyStatesOfTheirOwn: a key that is rate limited or rejected sits out
// alone; the request goes on with the provider's next key, not to B; when
// every key is out, the provider is, and B serves.
func TestKeyStatesOfTheirOwn(t *testing.T) {
	e := newEnv(t, withKeys("A", threeKeys...), ups("A", "B")...)
	e.ups["A"].SetScript(func(n int, r *http.Request) fake.Reply {
		switch r.Header.Get("X-Api-Key") {
		case "sk-key-one-secret":
			return fake.Reply{Mode: fake.Status, Status: 429, RetryAfter: "3600"}
		case "sk-key-two-secret":
			return fake.Reply{Mode: fake.Status, Status: 401, Message: "invalid x-api-key sk-key-two-secret"}
		}
		return fake.Reply{}
	})
	resp, _, _ := e.send(false, nil)
	if resp.Header.Get("X-Provider-Used") != "A" {
		t.Fatalf("served by %q, want A with its third key", resp.Header.Get("X-Provider-Used"))
	}
	want := []string{"sk-key-one-secret", "sk-key-two-secret", "sk-key-three-secret"}
	if diff := cmp.Diff(want, keysSeen(e.ups["A"])); diff != "" {
		t.Errorf("keys tried (-want +got):\n%s", diff)
	}
	states := map[string]health.State{}
	for _, n := range []string{"A", "A#1", "A#2", "A#3"} {
		states[n], _ = e.srv.health.State(n)
	}
	wantStates := map[string]health.State{"A": health.StateHealthy, "A#1": health.StateRateLimited,
		"A#2": health.StateNeedsAttention, "A#3": health.StateHealthy}
	if diff := cmp.Diff(wantStates, states); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	// Later requests use only the healthy key.
	for range 2 {
		e.send(false, nil)
	}
	if got := keysSeen(e.ups["A"])[3:]; !cmp.Equal(got, []string{"sk-key-three-secret", "sk-key-three-secret"}) {
		t.Errorf("after two keys went out, A saw %v", got)
	}
	// /providers shows the keys by number and fingerprint only.
	raw, err := e.client.Get(e.front.URL + "/providers")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(raw.Body)
	raw.Body.Close()
	if strings.Contains(string(body), "-secret") {
		t.Errorf("/providers shows a key:\n%s", body)
	}
	p := e.providerJSON("A")
	keys := p["keys"].([]any)
	k2 := keys[1].(map[string]any)
	if len(keys) != 3 || k2["state"] != "needs_attention" || k2["fingerprint"] != Fingerprint("sk-key-two-secret") || len(k2["fingerprint"].(string)) != 8 {
		t.Errorf("keys in /providers: %v", keys)
	}
	// The third key fails too: A is out, B serves.
	e.ups["A"].Always(fake.Reply{Mode: fake.Status, Status: 429, RetryAfter: "600"})
	if resp, _, _ := e.send(false, nil); resp.Header.Get("X-Provider-Used") != "B" {
		t.Fatalf("served by %q, want B once every key of A is out", resp.Header.Get("X-Provider-Used"))
	}
	if st, _ := e.srv.health.State("A"); st != health.StateRateLimited {
		t.Errorf("A is %s with its keys rate limited, rate limited and rejected; want rate_limited (the best of its keys)", st)
	}
}

// TestProviderFailureIsEveryKeys: a 5xx is the provider's, not a key's: the
// request fails over to B at once, without trying A's other keys.
func TestProviderFailureIsEveryKeys(t *testing.T) {
	e := newEnv(t, withKeys("A", threeKeys...), ups("A", "B")...)
	e.ups["A"].Always(fake.Reply{Mode: fake.Status, Status: 529})
	if resp, _, _ := e.send(false, nil); resp.Header.Get("X-Provider-Used") != "B" {
		t.Fatalf("served by %q", resp.Header.Get("X-Provider-Used"))
	}
	if n := len(keysSeen(e.ups["A"])); n != 1 {
		t.Errorf("A got %d requests for one 529, want 1", n)
	}
	for _, k := range []string{"A", "A#1", "A#2", "A#3"} {
		if st, _ := e.srv.health.State(k); st != health.StateCooling {
			t.Errorf("%s is %s after a 529, want cooling", k, st)
		}
	}
}

// TestSessionStaysOnItsKey: requests of one Claude Code session use the
// same key (prompt caching is per key) while others rotate.
func TestSessionStaysOnItsKey(t *testing.T) {
	e := newEnv(t, withKeys("A", threeKeys...), ups("A")...)
	sess := map[string]string{"X-Claude-Code-Session-Id": "0b7c1d0e-0000-4000-8000-000000000001"}
	e.send(false, sess)
	e.send(false, nil)
	e.send(false, sess)
	e.send(false, nil)
	e.send(false, sess)
	got := keysSeen(e.ups["A"])
	if got[0] != got[2] || got[0] != got[4] {
		t.Errorf("the session's requests used keys %s, %s, %s; want one key", got[0], got[2], got[4])
	}
	if got[1] == got[3] {
		t.Errorf("requests without a session did not rotate: %v", got)
	}
}
