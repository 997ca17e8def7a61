package config

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestCoalesce: a burst of events is one call, made once the burst has
// been quiet for the settle time; a later burst is another call.
func TestCoalesce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		events := make(chan struct{})
		var fired []time.Duration
		start := time.Now()
		done := make(chan struct{})
		go func() {
			defer close(done)
			coalesce(ctx, events, 100*time.Millisecond, func() { fired = append(fired, time.Since(start)) })
		}()
		for range 5 { // a burst: one event every 30 ms
			events <- struct{}{}
			time.Sleep(30 * time.Millisecond)
		}
		synctest.Wait()
		time.Sleep(time.Second) // quiet
		events <- struct{}{}    // a second burst of one
		time.Sleep(time.Second)
		cancel()
		<-done
		// The burst's last event came at 120 ms: one call at 220 ms. The
		// second came at 1150 ms: one call at 1250 ms.
		want := []time.Duration{220 * time.Millisecond, 1250 * time.Millisecond}
		if len(fired) != len(want) || fired[0] != want[0] || fired[1] != want[1] {
			t.Errorf("calls at %v, want %v", fired, want)
		}
	})
}

// TestWatcher: saving the file in place, by renaming a new file over it,
// creating it after it was removed, and removing it are each seen (that a
// burst is one call is TestCoalesce's).
func TestWatcher(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "conf", "providers.yaml")
	w, err := NewWatcher(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	calls := make(chan struct{}, 16)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := w.Run(ctx, func() { calls <- struct{}{} }); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	defer func() { cancel(); wg.Wait() }()

	expect := func(what string) {
		t.Helper()
		select {
		case <-calls:
		case <-time.After(10 * time.Second):
			t.Fatalf("no change reported after %s", what)
		}
	}
	write := func(p, s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(path, "one")
	expect("creating the file")
	write(path, "two")
	expect("writing it in place")
	tmp := filepath.Join(dir, "conf", ".providers.yaml.swp")
	write(tmp, "three")
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	expect("renaming a new file over it")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	expect("removing it")
	write(path, "four")
	expect("writing it again")
}
