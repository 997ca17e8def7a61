package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
)

// proc is a process the run started: the fake upstream or one of the proxies.
type proc struct {
	Name string
	Addr string // HOST:PORT it serves on
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and been reaped
}

// started wraps a started command and reaps it in the background.
func started(name string, cmd *exec.Cmd) *proc {
	p := &proc{Name: name, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p
}

// PID is the process id (taskset execs the program in place, keeping the id).
func (p *proc) PID() int { return p.cmd.Process.Pid }

// stop ends the process with SIGTERM, then SIGKILL after a grace period.
func (p *proc) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// command builds an exec.Cmd, under `taskset -c cpus` when cpus is set.
func command(cpus, name string, args ...string) *exec.Cmd {
	if cpus == "" {
		return exec.Command(name, args...)
	}
	return exec.Command("taskset", append([]string{"-c", cpus, name}, args...)...)
}

// startSelf runs this program's subcommand sub (upstream or bare) and waits for the
// "ready ADDR" line it prints once listening.
func startSelf(name, cpus, sub string, args ...string) (*proc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding own executable: %w", err)
	}
	cmd := command(cpus, exe, append([]string{sub}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line
		_, _ = io.Copy(io.Discard, out)
	}()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := started(name, cmd)
	select {
	case line := <-ready:
		addr, ok := strings.CutPrefix(strings.TrimSpace(line), "ready ")
		if !ok {
			p.stop()
			return nil, fmt.Errorf("starting %s: unexpected first line %q", name, line)
		}
		p.Addr = addr
		return p, nil
	case <-time.After(10 * time.Second):
		p.stop()
		return nil, fmt.Errorf("starting %s: not ready after 10s", name)
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitListening dials addr until it accepts a connection or the deadline passes.
func waitListening(ctx context.Context, addr string, exited <-chan struct{}) error {
	d := net.Dialer{Timeout: 100 * time.Millisecond}
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", addr, ctx.Err())
		case <-exited:
			return fmt.Errorf("waiting for %s: the process exited", addr)
		case <-time.After(200 * time.Microsecond):
		}
	}
}

// startCCBalancer runs `ccbalancer serve --config cfg --listen addr` and waits until
// it accepts connections. It returns the time from exec to the first accepted connect.
func startCCBalancer(bin, cpus, cfg, logPath string) (*proc, time.Duration, error) {
	port, err := freePort()
	if err != nil {
		return nil, 0, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := command(cpus, bin, "serve", "--config", cfg, "--listen", addr)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("opening ccbalancer's stderr log: %w", err)
	}
	defer logf.Close() // the child keeps its own descriptor
	cmd.Stdout, cmd.Stderr = logf, logf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, fmt.Errorf("starting ccbalancer: %w", err)
	}
	p := started("ccbalancer", cmd)
	p.Addr = addr
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = waitListening(ctx, addr, p.done)
	elapsed := time.Since(start)
	if err != nil {
		p.stop()
		return nil, 0, fmt.Errorf("ccbalancer did not start (see %s): %w", logPath, err)
	}
	return p, elapsed, nil
}

// writeConfig writes a providers.yaml with two providers of the given type on
// the fake upstream (anthropic: its root, forwarded as is; openai: its /v1,
// converted to and from Chat Completions), one route for *sonnet* models,
// deduplication off (identical bench requests must all be forwarded), and the
// given usage_db.
func writeConfig(dir, upstreamAddr, model, logLevel string, kind config.ProviderType, usageDB string) (string, error) {
	entryModel := "passthrough"
	if model != "" {
		entryModel = model
	}
	base := "http://" + upstreamAddr
	if kind == config.TypeOpenAI {
		base += "/v1"
	}
	yaml := fmt.Sprintf(`providers:
  - {name: primary, type: %[5]s, base_url: %[1]q, auth_type: api_key, auth_value: "bench-provider-key-1", prices: {input: 3, output: 15}}
  - {name: secondary, type: %[5]s, base_url: %[1]q, auth_type: api_key, auth_value: "bench-provider-key-2"}
model_routes:
  "*sonnet*":
    - {provider: primary, model: %[2]q, priority: 1}
    - {provider: secondary, model: %[2]q, priority: 2}
settings:
  host: 127.0.0.1
  port: 18080
  failure_cooldown: 90
  log_level: %[3]s
  log_color: false
  log_file: %[4]q
  enable_deduplication: false
  usage_db: %[6]q
`, base, entryModel, logLevel, filepath.Join(dir, "logs-"+string(kind)+".jsonl"), kind, usageDB)
	path := filepath.Join(dir, "providers-"+string(kind)+".yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		return "", fmt.Errorf("writing bench config: %w", err)
	}
	return path, nil
}
