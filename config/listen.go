package config

import (
	"fmt"
	"net"
	"strings"
)

// ListenError is a listen address that the settings do not allow: one
// beyond loopback while settings.auth_key is unset.
type ListenError struct {
	// Addr is the address as given: HOST:PORT, or a bare host.
	Addr string
}

func (e *ListenError) Error() string {
	return fmt.Sprintf("listening on %q (not a loopback address) requires settings.auth_key, so that other machines cannot spend your keys", e.Addr)
}

// CheckListen reports whether a proxy with settings s may listen on addr
// (HOST:PORT, or a bare host). Listening beyond loopback, all interfaces
// ("0.0.0.0", "::", an empty host) included, requires s.AuthKey (DESIGN.md
// section 9): the Host check that guards a keyless proxy against web pages
// does nothing against a caller on the network, who can send any Host. The
// error is a *ListenError.
//
// This is the one rule for every way the address is set: the file's
// host (Parse), the --listen override (proxy.Server.Start) and a reload
// under a running listener (proxy.Server.Reload).
func (s Settings) CheckListen(addr string) error {
	if s.AuthKey != "" || IsLoopback(addr) {
		return nil
	}
	return &ListenError{Addr: addr}
}

// IsLoopback reports whether a host (HOST:PORT or a bare host, IPv6 in
// brackets or not) names this machine only: a loopback address, "localhost",
// or a name under .localhost (RFC 6761 section 6.3). It serves both the
// listen rule and the proxy's Host check against DNS rebinding.
func IsLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
