package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
	"github.com/ccbalancer/ccbalancer/proxy/health"
	"github.com/ccbalancer/ccbalancer/proxy/quota"
)

// failKind says what a failed attempt means for the request; it alone drives
// the failover loop's decisions (never the text of an error).
type failKind int

const (
	// failProvider: the provider failed (connection, timeout, 3xx, 5xx, 429,
	// 401/403/402, a broken or unexpected answer). The provider enters
	// attemptError.state; the next entry is tried.
	failProvider failKind = iota
	// failClientGone: the client went away. Nobody's fault; stop.
	failClientGone
	// failRefused: the provider refused the request itself (a 4xx client
	// error). attemptError.reply holds the answer for the client. For an
	// Anthropic provider the client's own body was refused: the reply is
	// relayed at once. For an OpenAI provider the refused body is our
	// conversion: the next entry is tried, and the client gets the first
	// reply only if every entry refuses.
	failRefused
	// failNotFound: 404, the provider does not have the model: next entry,
	// no state change.
	failNotFound
	// failSkip: this entry cannot take the request (it cannot be converted
	// for the provider, or there is no credential to pass through): next
	// entry, no state change.
	failSkip
)

// attemptError is one failed attempt. It is an error; "committed" travels
// inside it, so no caller can act on a failure without knowing whether bytes
// already reached the client (Caddy's reverse proxy carries "the round trip
// succeeded" the same way).
type attemptError struct {
	kind failKind
	// reason is short, human and free of secrets: "HTTP 529: Overloaded".
	reason string
	// status is the upstream's HTTP status, 0 when there was none.
	status int
	// state is the provider state the failure calls for (failProvider only);
	// wait is how long the provider asked to be left alone (retry-after), 0
	// when it did not say.
	state health.State
	wait  time.Duration
	// credit: the provider said the account has no credit (402, or a
	// billing error under another status); with state needs_attention.
	credit bool
	// committed: bytes of this attempt reached the client. The only honest
	// end is then an aborted connection (DESIGN.md 5.5).
	committed bool
	// relayNow: a failRefused reply that goes to the client at once.
	relayNow bool
	reply    *reply
}

func (e *attemptError) Error() string { return e.reason }

// reply is a complete answer for the client, prepared but not yet written.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// errorReply is a Messages API error answer: status, and an error body of
// type typ with message msg.
func errorReply(status int, typ, msg string) *reply {
	b, _ := json.Marshal(anthropic.ErrorBody{Type: "error", Error: anthropic.Error{Type: typ, Message: msg}})
	return &reply{status: status, header: http.Header{"Content-Type": {"application/json"}}, body: b}
}

// write sends the reply, less any secret it echoes.
func (r *reply) write(w http.ResponseWriter, provider string, rd *redactor) {
	body := rd.bytes(r.body)
	rd.header(r.header)
	h := w.Header()
	copyResponseHeader(h, r.header)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Provider-Used", provider)
	w.WriteHeader(r.status)
	_, _ = w.Write(body)
}

// providerFailure is a failure that puts the provider in state.
func providerFailure(state health.State, format string, args ...any) *attemptError {
	return &attemptError{kind: failProvider, state: state, reason: fmt.Sprintf(format, args...)}
}

// Sentinel causes set on an attempt's context by its watchdog.
var (
	errFirstByteTimeout = errors.New("no response within request_timeout")
	errNonstreamTimeout = errors.New("no answer within nonstream_timeout")
	errIdleTimeout      = errors.New("no data within stream_idle_timeout")
	errErrorBodyTimeout = errors.New("error body not received within request_timeout")
)

