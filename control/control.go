// Package control lets `ccbalancer status` and `ccbalancer stop` reach a
// running ccbalancer of the same user.
//
// It is a small HTTP server on a Unix domain socket in the user's runtime
// directory ($XDG_RUNTIME_DIR/ccbalancer/control.sock, else the per-user
// state directory), not an endpoint of the proxy. The choice:
//   - it works when the proxy has no port: before a configuration exists,
//     when the configuration does not load, when the port is taken, or after
//     "Stop proxy" — exactly when a person without a tray icon needs it;
//   - it is found without reading any configuration (the port may have
//     changed in the file since the instance started);
//   - only the user can reach it: the directory is 0700 and the socket
//     0600, so no token is needed, and nothing listens on the network;
//   - Unix sockets exist on Linux, the BSDs, macOS and Windows 10 and later,
//     so one mechanism serves every system.
//
// The socket also tells one instance from another: Listen refuses while
// another instance answers on it, and removes a socket left by one that died.
package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

// SocketName is the socket's file name inside Dir.
const SocketName = "control.sock"

// ErrNotRunning means no instance answers on the socket.
var ErrNotRunning = errors.New("ccbalancer is not running")

// Status is what a running instance says about itself.
type Status struct {
	PID     int    `json:"pid"`
	Version string `json:"version"`
	// Tray is "shown", "no tray host" or "headless: REASON".
	Tray string `json:"tray"`
	// Setup is "" when a configuration loaded, else "not_set_up",
	// "config_error" or "listen_error"; Problem says why.
	Setup   string `json:"setup,omitempty"`
	Problem string `json:"problem,omitempty"`
	Running bool   `json:"running"`
	// Listen is the address the proxy listens on, or would.
	Listen     string     `json:"listen"`
	ConfigPath string     `json:"config_path"`
	LogFile    string     `json:"log_file"`
	Strategy   string     `json:"strategy,omitempty"`
	LastServed string     `json:"last_served,omitempty"`
	Providers  []Provider `json:"providers"`
}

// Provider is one provider's state (DESIGN.md section 10).
type Provider struct {
	Name   string `json:"name"`
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
	// Until is when State ends by itself; nil when it has no timer.
	Until *time.Time `json:"until,omitempty"`
}

// Dir returns the directory of the control socket: $XDG_RUNTIME_DIR/ccbalancer
// when that variable holds an absolute path (Linux, BSD), else stateDir.
func Dir(getenv func(string) string, stateDir string) string {
	if d := getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) && runtime.GOOS != "windows" {
		return filepath.Join(d, "ccbalancer")
	}
	return stateDir
}

// Server answers on the control socket until Close.
type Server struct {
	path string
	ln   net.Listener
	srv  *http.Server
	wg   sync.WaitGroup
}

// Listen opens the control socket at path. status is called for every
// `ccbalancer status`; stop is called once per `ccbalancer stop` and must not
// block. An error wraps ErrRunning when another instance answers there.
func Listen(path string, status func() Status, stop func()) (*Server, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the control socket's directory: %w", err)
	}
	if st, err := Get(path); err == nil {
		return nil, fmt.Errorf("%w (pid %d, control socket %s)", ErrRunning, st.PID, path)
	}
	// Nothing answers: whatever is there was left by an instance that died.
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("removing a stale control socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("opening the control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil && runtime.GOOS != "windows" {
		ln.Close()
		return nil, fmt.Errorf("restricting the control socket: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(status())
	})
	mux.HandleFunc("POST /stop", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		stop()
	})
	s := &Server{path: path, ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}
	s.wg.Go(func() { _ = s.srv.Serve(ln) })
	return s, nil
}

// ErrRunning means another instance answers on the control socket.
var ErrRunning = errors.New("another ccbalancer is running")

// Close stops answering and removes the socket.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	s.wg.Wait()
	_ = os.Remove(s.path)
	return err
}

// client talks HTTP over the socket at path.
func client(path string) *http.Client {
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", path)
			},
			DisableKeepAlives: true,
		},
	}
}

// Get asks the instance at path for its status. It returns an error
// wrapping ErrNotRunning when nothing answers.
func Get(path string) (Status, error) {
	var st Status
	resp, err := client(path).Get("http://ccbalancer/status")
	if err != nil {
		return st, fmt.Errorf("%w (no answer on %s)", ErrNotRunning, path)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return st, fmt.Errorf("control socket %s answered %s: %s", path, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("reading the status from %s: %w", path, err)
	}
	return st, nil
}

// Stop asks the instance at path to stop and waits until it has closed the
// socket (its proxy stopped, requests in flight given their grace period),
// at most wait. It returns the instance's status from before it stopped.
func Stop(path string, wait time.Duration) (Status, error) {
	st, err := Get(path)
	if err != nil {
		return st, err
	}
	resp, err := client(path).Post("http://ccbalancer/stop", "text/plain", nil)
	if err != nil {
		return st, fmt.Errorf("asking pid %d to stop: %w", st.PID, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return st, fmt.Errorf("asking pid %d to stop: %s", st.PID, resp.Status)
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("unix", path, time.Second)
		if err != nil {
			return st, nil
		}
		c.Close()
		time.Sleep(50 * time.Millisecond)
	}
	return st, fmt.Errorf("pid %d still running %s after it was asked to stop", st.PID, wait)
}
