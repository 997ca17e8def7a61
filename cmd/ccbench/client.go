package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// scenario is one kind of request the load client sends.
type scenario struct {
	Name   string
	Body   []byte
	Stream bool
	Events int           // stream deltas, sent to the fake upstream in headerEvents
	Gap    time.Duration // pause between deltas, sent in headerGap
}

// header returns the request headers for the scenario. The map is shared read-only by
// all workers: neither http.Client nor http.Transport modify a request's header.
func (s scenario) header() http.Header {
	h := clientHeaders()
	if s.Stream {
		h.Set("Accept", "text/event-stream")
		h.Set(headerEvents, strconv.Itoa(s.Events))
		h.Set(headerGap, s.Gap.String())
	}
	return h
}

// newLoadClient returns a client with a keep-alive pool large enough for conc workers,
// so that connection set-up is paid once per target, not per request.
func newLoadClient(conc int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: max(conc*2, 256),
		IdleConnTimeout:     5 * time.Minute,
		DisableCompression:  true, // the fakes never compress; keep the client's cost flat
	}}
}

// outcome is how one request ended.
type outcome int

const (
	outcomeOK outcome = iota
	outcomeStatus
	outcomeTransport
	outcomeCut
	outcomeNoStop
)

var messageStop = []byte("event: message_stop\n")

// doRequest sends one request and reads the whole answer into buf (reused between
// calls). It returns the latency to the last byte and to the first body byte.
func doRequest(ctx context.Context, c *http.Client, url string, h http.Header, sc scenario, buf []byte) (lat, ttfb time.Duration, res outcome, out []byte) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(sc.Body))
	if err != nil {
		return 0, 0, outcomeTransport, buf
	}
	req.Header = h
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, outcomeTransport, buf
	}
	defer resp.Body.Close()
	buf = buf[:0]
	var readErr error
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, 4096)
		}
		n, err := resp.Body.Read(buf[len(buf):cap(buf)])
		if n > 0 && ttfb == 0 {
			ttfb = time.Since(start)
		}
		buf = buf[:len(buf)+n]
		if err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			break
		}
	}
	lat = time.Since(start)
	switch {
	case resp.StatusCode != http.StatusOK:
		return lat, ttfb, outcomeStatus, buf
	case readErr != nil:
		return lat, ttfb, outcomeCut, buf
	case sc.Stream && !bytes.Contains(buf, messageStop):
		return lat, ttfb, outcomeNoStop, buf
	}
	return lat, ttfb, outcomeOK, buf
}

// runWindow runs conc closed-loop workers against url until d has passed or maxReq
// requests were started (0: no limit). Each worker sends its next request as soon as
// the previous one is answered.
func runWindow(ctx context.Context, c *http.Client, url string, sc scenario, conc int, d time.Duration, maxReq int) window {
	h := sc.header()
	var started atomic.Int64
	type part struct {
		lat, ttfb []time.Duration
		errs      errorCounts
		bunched   int
	}
	parts := make([]part, conc)
	var wg sync.WaitGroup
	begin := time.Now()
	deadline := begin.Add(d)
	for i := range parts {
		wg.Go(func() {
			p := &parts[i]
			buf := make([]byte, 0, 8192)
			for ctx.Err() == nil && time.Now().Before(deadline) {
				if maxReq > 0 && started.Add(1) > int64(maxReq) {
					return
				}
				var lat, ttfb time.Duration
				var res outcome
				lat, ttfb, res, buf = doRequest(ctx, c, url, h, sc, buf)
				switch res {
				case outcomeOK:
					p.lat = append(p.lat, lat)
					p.ttfb = append(p.ttfb, ttfb)
					if bunched(sc, lat, ttfb) {
						p.bunched++
					}
				case outcomeStatus:
					p.errs.Status++
				case outcomeTransport:
					p.errs.Transport++
				case outcomeCut:
					p.errs.Cut++
				case outcomeNoStop:
					p.errs.NoStop++
				}
			}
		})
	}
	wg.Wait()
	w := window{Elapsed: time.Since(begin)}
	for _, p := range parts {
		w.Latency = append(w.Latency, p.lat...)
		w.TTFB = append(w.TTFB, p.ttfb...)
		w.Errors.add(p.errs)
		w.Bunched += p.bunched
	}
	w.Requests = len(w.Latency)
	slices.Sort(w.Latency)
	slices.Sort(w.TTFB)
	return w
}

// bunched reports whether a stream's events reached the client in a burst: the
// upstream spends (events-1)*gap producing them, so a proxy that forwards each
// event as it arrives spreads them over about that long after the first byte. One
// that buffers delivers them in much less.
func bunched(sc scenario, lat, ttfb time.Duration) bool {
	if !sc.Stream || sc.Gap <= 0 || sc.Events < 2 {
		return false
	}
	return lat-ttfb < time.Duration(sc.Events-1)*sc.Gap/2
}