// classifyTransport turns an error from the transport (sending the request,
// or reading the answer) into an attemptError. what says what was being read
// ("" while waiting for the response headers).
func classifyTransport(clientCtx, attemptCtx context.Context, err error, what string) *attemptError {
	if clientCtx.Err() != nil {
		return &attemptError{kind: failClientGone, reason: "client went away"}
	}
	if cause := context.Cause(attemptCtx); isWatchdogCause(cause) {
		return providerFailure(health.StateCooling, "timeout: %s", cause)
	}
	prefix := ""
	if what != "" {
		prefix = what + ": "
	}
	var (
		ne       net.Error
		recErr   tls.RecordHeaderError
		alert    tls.AlertError
		verify   *tls.CertificateVerificationError
		unknownA x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		dnsErr   *net.DNSError
	)
	var reason string
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		reason = "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		reason = "connection reset"
	case errors.As(err, &recErr), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		// net/http reports the second case with an error of its own making,
		// known only by its text; only the reason's wording depends on it.
		reason = "TLS handshake failed: the server does not speak TLS (is base_url http:// for this port?)"
	case errors.As(err, &verify), errors.As(err, &unknownA), errors.As(err, &hostErr):
		reason = "TLS handshake failed: certificate not trusted"
	case errors.As(err, &alert):
		reason = "TLS handshake failed: " + alert.Error()
	case errors.As(err, &dnsErr):
		reason = "host not found: " + dnsErr.Name
	case errors.As(err, &ne) && ne.Timeout():
		reason = "connect timeout"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		reason = "connection closed"
		if what == "" {
			reason = "connection closed without a response"
		}
	default:
		reason = "connection failed: " + shorten(err.Error(), 160)
	}
	return providerFailure(health.StateCooling, "%s%s", prefix, reason)
}

func isWatchdogCause(err error) bool {
	for _, c := range causes {
		if errors.Is(err, c) {
			return true
		}
	}
	return false
}

// classifyStatus decides what a non-2xx upstream status means (DESIGN.md
// sections 5.4 and 10). msg is the upstream's error message ("" if none);
// errType is the Anthropic error type the body carried or was converted to;
// shaped reports that the body is a well-formed error of the provider's own
// API: a 4xx whose body is not (an HTML page from a front proxy, "plain HTTP
// request sent to HTTPS port") is the provider's failure, not the client's.
func classifyStatus(status int, header http.Header, errType, msg string, shaped bool) *attemptError {
	reason := "HTTP " + strconv.Itoa(status)
	if msg != "" {
		reason += ": " + shorten(msg, 160)
	}
	limits := quota.Parse(header, time.Now())
	ae := &attemptError{kind: failProvider, status: status, reason: reason, wait: limits.RetryAfter}
	switch {
	case status >= 300 && status < 400:
		// A redirect is not followed and its Location never reaches the
		// client: the provider's base_url is wrong or it moved.
		ae.state = health.StateCooling
		if loc := header.Get("Location"); loc != "" {
			ae.reason += " (redirect not followed)"
		}
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		ae.state = health.StateNeedsAttention
	case status == http.StatusPaymentRequired, isBillingError(errType, msg):
		ae.state, ae.credit = health.StateNeedsAttention, true
	case status == http.StatusTooManyRequests:
		// A window that resets in hours keeps the provider out until then,
		// not for a cooldown (DESIGN.md section 10).
		ae.state = health.StateRateLimited
		ae.wait = limits.Wait(time.Now())
	case status == http.StatusNotFound:
		ae.kind = failNotFound
	case status >= 500, status == http.StatusRequestTimeout:
		ae.state = health.StateCooling
	case status == http.StatusRequestEntityTooLarge, status == http.StatusRequestHeaderFieldsTooLarge:
		// The request is too large for this provider, whoever answered
		// (the API or a front server): the client's matter, not a broken
		// provider, whatever the body looks like.
		ae.kind = failRefused
	case !shaped:
		ae.state = health.StateCooling
		ae.reason += " (not an API error body)"
	default:
		ae.kind = failRefused
	}
	return ae
}

// isBillingError recognises an account out of credit that a provider reports
// with a status other than 402: Anthropic's billing_error type and its 400
// "Your credit balance is too low to access the Anthropic API", OpenAI's 429
// insufficient_quota ("You exceeded your current quota, please check your
// plan and billing details"), DeepSeek's "Insufficient Balance".
func isBillingError(errType, msg string) bool {
	if errType == "billing_error" {
		return true
	}
	m := strings.ToLower(msg)
	return strings.Contains(m, "credit balance is too low") || strings.Contains(m, "insufficient balance") ||
		strings.Contains(m, "insufficient_quota") || strings.Contains(m, "exceeded your current quota")
}

func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
