package dedup

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serve runs w.Serve on a recorder in the background.
func serve(w *Waiter) (<-chan Outcome, *httptest.ResponseRecorder) {
	rec := httptest.NewRecorder()
	ch := make(chan Outcome, 1)
	go func() { ch <- w.Serve(context.Background(), rec) }()
	return ch, rec
}

// TestOverflow: past MaxShared a Flight takes no new waiters (the next
// request leads a Flight of its own), gives no Answer, lets go of what every
// waiter has read, and cuts off a waiter that wants the whole stream
// folded; a waiter that keeps up gets every byte.
func TestOverflow(t *testing.T) {
	g := NewGroup(Options{MaxShared: 100, MaxLag: 1 << 20})
	k := Key{Route: "*", Stream: true}
	lead, leader := g.Join(k, true)
	if !leader {
		t.Fatal("the first Join does not lead")
	}
	fold, leader := g.Join(Key{Route: "*"}, true)
	if leader {
		t.Fatal("a message request did not join the streamed Flight")
	}
	f := lead.Flight()
	step := make(chan struct{})
	var got *Answer
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := f.Run(func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(200)
			for range 3 {
				<-step
				w.Write([]byte(strings.Repeat("x", 60)))
			}
		}, func(a Answer) { got = &a }); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	leadOut, leadRec := serve(lead)
	foldOut, _ := serve(fold)
	step <- struct{}{}
	step <- struct{}{} // 120 bytes: past MaxShared
	if o := <-foldOut; o != Aborted {
		t.Errorf("folding waiter: %v, want Aborted", o)
	}
	second, leader := g.Join(k, true)
	if !leader {
		t.Fatal("a request joined a Flight past its bound")
	}
	secondOut, _ := serve(second)
	if err := second.Flight().Run(func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }, nil); err != nil {
		t.Fatal(err)
	}
	if o := <-secondOut; o != Served {
		t.Errorf("the request that led anew: %v", o)
	}
	close(step)
	if o := <-leadOut; o != Served {
		t.Errorf("the waiter that kept up: %v", o)
	}
	wg.Wait()
	if leadRec.Body.Len() != 180 {
		t.Errorf("the waiter that kept up got %d bytes, want 180", leadRec.Body.Len())
	}
	if got != nil {
		t.Error("a Flight past its bound gave an Answer for the cache")
	}
	g.Wait()
}

// TestPanicIsAnError: a pipeline that panics with something else than
// http.ErrAbortHandler ends the Flight aborted and returns the panic.
func TestPanicIsAnError(t *testing.T) {
	g := NewGroup(Options{})
	w, _ := g.Join(Key{}, true)
	out, _ := serve(w)
	err := w.Flight().Run(func(http.ResponseWriter) { panic("boom") }, nil)
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("Run: %v", err)
	}
	if o := <-out; o != Aborted {
		t.Errorf("waiter: %v, want Aborted", o)
	}
	g.Wait()
}

// TestSealedFlightTakesNoWaiters: once the pipeline is writing the end of
// its answer (Seal), an identical request leads a Flight of its own instead
// of joining one whose client may already have the whole answer; before
// Seal it joins. The Flight's own waiter still gets every byte.
func TestSealedFlightTakesNoWaiters(t *testing.T) {
	g := NewGroup(Options{})
	k := Key{Route: "*"}
	lead, _ := g.Join(k, true)
	leadOut, leadRec := serve(lead)
	sealed := make(chan struct{})
	resume := make(chan struct{})
	var joined, after bool
	var joinerOut <-chan Outcome
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := lead.Flight().Run(func(w http.ResponseWriter) {
			w.Write([]byte("part one,"))
			var joiner *Waiter
			joiner, joined = g.Join(k, true)
			joined = !joined
			joinerOut, _ = serve(joiner)
			// Through a wrapper, as the proxy's usage meter wraps it.
			Seal(wrapped{w})
			close(sealed)
			<-resume
			w.Write([]byte(" the end"))
		}, nil); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	<-sealed
	second, leader := g.Join(k, true)
	after = !leader
	close(resume)
	if leader {
		if err := second.Flight().Run(func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }, nil); err != nil {
			t.Fatal(err)
		}
	}
	secondOut, _ := serve(second)
	<-secondOut
	wg.Wait()
	if o := <-joinerOut; o != Served {
		t.Errorf("the waiter that joined before Seal: %v", o)
	}
	if o := <-leadOut; o != Served || leadRec.Body.String() != "part one, the end" {
		t.Errorf("leader's waiter: %v %q", o, leadRec.Body.String())
	}
	if !joined {
		t.Error("an identical request did not join before Seal")
	}
	if after {
		t.Error("an identical request joined a sealed Flight")
	}
	g.Wait()
}

// wrapped is a ResponseWriter wrapper that can be unwrapped, as
// http.ResponseController expects.
type wrapped struct{ http.ResponseWriter }

func (w wrapped) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// blockingWriter is a ResponseRecorder whose first Write waits until
// release is closed, after saying so on entered.
type blockingWriter struct {
	*httptest.ResponseRecorder
	entered, release chan struct{}
	once             sync.Once
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	b.once.Do(func() {
		close(b.entered)
		<-b.release
	})
	return b.ResponseRecorder.Write(p)
}

// TestOverflowKeepsTakenChunks: chunks a waiter has taken but not yet
// written stay its own when the Flight, past MaxShared, drops what every
// waiter has taken.
func TestOverflowKeepsTakenChunks(t *testing.T) {
	g := NewGroup(Options{MaxShared: 100, MaxLag: 1 << 20})
	w, _ := g.Join(Key{Route: "*", Stream: true}, true)
	f := w.Flight()
	wrote, more, finish := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := f.Run(func(rw http.ResponseWriter) {
			rw.WriteHeader(200)
			// Three chunks: the list then has room for a fourth, so that
			// dropping happens in the array the waiter took them from.
			for _, c := range "abd" {
				rw.Write([]byte(strings.Repeat(string(c), 10)))
			}
			close(wrote)
			<-more
			rw.Write([]byte(strings.Repeat("c", 100))) // past MaxShared: a, b and d are dropped
			<-finish
		}, nil); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	<-wrote
	bw := &blockingWriter{ResponseRecorder: httptest.NewRecorder(), entered: make(chan struct{}), release: make(chan struct{})}
	out := make(chan Outcome, 1)
	go func() { out <- w.Serve(context.Background(), bw) }()
	<-bw.entered // a, b and d taken, a being written
	close(more)
	// Wait until the Flight has the third chunk.
	for {
		f.mu.Lock()
		n := len(f.chunks)
		f.mu.Unlock()
		if n == 4 {
			break
		}
		runtime.Gosched()
	}
	close(bw.release)
	close(finish)
	if o := <-out; o != Served {
		t.Errorf("waiter: %v", o)
	}
	wg.Wait()
	if want := strings.Repeat("a", 10) + strings.Repeat("b", 10) + strings.Repeat("d", 10) + strings.Repeat("c", 100); bw.Body.String() != want {
		t.Errorf("the waiter got %d bytes %q…, want %d", bw.Body.Len(), bw.Body.String()[:min(bw.Body.Len(), 30)], len(want))
	}
	g.Wait()
}
