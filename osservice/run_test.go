package osservice

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/kardianos/service"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// stopRecorder is a service.Service that only records Stop requests.
type stopRecorder struct {
	service.Service
	stops chan struct{}
}

func (s stopRecorder) Stop() error { s.stops <- struct{}{}; return nil }

func TestProgramStopCancelsRun(t *testing.T) {
	p := &program{logger: discard, done: make(chan struct{}), run: func(ctx context.Context) error {
		<-ctx.Done()
		return nil
	}}
	svc := stopRecorder{stops: make(chan struct{}, 1)}
	if err := p.Start(svc); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(svc); err != nil {
		t.Fatal(err)
	}
	select {
	case <-svc.stops:
		t.Error("program asked the manager to stop although the manager stopped it")
	default:
	}
}

func TestProgramEndingAloneAsksManagerToStop(t *testing.T) {
	busy := errors.New("port busy")
	p := &program{logger: discard, done: make(chan struct{}), run: func(context.Context) error { return busy }}
	svc := stopRecorder{stops: make(chan struct{}, 1)}
	if err := p.Start(svc); err != nil {
		t.Fatal(err)
	}
	<-svc.stops
	if err := p.Stop(svc); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(p.err, busy) {
		t.Errorf("program error = %v, want %v", p.err, busy)
	}
}
