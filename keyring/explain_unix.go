//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package keyring

import (
	"errors"
	"fmt"

	"github.com/godbus/dbus/v5"
)

// explain says in words what a Secret Service failure means: go-keyring
// returns the DBus errors as they are.
func explain(err error) error {
	var de dbus.Error
	switch {
	case err == nil, errors.Is(err, ErrNotFound):
		return err
	case errors.As(err, &de) && de.Name == "org.freedesktop.DBus.Error.ServiceUnknown":
		return fmt.Errorf("no Secret Service (GNOME Keyring, KWallet, KeePassXC) runs in this session: %w", err)
	case errors.As(err, &de):
		return fmt.Errorf("the Secret Service refused: %w", err)
	default:
		return fmt.Errorf("cannot reach the session bus, where the Secret Service is found (no desktop session?): %w", err)
	}
}
