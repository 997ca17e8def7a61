//go:build !(linux || freebsd || netbsd || openbsd || dragonfly || illumos || solaris || darwin || windows)

package autostart

func location() (string, error)     { return "", ErrUnsupported }
func enable(string, []string) error { return ErrUnsupported }
func disable() error                { return ErrUnsupported }
func enabled() (bool, error)        { return false, ErrUnsupported }
