//go:build unix

package osservice

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
)

// TestRunEndsOnSIGTERM: outside a service manager, SIGTERM ends ctx and Run
// returns run's result.
func TestRunEndsOnSIGTERM(t *testing.T) {
	err := Run(discard, func(ctx context.Context) error {
		if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
			return err
		}
		<-ctx.Done()
		return errors.New("stopped")
	})
	if err == nil || err.Error() != "stopped" {
		t.Errorf("Run = %v, want run's error", err)
	}
}
