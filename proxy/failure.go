package proxy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
)

// failKind classifies how an attempt failed; it alone drives failover and
// cooldown decisions (never the text of an error).
type failKind int

const (
	// failClient: not the provider's fault (client went away, or the provider
	// answered a client error that was relayed as is). No failover, no cooldown.
	failClient failKind = iota
	// failConnect: the connection could not be made or broke before a response.
	failConnect
	// failTimeout: no first byte within request_timeout, or a stall mid-stream.
	failTimeout
	// failStatus: a provider-side HTTP status (5xx, 429, 402, 401, 403, 408).
	failStatus
	// failNotFound: 404 (model not found): next entry, no cooldown.
	failNotFound
	// failStream: the stream carried an error event, or ended without message_stop.
	failStream
	// failSkip: this entry cannot take the request (it cannot be converted
	// for the provider): next entry, no cooldown.
	failSkip
)

// attemptError is one failed attempt. reason is short, human and secret-free.
type attemptError struct {
	kind       failKind
	status     int
	reason     string
	cooldown   bool
	retryAfter time.Duration
}

// Sentinel causes set on an attempt's context by our own timers.
var (
	errFirstByteTimeout = errors.New("no response within request_timeout")
	errIdleTimeout      = errors.New("no data within stream_idle_timeout")
)

// classifyTransport turns an error from the transport into an attemptError.
// clientCtx is the client's request context.
func classifyTransport(clientCtx, attemptCtx context.Context, err error, secret string) *attemptError {
	if clientCtx.Err() != nil {
		return &attemptError{kind: failClient, reason: "client went away"}
	}
	if cause := context.Cause(attemptCtx); errors.Is(cause, errFirstByteTimeout) || errors.Is(cause, errIdleTimeout) {
		return &attemptError{kind: failTimeout, reason: "timeout: " + cause.Error(), cooldown: true}
	}
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return &attemptError{kind: failConnect, reason: "connection refused", cooldown: true}
	case errors.As(err, &ne) && ne.Timeout():
		return &attemptError{kind: failConnect, reason: "connect timeout", cooldown: true}
	}
	return &attemptError{kind: failConnect, reason: "connection failed: " + redact(err.Error(), secret), cooldown: true}
}

// anthropicErrorMessage is the message of an Anthropic error body, or a
// short plain-text body, or "".
func anthropicErrorMessage(body []byte) string {
	if _, msg, ok := anthropic.ParseError(body); ok {
		return msg
	}
	if t := strings.TrimSpace(string(body)); len(t) < 200 && !strings.ContainsAny(t, "<{") {
		return t
	}
	return ""
}

// classifyStatus decides what a non-2xx upstream status means. msg is the
// upstream's error message, if any.
func classifyStatus(status int, header http.Header, msg string, secret string) *attemptError {
	reason := "HTTP " + strconv.Itoa(status)
	if msg != "" {
		reason += ": " + shorten(redact(msg, secret), 160)
	}
	ae := &attemptError{status: status, reason: reason}
	switch {
	case status == http.StatusNotFound:
		ae.kind = failNotFound
	case status >= 500, status == http.StatusTooManyRequests, status == http.StatusPaymentRequired,
		status == http.StatusUnauthorized, status == http.StatusForbidden, status == http.StatusRequestTimeout:
		ae.kind = failStatus
		ae.cooldown = true
		ae.retryAfter = retryAfter(header)
	default:
		ae.kind = failClient
	}
	return ae
}

// retryAfter reads Retry-After as seconds or an HTTP date.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// redact removes a credential from text that may come back from a provider
// (some echo the key they rejected).
func redact(s, secret string) string {
	if len(secret) >= 4 {
		s = strings.ReplaceAll(s, secret, "[REDACTED]")
	}
	return s
}

func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
