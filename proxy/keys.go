package proxy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/ccbalancer/ccbalancer/proxy/health"
)

// healthView is the health tracker as selection sees it for one request:
// states, and whether a provider is past the request's quota_near_limit
// share of a rate-limit window.
type healthView struct {
	t    *health.Tracker
	near float64
}

func (h healthView) State(name string) (health.State, time.Time) { return h.t.State(name) }

func (h healthView) NearLimit(name string) bool {
	return h.near > 0 && h.t.Used(name, time.Now()) >= h.near
}

// healthName is the name the tracker knows the provider's key by: the
// provider's own for a provider with one key.
func healthName(u *upstream, key int) string {
	if len(u.cfg.Keys) > 1 {
		return health.KeyName(u.cfg.Name, key)
	}
	return u.cfg.Name
}

// keyScoped reports whether a failure belongs to the key that met it (a
// rejected key, no credit on its account, its rate limit) rather than to
// the provider (connection, timeout, 5xx), so that another key of the same
// provider can still serve.
func keyScoped(aerr *attemptError) bool {
	return aerr.kind == failProvider && (aerr.state == health.StateNeedsAttention || aerr.state == health.StateRateLimited)
}

// Fingerprint names a key without showing it: the first 8 hex digits of
// its SHA-256, enough to tell keys apart in /providers and logs.
func Fingerprint(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:4])
}

// keyLabel says which key an attempt used, for logs: "" for a provider with
// one key.
func keyLabel(u *upstream, key int) string {
	if len(u.cfg.Keys) < 2 {
		return ""
	}
	return fmt.Sprintf("key %d (%s)", key+1, Fingerprint(u.cfg.Keys[key].Reveal()))
}
