//go:build !((dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd)

package keyring

// explain returns err: the macOS and Windows stores' errors say what failed.
func explain(err error) error { return err }
