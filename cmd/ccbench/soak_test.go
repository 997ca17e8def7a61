package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ccbalancer/ccbalancer/config"
)

// TestSoakConfigs: the soak's rewrites are what it claims: the valid ones
// load, every invalid one is refused.
func TestSoakConfigs(t *testing.T) {
	t.Parallel()
	invalid := 0
	for n := range 24 {
		yaml, valid := soakConfig(n, "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", "/tmp/soak.jsonl")
		_, err := config.Parse("soak.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
		if (err == nil) != valid {
			t.Errorf("config %d: valid %v, but Parse says %v\n%s", n, valid, err, yaml)
		}
		if !valid {
			invalid++
		}
	}
	if invalid != 6 {
		t.Errorf("%d invalid configurations of 24, want every fourth", invalid)
	}
}

// TestSoakBody: every request body is valid JSON and carries its id, which
// the fake providers read back.
func TestSoakBody(t *testing.T) {
	t.Parallel()
	for _, stream := range []bool{false, true} {
		for _, large := range []bool{false, true} {
			b := soakBody(4217, stream, large)
			if !json.Valid(b) {
				t.Fatalf("stream %v large %v: invalid JSON", stream, large)
			}
			if id, ok := soakID(b); !ok || id != 4217 {
				t.Errorf("stream %v large %v: id %d, %v", stream, large, id, ok)
			}
		}
	}
	if got := strings.Join(soakWords(soakText(9, 4)), ""); got != "soak 9: w0 w1 w2 w3 end 9." {
		t.Errorf("the deltas make %q", got)
	}
}
