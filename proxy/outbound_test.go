package proxy

import (
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/ccbalancer/ccbalancer/config"
)

// httpForwardProxy is a loopback HTTP proxy that counts the requests it forwards.
func httpForwardProxy(t *testing.T, n *atomic.Int64) string {
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.Out.URL = r.In.URL // absolute-form: forward to where the client asked
	}}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !r.URL.IsAbs() {
			http.Error(w, "not a proxy request", http.StatusBadRequest)
			return
		}
		n.Add(1)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	return hs.URL
}

// socks5Proxy is a minimal loopback SOCKS5 server (no auth, CONNECT only).
func socks5Proxy(t *testing.T, n *atomic.Int64) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 262)
				if _, err := io.ReadFull(c, buf[:2]); err != nil {
					return
				}
				io.ReadFull(c, buf[:buf[1]])
				c.Write([]byte{5, 0})
				if _, err := io.ReadFull(c, buf[:4]); err != nil || buf[1] != 1 {
					return
				}
				var host string
				switch buf[3] {
				case 1:
					io.ReadFull(c, buf[:4])
					host = net.IP(buf[:4]).String()
				case 3:
					io.ReadFull(c, buf[:1])
					l := int(buf[0])
					io.ReadFull(c, buf[:l])
					host = string(buf[:l])
				default:
					return
				}
				io.ReadFull(c, buf[:2])
				port := binary.BigEndian.Uint16(buf[:2])
				up, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(int(port))))
				if err != nil {
					c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
					return
				}
				defer up.Close()
				n.Add(1)
				c.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0})
				go io.Copy(up, c)
				io.Copy(c, up)
			}()
		}
	}()
	return "socks5://" + ln.Addr().String()
}

func TestOutboundProxy(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"http", "socks5"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			var n atomic.Int64
			var proxyURL string
			if kind == "http" {
				proxyURL = httpForwardProxy(t, &n)
			} else {
				proxyURL = socks5Proxy(t, &n)
			}
			e := newEnv(t, func(c *config.Config) { c.Providers[0].Proxy = proxyURL }, ups("A")...)
			for _, stream := range []bool{false, true} {
				resp, body, err := e.send(stream, nil)
				if err != nil || resp.StatusCode != 200 || resp.Header.Get("X-Provider-Used") != "A" {
					t.Fatalf("through %s proxy: %v %d %s", kind, err, resp.StatusCode, body)
				}
			}
			if n.Load() == 0 || e.ups["A"].Count() != 2 {
				t.Fatalf("%s proxy saw %d connections/requests; upstream %d requests", kind, n.Load(), e.ups["A"].Count())
			}
		})
	}
}
