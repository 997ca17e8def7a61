package desktoptest

import (
	"runtime"
	"strings"
	"testing"
)

// recordingTB notes whether NeedTool skipped or failed, and like the real
// thing ends the calling goroutine.
type recordingTB struct {
	testing.TB
	skipped, failed string
}

func (r *recordingTB) Helper()           {}
func (r *recordingTB) Skip(args ...any)  { r.skipped = args[0].(string); runtime.Goexit() }
func (r *recordingTB) Fatal(args ...any) { r.failed = args[0].(string); runtime.Goexit() }

func TestNeedTool(t *testing.T) {
	const missing = "ccbalancer-no-such-tool"
	tests := []struct {
		ci         string
		wantSkip   bool
		wantFailed bool
	}{
		{"", true, false},
		{"true", false, true},
	}
	for _, tt := range tests {
		t.Setenv("CI", tt.ci)
		r := &recordingTB{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			NeedTool(r, missing, "some-package")
		}()
		<-done
		if (r.skipped != "") != tt.wantSkip || (r.failed != "") != tt.wantFailed {
			t.Errorf("CI=%q: skipped %q, failed %q", tt.ci, r.skipped, r.failed)
		}
		if msg := r.skipped + r.failed; !strings.Contains(msg, "apt-get install -y --no-install-recommends some-package") {
			t.Errorf("CI=%q: message %q does not say what to install", tt.ci, msg)
		}
	}
	if p := NeedTool(t, "sh", "dash"); p == "" {
		t.Error("NeedTool(sh) returned no path")
	}
}
