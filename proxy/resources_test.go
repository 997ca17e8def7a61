package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
)

// rawConn dials addr and sends head (and body), leaving the request
// unfinished when the body is shorter than announced.
func rawConn(t *testing.T, addr, head, body string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, head+body); err != nil {
		t.Fatal(err)
	}
	return c
}

// readResponse reads one response from c; the deadline only turns a hang
// into a failure.
func readResponse(t *testing.T, c net.Conn, br *bufio.Reader) (*http.Response, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func postHead(length string) string {
	h := "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Api-Key: k\r\n"
	if length == "chunked" {
		return h + "Transfer-Encoding: chunked\r\n\r\n"
	}
	return h + "Content-Length: " + length + "\r\n\r\n"
}

// TestSlowBodyTimesOut: a client that sends its body slowly, or not at all,
// gets 408 after body_read_timeout and its connection is closed (it was held
// for as long as the client liked).
func TestSlowBodyTimesOut(t *testing.T) {
	t.Parallel()
	for name, sent := range map[string]string{"part of the body": `{"model":"claude-son`, "no body": ""} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *config.Config) { c.Settings.BodyReadTimeout = 200 * time.Millisecond }, ups("A")...)
			c := rawConn(t, e.front.Listener.Addr().String(), postHead("1000"), sent)
			br := bufio.NewReader(c)
			resp, body := readResponse(t, c, br)
			if typ, msg, _ := anthropic.ParseError([]byte(body)); resp.StatusCode != http.StatusRequestTimeout || typ != anthropic.ErrInvalidRequest || !strings.Contains(msg, "body_read_timeout") {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			if _, err := br.ReadByte(); err == nil {
				t.Error("the connection stays open after the timeout")
			}
			if n := e.ups["A"].Count(); n != 0 {
				t.Errorf("the upstream was asked %d times", n)
			}
		})
	}
}

// TestBodyMemoryBudget: request bodies held at once are bounded by
// max_body_memory; a request that does not fit waits briefly, then gets 503
// with retry-after; once memory is released requests are served again.
// (Partial bodies of 24 MiB each added up to almost a gigabyte.)
func TestBodyMemoryBudget(t *testing.T) {
	t.Parallel()
	const size = 1 << 20
	e := newEnv(t, func(c *config.Config) {
		c.Settings.MaxBodyBytes = size
		c.Settings.MaxBodyMemory = 2 * size
	}, ups("A")...)
	addr := e.front.Listener.Addr().String()
	held := []net.Conn{
		rawConn(t, addr, postHead("1048576"), `{"model":`),
		rawConn(t, addr, postHead("1048576"), `{"model":`),
	}
	deadline := time.Now().Add(10 * time.Second)
	for used, _ := e.srv.limits.bodies.usage(); used != 2*size; used, _ = e.srv.limits.bodies.usage() {
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes held, want both bodies reserved", used)
		}
		time.Sleep(time.Millisecond)
	}

	for _, length := range []string{"small", "chunked"} {
		var c net.Conn
		body := string(claudeBody("claude-sonnet-5", false))
		if length == "chunked" {
			c = rawConn(t, addr, postHead("chunked"), "10\r\n"+body[:16]+"\r\n")
		} else {
			c = rawConn(t, addr, postHead(strconv.Itoa(len(body))), body)
		}
		resp, got := readResponse(t, c, bufio.NewReader(c))
		if typ, msg, _ := anthropic.ParseError([]byte(got)); resp.StatusCode != http.StatusServiceUnavailable ||
			resp.Header.Get("Retry-After") == "" || typ != anthropic.ErrOverloaded || !strings.Contains(msg, "max_body_memory") {
			t.Fatalf("%s body with the memory full: %d %v %s", length, resp.StatusCode, resp.Header, got)
		}
	}
	if n := e.ups["A"].Count(); n != 0 {
		t.Errorf("the upstream was asked %d times", n)
	}

	// A client that goes away releases its body's memory.
	held[0].Close()
	resp, body, err := e.send(false, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after memory was released: %d %v %s", resp.StatusCode, err, body)
	}
}

// startServer runs a Server on a loopback port of its own, with the fake
// upstreams of e.
func startServer(t *testing.T, tweak func(*config.Config), specs ...upSpec) (*Server, *env) {
	t.Helper()
	e := newEnv(t, tweak, specs...)
	srv, err := New(e.srv.state.Load().cfg, Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, e
}

const getRoot = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

// waitIdleConns waits until srv counts n idle client connections.
func waitIdleConns(t *testing.T, srv *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		srv.limits.conns.mu.Lock()
		got := len(srv.limits.conns.idle)
		srv.limits.conns.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d idle connections, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestConnectionLimit: open client connections are bounded by
// max_connections. At the bound the connection idle the longest is closed to
// make room; when none is idle, a new one waits until one closes.
func TestConnectionLimit(t *testing.T) {
	t.Parallel()
	srv, _ := startServer(t, func(c *config.Config) { c.Settings.MaxConnections = 2 }, ups("A")...)
	addr := srv.Addr()

	// Two keep-alive connections, idle after one request each (in this
	// order: the server marks a connection idle just after its answer).
	var idle []*bufio.Reader
	for i := range 2 {
		c := rawConn(t, addr, getRoot, "")
		br := bufio.NewReader(c)
		if resp, _ := readResponse(t, c, br); resp.StatusCode != 200 {
			t.Fatalf("GET /: %d", resp.StatusCode)
		}
		idle = append(idle, br)
		waitIdleConns(t, srv, i+1)
	}
	c3 := rawConn(t, addr, getRoot, "")
	if resp, _ := readResponse(t, c3, bufio.NewReader(c3)); resp.StatusCode != 200 {
		t.Fatalf("third connection: %d", resp.StatusCode)
	}
	if _, err := idle[0].ReadByte(); err != io.EOF {
		t.Errorf("the connection idle the longest: read %v, want it closed by the proxy", err)
	}

	// Now the two open connections are busy (a request half sent): a new
	// connection is served only once one of them closes.
	busy := []net.Conn{rawConn(t, addr, postHead("100"), "{"), rawConn(t, addr, postHead("100"), "{")}
	c4 := rawConn(t, addr, getRoot, "")
	busy[0].Close()
	if resp, _ := readResponse(t, c4, bufio.NewReader(c4)); resp.StatusCode != 200 {
		t.Fatalf("connection after one closed: %d", resp.StatusCode)
	}
	if conns, _ := srv.limits.usage(); conns > 2 {
		t.Errorf("%d connections open, max_connections is 2", conns)
	}
}
