package main

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
)

// bareOptions are the variants of the reference proxy.
type bareOptions struct {
	// FullDuplex enables HTTP/1 full duplex, which keeps the request body open
	// once the response has begun.
	FullDuplex bool
	// BufferBody reads the whole request body before forwarding it, into one
	// buffer of the announced size, as ccbalancer does (it must, to fail over),
	// so that the cost of that choice can be measured apart.
	BufferBody bool
	// Validate also checks the buffered body with the scan ccbalancer uses and
	// answers 400 to malformed JSON without forwarding it: the least any proxy
	// that never forwards a malformed body must do.
	Validate bool
}

// newBare returns the reference proxy: net/http/httputil.ReverseProxy with immediate
// flushing and a pooled transport, doing no routing, parsing or rewriting at all.
// It is the practical lower bound of what a Go proxy adds.
func newBare(upstreamURL *url.URL, o bareOptions) http.Handler {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstreamURL)
		},
		FlushInterval: -1,
		// The client's counts show every failure; a log line per cut stream would
		// only flood the run's output.
		ErrorLog: log.New(io.Discard, "", 0),
		Transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          1024,
			MaxIdleConnsPerHost:   1024,
			IdleConnTimeout:       90 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
	}
	if o == (bareOptions{}) {
		return rp
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o.FullDuplex {
			_ = http.NewResponseController(w).EnableFullDuplex()
		}
		if o.BufferBody || o.Validate {
			body, err := readAll(r)
			if err != nil {
				http.Error(w, "reading request body: "+err.Error(), http.StatusBadRequest)
				return
			}
			if o.Validate {
				if _, err := anthropic.Peek(body); err != nil {
					http.Error(w, "request body: "+err.Error(), http.StatusBadRequest)
					return
				}
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		rp.ServeHTTP(w, r)
	})
}

// readAll reads a request body into one buffer of the announced size (growing
// one only for a body of unknown size).
func readAll(r *http.Request) ([]byte, error) {
	if r.ContentLength < 0 {
		return io.ReadAll(r.Body)
	}
	body := make([]byte, r.ContentLength)
	if _, err := io.ReadFull(r.Body, body); err != nil {
		return nil, fmt.Errorf("%d-byte body: %w", len(body), err)
	}
	return body, nil
}
