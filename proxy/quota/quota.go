// Package quota reads what a provider's response headers say about its
// limits into one typed value, whatever the header family:
//
//   - retry-after (RFC 9110 10.2.3): seconds or an HTTP date;
//   - Anthropic's API rate limits, anthropic-ratelimit-{requests,tokens,
//     input-tokens,output-tokens}-{limit,remaining,reset}, resets in RFC 3339
//     (docs.anthropic.com, "Rate limits", response headers);
//   - a Claude subscription's unified limits, anthropic-ratelimit-unified-
//     {status,reset} and the 5-hour and 7-day windows' -{status,reset,
//     utilization}; statuses allowed, allowed_warning, rejected; resets in
//     Unix seconds; utilization a share between 0 and 1;
//   - OpenAI-style x-ratelimit-{limit,remaining,reset}-{requests,tokens}
//     (platform.openai.com, "Rate limits"), resets as durations ("6m0s",
//     "20ms") or, from some compatible providers, seconds or Unix times.
//
// Parsing is pure: the caller passes the time the answer arrived.
package quota

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Window is one limit a provider reported.
type Window struct {
	// Name is the window's name as the provider calls it: "requests",
	// "tokens", "input-tokens", "output-tokens", "5h", "7d", or "unified"
	// (a subscription's overall status).
	Name string `json:"name"`
	// Limit and Remaining are counts; -1 when the provider did not say.
	Limit     int64 `json:"limit"`
	Remaining int64 `json:"remaining"`
	// Utilization is the share of the window used, 0 to 1; -1 when unknown.
	Utilization float64 `json:"utilization"`
	// Status is the subscription window's status ("allowed",
	// "allowed_warning", "rejected"); "" for other families.
	Status string `json:"status,omitempty"`
	// Reset is when the window is replenished; zero when unknown.
	Reset time.Time `json:"reset,omitzero"`
}

// Used is the share of the window used, 0 to 1, from the utilization the
// provider reported or from remaining/limit; -1 when neither is known.
func (w Window) Used() float64 {
	switch {
	case w.Utilization >= 0:
		return w.Utilization
	case w.Limit > 0 && w.Remaining >= 0:
		return 1 - float64(w.Remaining)/float64(w.Limit)
	}
	return -1
}

// Exhausted reports whether the window says no request fits until Reset:
// a rejected status, nothing remaining, or all of it used.
func (w Window) Exhausted() bool {
	return w.Status == "rejected" || (w.Remaining == 0 && w.Limit != 0) || w.Utilization >= 1
}

// Info is everything one answer's headers said about the provider's limits.
// The zero value says nothing.
type Info struct {
	// RetryAfter is the provider's retry-after; 0 when absent.
	RetryAfter time.Duration `json:"retry_after,omitempty"`
	// Windows in a fixed order: Anthropic's, then the subscription's, then
	// OpenAI-style ones.
	Windows []Window `json:"windows,omitempty"`
}

// Empty reports whether the headers said nothing about limits.
func (i Info) Empty() bool { return i.RetryAfter == 0 && len(i.Windows) == 0 }

// Used is the largest share used over the windows, 0 to 1; -1 when no
// window says.
func (i Info) Used() float64 {
	used := -1.0
	for _, w := range i.Windows {
		used = max(used, w.Used())
	}
	return used
}

// UsedAt is Used over the windows that had not reset by now (a window
// whose reset is unknown counts).
func (i Info) UsedAt(now time.Time) float64 {
	used := -1.0
	for _, w := range i.Windows {
		if w.Reset.IsZero() || w.Reset.After(now) {
			used = max(used, w.Used())
		}
	}
	return used
}

// ExhaustedUntil returns the latest reset among the exhausted windows: when
// every limit that stopped the provider is replenished. ok is false when no
// window with a known reset is exhausted.
func (i Info) ExhaustedUntil() (until time.Time, ok bool) {
	for _, w := range i.Windows {
		if w.Exhausted() && !w.Reset.IsZero() && w.Reset.After(until) {
			until, ok = w.Reset, true
		}
	}
	return until, ok
}

// Wait is how long a provider that answered 429 with these headers should be
// left alone, from now: until its exhausted windows reset, or its
// retry-after, whichever is later; 0 when the headers do not say.
func (i Info) Wait(now time.Time) time.Duration {
	d := i.RetryAfter
	if until, ok := i.ExhaustedUntil(); ok {
		d = max(d, until.Sub(now))
	}
	return max(d, 0)
}

