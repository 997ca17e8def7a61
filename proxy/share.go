package proxy

import (
	"crypto/sha256"
	"log/slog"
	"net/http"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
	"github.com/ccbalancer/ccbalancer/proxy/cache"
	"github.com/ccbalancer/ccbalancer/proxy/dedup"
)

// signedHeaders are the request headers that can change an answer, or
// whose answer must not go to another client: the API version and beta
// features, and the client's credential (passed through to providers with
// auth_value: passthrough, and billed to its owner).
var signedHeaders = []string{"Anthropic-Version", "Anthropic-Beta", "X-Api-Key", "Authorization"}

// shareKey is the request's deduplication and cache key: a SHA-256 of the
// body without metadata and stream (anthropic.WriteSignature) and of the
// signed headers, the profile and route and their configuration, and the
// stream flag.
func shareKey(req *request, rt *config.Route) dedup.Key {
	h := sha256.New()
	anthropic.WriteSignature(h, req.body, req.fields)
	for _, name := range signedHeaders {
		_, _ = h.Write([]byte{0})
		_, _ = h.Write([]byte(name))
		for _, v := range req.r.Header.Values(name) {
			_, _ = h.Write([]byte{1})
			_, _ = h.Write([]byte(v))
		}
	}
	k := dedup.Key{Route: req.rt.profile + "\x00" + rt.Pattern, Config: req.st.gen, Stream: req.fields.Stream}
	h.Sum(k.Sum[:0])
	return k
}

// cacheHit is the header a cached answer carries.
var cacheHit = http.Header{"X-Cache": {"hit"}}

// sharing reports whether requests go through share: deduplication or the
// response cache is on.
func (s *Server) sharing(set config.Settings) bool {
	return set.EnableDeduplication || s.cache.Enabled()
}

// share answers a request from the response cache, or from an identical
// request's answer in flight, or leads a new one. Every client, the
// leader's included, gets the answer at its own pace (package dedup).
func (s *Server) share(req *request, rt *config.Route) {
	key := shareKey(req, rt)
	if s.cache.Enabled() && s.replay(req, key) {
		return
	}
	w, leader := s.flights.Join(key, req.set.EnableDeduplication)
	if leader {
		s.lead(req, rt, w.Flight(), key)
	} else {
		req.log.Debug("sharing the answer of an identical request in flight", slog.Bool("stream", req.fields.Stream))
	}
	switch w.Serve(req.r.Context(), req.w) {
	case dedup.Aborted:
		panic(http.ErrAbortHandler)
	case dedup.Gone:
		req.log.Debug("client went away while sharing an answer")
	}
}

// replay answers from the cache; false when there is no usable entry. A
// request that is not streamed may be answered by a cached stream, folded.
func (s *Server) replay(req *request, key dedup.Key) bool {
	a, ok := s.cache.Get(key)
	if !ok && !key.Stream {
		twin := key
		twin.Stream = true
		a, ok = s.cache.Get(twin)
	}
	if !ok {
		return false
	}
	a, err := a.As(key.Stream)
	if err != nil {
		req.log.Warn("cached answer not usable; asking a provider", slog.Any("err", err))
		return false
	}
	if err := a.Write(req.w, cacheHit); err != nil {
		req.log.Debug("client went away during a cached answer")
	}
	req.log.Debug("answered from the cache", slog.Bool("stream", key.Stream))
	return true
}

// lead runs the pipeline for a Flight, detached from the leader's client:
// the Flight's context ends when its last waiter leaves.
func (s *Server) lead(req *request, rt *config.Route, f *dedup.Flight, key dedup.Key) {
	fr := *req
	fr.r = req.r.WithContext(f.Context())
	fr.held.retain()
	go func() {
		defer fr.held.release()
		err := f.Run(func(w http.ResponseWriter) {
			fr.w = w
			s.answer(&fr, rt)
		}, func(a dedup.Answer) {
			s.cache.Put(key, a, int64(len(a.Body)))
		})
		if err != nil {
			fr.log.Error("shared request failed", slog.Any("err", err))
		}
	}()
}

// applyShareSettings sets the cache's limits from the settings.
func (s *Server) applyShareSettings(set config.Settings) {
	s.cache.SetLimits(cache.Limits{TTL: set.CacheTTL, MaxEntries: set.CacheSizeLimit, MaxBytes: set.CacheMaxBytes})
}
