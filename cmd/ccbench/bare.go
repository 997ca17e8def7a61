package main

import (
	"bytes"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

// newBare returns the reference proxy: net/http/httputil.ReverseProxy with immediate
// flushing and a pooled transport, doing no routing, parsing or rewriting at all.
// It is the practical lower bound of what a Go proxy adds. fullDuplex enables
// HTTP/1 full duplex, which keeps the request body open once the response has begun.
// bufferBody reads the whole request body before forwarding it, as ccbalancer does
// (it must, to fail over), so that the cost of that choice can be measured apart.
func newBare(upstreamURL *url.URL, fullDuplex, bufferBody bool) http.Handler {
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
	if !fullDuplex && !bufferBody {
		return rp
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fullDuplex {
			_ = http.NewResponseController(w).EnableFullDuplex()
		}
		if bufferBody {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, "reading request body", http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		rp.ServeHTTP(w, r)
	})
}