// family tells how a window's headers are named and how its reset reads.
type family int

const (
	anthropicAPI family = iota // resets in RFC 3339
	unified                    // resets in Unix seconds, utilization, status
	openAIStyle                // resets as durations
)

// windowHeaders are the header names of one window, in canonical form,
// built once.
type windowHeaders struct {
	name                                         string
	family                                       family
	limit, remaining, reset, utilization, status string
}

var windows = func() []windowHeaders {
	var ws []windowHeaders
	for _, name := range []string{"requests", "tokens", "input-tokens", "output-tokens"} {
		p := "Anthropic-Ratelimit-" + http.CanonicalHeaderKey(name) + "-"
		ws = append(ws, windowHeaders{name: name, family: anthropicAPI, limit: p + "Limit", remaining: p + "Remaining", reset: p + "Reset"})
	}
	for _, name := range []string{"5h", "7d", "unified"} {
		p := "Anthropic-Ratelimit-Unified-"
		if name != "unified" {
			p += http.CanonicalHeaderKey(name) + "-"
		}
		ws = append(ws, windowHeaders{name: name, family: unified, reset: p + "Reset", utilization: p + "Utilization", status: p + "Status"})
	}
	for _, name := range []string{"requests", "tokens"} {
		ws = append(ws, windowHeaders{name: name, family: openAIStyle, limit: "X-Ratelimit-Limit-" + http.CanonicalHeaderKey(name),
			remaining: "X-Ratelimit-Remaining-" + http.CanonicalHeaderKey(name), reset: "X-Ratelimit-Reset-" + http.CanonicalHeaderKey(name)})
	}
	return ws
}()

// Parse reads the limit headers of one answer that arrived at now. An
// answer with none (the usual case) costs a look at each header's name.
func Parse(h http.Header, now time.Time) Info {
	found := false
	for k := range h {
		if k == "Retry-After" || strings.HasPrefix(k, "Anthropic-Ratelimit-") || strings.HasPrefix(k, "X-Ratelimit-") {
			found = true
			break
		}
	}
	if !found {
		return Info{}
	}
	info := Info{RetryAfter: retryAfter(get(h, "Retry-After"), now)}
	for _, wh := range windows {
		w := Window{Name: wh.name, Limit: count(get(h, wh.limit)), Remaining: count(get(h, wh.remaining)), Utilization: -1}
		switch wh.family {
		case anthropicAPI:
			w.Reset = rfc3339(get(h, wh.reset))
		case unified:
			w.Utilization = share(get(h, wh.utilization))
			w.Status = strings.ToLower(strings.TrimSpace(get(h, wh.status)))
			w.Reset = unixOrDuration(get(h, wh.reset), now)
		case openAIStyle:
			w.Reset = unixOrDuration(get(h, wh.reset), now)
		}
		if w.Limit >= 0 || w.Remaining >= 0 || w.Utilization >= 0 || w.Status != "" || !w.Reset.IsZero() {
			info.Windows = append(info.Windows, w)
		}
	}
	return info
}

// get is h.Get for a name already in canonical form ("" names nothing).
func get(h http.Header, name string) string {
	if name == "" {
		return ""
	}
	if vs := h[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// count reads a non-negative integer, -1 when absent or malformed.
func count(v string) int64 {
	if v == "" {
		return -1
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// share reads a utilization between 0 and 1 (a percentage above 1 is read
// as such), -1 when absent or malformed.
func share(v string) float64 {
	if v == "" {
		return -1
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return -1
	}
	if f > 1 && f <= 100 {
		f /= 100
	}
	return min(f, 1)
}

func rfc3339(v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(v))
	if err != nil {
		return time.Time{}
	}
	return t
}

// unixOrDuration reads a reset given as a Go duration ("6m0s", "20ms"), as
// Unix seconds (a number past 10^9), as seconds from now (a smaller number),
// or as an RFC 3339 time.
func unixOrDuration(v string, now time.Time) time.Time {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && !math.IsInf(f, 0) {
		if f >= 1e9 {
			return time.Unix(int64(f), 0)
		}
		return now.Add(time.Duration(f * float64(time.Second)))
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(d)
	}
	return rfc3339(v)
}

// retryAfter reads Retry-After as seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}
