package logging_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ccbalancer/ccbalancer/logging"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// secret redacts itself only through slog.LogValuer, as config.Secret does;
// it has no String or MarshalText, so a handler that skipped resolving
// LogValuers would print it in clear.
type secret string

func (secret) LogValue() slog.Value { return slog.StringValue("[REDACTED]") }

// syncBuffer is a console that goroutines may share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// readJSONLines parses every line of path, failing on any that is not a
// JSON object.
func readJSONLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s line %d is not JSON: %v: %q", path, n, err, sc.Text())
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNewWritesConsoleAndFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "logs.jsonl")
	var console syncBuffer
	log, closer, err := logging.New(logging.Options{
		Level: slog.LevelInfo, Color: true, File: path, Console: &console,
	})
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("below the level", "n", 1)
	req := log.With(slog.String("request_id", "r1"), slog.Any("auth_key", secret("sk-ant-very-secret")))
	req.WithGroup("upstream").Info("forwarded", slog.String("provider", "main"), slog.Int("status", 200))
	req.Warn("failover", slog.Any("key", secret("sk-other-secret")))
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}
	log.Error("after close") // reaches the console only, and must not panic

	// The console is a buffer, not a terminal: no colour despite Color.
	gotConsole := console.String()
	if strings.Contains(gotConsole, "\x1b[") {
		t.Errorf("colour written to a non-terminal:\n%q", gotConsole)
	}
	var consoleLines []string
	for l := range strings.Lines(gotConsole) {
		consoleLines = append(consoleLines, l[len("15:04:05.000 "):]) // drop the clock
	}
	wantConsole := []string{
		"INFO  forwarded request_id=r1 auth_key=[REDACTED] upstream.provider=main upstream.status=200\n",
		"WARN  failover request_id=r1 auth_key=[REDACTED] key=[REDACTED]\n",
		"ERROR after close\n",
	}
	if diff := cmp.Diff(wantConsole, consoleLines); diff != "" {
		t.Errorf("console (-want +got):\n%s", diff)
	}

	got := readJSONLines(t, path)
	want := []map[string]any{
		{"level": "INFO", "msg": "forwarded", "request_id": "r1", "auth_key": "[REDACTED]",
			"upstream": map[string]any{"provider": "main", "status": float64(200)}},
		{"level": "WARN", "msg": "failover", "request_id": "r1", "auth_key": "[REDACTED]", "key": "[REDACTED]"},
	}
	for _, m := range got {
		if _, ok := m["time"].(string); !ok {
			t.Errorf("record without a time: %v", m)
		}
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreMapEntries(func(k string, _ any) bool { return k == "time" })); diff != "" {
		t.Errorf("file records (-want +got):\n%s", diff)
	}
	raw := readFile(t, path) + gotConsole
	if strings.Contains(raw, "sk-ant") || strings.Contains(raw, "sk-other") {
		t.Errorf("a secret reached the logs:\n%s", raw)
	}
}

func TestNewRotatesAtBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs.jsonl")
	const maxBytes = 2000
	log, closer, err := logging.New(logging.Options{
		Level: slog.LevelInfo, File: path, MaxBytes: maxBytes, Console: &syncBuffer{},
	})
	if err != nil {
		t.Fatal(err)
	}
	const records = 100 // each ~80 bytes: several rotations
	for i := range records {
		log.Info("tick", slog.Int("i", i))
	}
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + ".1"} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if info.Size() > maxBytes {
			t.Errorf("%s is %d bytes, over the %d bound", p, info.Size(), maxBytes)
		}
	}
	// The two files hold the most recent records, in order, without gaps.
	all := append(readJSONLines(t, path+".1"), readJSONLines(t, path)...)
	if len(all) == 0 || len(all) >= records {
		t.Fatalf("%d records kept of %d; want a bounded, non-empty tail", len(all), records)
	}
	first := records - len(all)
	for n, m := range all {
		if got, want := m["i"], float64(first+n); got != want {
			t.Fatalf("record %d has i=%v, want %v", n, got, want)
		}
	}
}

func TestNewConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs.jsonl")
	var console syncBuffer
	log, closer, err := logging.New(logging.Options{
		Level: slog.LevelInfo, File: path, MaxBytes: 64 << 10, Console: &console,
	})
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, each = 8, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			l := log.With(slog.Int("g", g)).WithGroup("w")
			for i := range each {
				l.Info("work", slog.Int("i", i), slog.String("pad", strings.Repeat("x", 40)))
			}
		})
	}
	wg.Wait()
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}

	if got := strings.Count(console.String(), "\n"); got != goroutines*each {
		t.Errorf("console has %d lines, want %d", got, goroutines*each)
	}
	for l := range strings.Lines(console.String()) {
		if !strings.Contains(l, " INFO  work g=") || !strings.HasSuffix(l, strings.Repeat("x", 40)+"\n") {
			t.Fatalf("torn console line %q", l)
		}
	}
	// Every record in the file is whole; rotation may have moved older ones.
	seen := map[string]bool{}
	for _, p := range []string{path + ".1", path} {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		for _, m := range readJSONLines(t, p) {
			w, _ := m["w"].(map[string]any)
			key := fmt.Sprint(m["g"], "/", w["i"])
			if seen[key] {
				t.Errorf("record %s written twice", key)
			}
			seen[key] = true
		}
	}
	if len(seen) == 0 {
		t.Error("no records in the file")
	}
}

func TestNewFileError(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := logging.New(logging.Options{File: filepath.Join(blocker, "logs.jsonl"), Console: &syncBuffer{}})
	if err == nil {
		t.Error("New with an unusable log path succeeded")
	}
}

func TestNewDefaultFile(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("LocalAppData", os.Getenv("XDG_STATE_HOME"))
	log, closer, err := logging.New(logging.Options{Console: &syncBuffer{}})
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hello")
	closer.Close()
	path, err := logging.ResolveFile("")
	if err != nil {
		t.Fatal(err)
	}
	if got := readJSONLines(t, path); len(got) != 1 || got[0]["msg"] != "hello" {
		t.Errorf("default file %s holds %v", path, got)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
