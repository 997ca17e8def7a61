package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ledger "github.com/ccbalancer/ccbalancer/proxy/usage"
)

// TestUsageCommand: `ccbalancer usage` reads the ledger named by the
// configuration and prints its table, grouped as asked; bad flags are
// usage errors.
func TestUsageCommand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "ledger.db")
	conf := filepath.Join(dir, "providers.yaml")
	// The keys are not at hand (an unset variable, a keyring entry that does
	// not exist): reading the ledger does not need them.
	text := "providers:\n  - {name: A, type: anthropic, base_url: \"http://127.0.0.1:1\", auth_value: \"${CCB_USAGE_TEST_UNSET_KEY}\"}\n" +
		"  - {name: B, type: anthropic, base_url: \"http://127.0.0.1:2\", auth_value: \"keyring:ccb-usage-test-none\"}\n" +
		"model_routes:\n  \"*\": [{provider: A}, {provider: B}]\nsettings:\n  usage_db: " + db + "\n"
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(db, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	l.Add(ledger.Record{Time: now, Provider: "A", ModelSent: "claude-sonnet-5", Status: 200, Tokens: ledger.Tokens{Input: 1200, Output: 300}, Cost: 0.0081, Priced: true})
	l.Add(ledger.Record{Time: now.Add(-48 * time.Hour), Provider: "A", ModelSent: "old", Status: 200, Tokens: ledger.Tokens{Input: 5}})
	l.Add(ledger.Record{Time: now, Status: 503, Error: "no provider"})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	var out, errOut bytes.Buffer
	if code := run([]string{"usage", "--config", conf, "--by", "model"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	got := out.String()
	t.Logf("ccbalancer usage --by model:\n%s", got)
	for _, want := range []string{"claude-sonnet-5", "1200", "300", "0.0081", "(none)", "total"} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "old") {
		t.Errorf("a record older than --since 24h is listed:\n%s", got)
	}
	out.Reset()
	if code := run([]string{"usage", "--config", conf, "--since", "3d"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "A ") {
		t.Errorf("--since 3d: exit %d:\n%s", code, out.String())
	}
	for _, args := range [][]string{{"usage", "--by", "colour"}, {"usage", "--since", "yesterday"}, {"usage", "extra"}} {
		errOut.Reset()
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errOut.String())
		}
	}
}
