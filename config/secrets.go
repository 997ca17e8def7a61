package config

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ccbalancer/ccbalancer/keyring"
)

// KeyringPrefix starts a credential read from the operating system's
// keyring: "keyring:NAME" is the entry `ccbalancer secret set NAME` stores.
const KeyringPrefix = "keyring:"

// Sources are where the references a credential may hold are read from.
type Sources struct {
	// Env looks up the variable of a ${NAME} reference; nil means none is set.
	Env func(name string) (string, bool)
	// Keyring looks up the entry of a keyring:NAME reference. Its error wraps
	// keyring.ErrNotFound when there is no such entry; any other error says
	// why the keyring cannot be read. nil means no keyring is available.
	Keyring func(name string) (string, error)
}

// ProcessSources reads ${NAME} from this process's environment and
// keyring:NAME from the user's keyring.
func ProcessSources() Sources {
	return Sources{Env: os.LookupEnv, Keyring: keyring.Get}
}

// errNoKeyring answers keyring lookups when Sources has no keyring.
var errNoKeyring = errors.New("no keyring is available here")

// keyringResult is one keyring lookup, kept so that a name used by several
// providers is read once per file.
type keyringResult struct {
	value string
	err   error
}

// secret reads a credential. The forms are resolved by credential, in one place.
func (p *parser) secret(n *yaml.Node, field, owner string, enabled bool) Secret {
	s, ok := p.str(n, field)
	if !ok || s == "" {
		return ""
	}
	if s == Passthrough {
		return Passthrough
	}
	if !strings.HasPrefix(s, KeyringPrefix) && !strings.Contains(s, "${") && p.plainLine == 0 {
		p.plainLine = line(n)
	}
	v, _ := p.credential(n, field, owner, enabled, s)
	return Secret(v)
}

// credential resolves a value as written: "keyring:NAME" is read from the
// keyring, anything else has its ${NAME} references expanded from the
// environment (plain text has none). A reference that cannot be resolved is
// an error for an enabled provider and a warning for a disabled one, which
// must not stop the rest of the file from loading; either names the fix.
// ok is false when the value is unusable.
func (p *parser) credential(n *yaml.Node, field, owner string, enabled bool, s string) (v string, ok bool) {
	if name, isKeyring := strings.CutPrefix(s, KeyringPrefix); isKeyring {
		if err := keyring.CheckName(name); err != nil {
			p.errorf(n, field, "%s%v", ownerPrefix(owner), err)
			return "", false
		}
		r, seen := p.keyring[name]
		if !seen {
			r.value, r.err = p.src.Keyring(name)
			p.keyring[name] = r
		}
		switch {
		case errors.Is(r.err, keyring.ErrNotFound):
			p.unresolved(n, field, owner, enabled, fmt.Sprintf(
				"keyring entry %q is not stored: store it with `ccbalancer secret set %s`", name, name))
			return "", false
		case r.err != nil:
			p.unresolved(n, field, owner, enabled, fmt.Sprintf(
				"keyring entry %q cannot be read: %v", name, r.err))
			return "", false
		}
		return r.value, true
	}
	v, missing, bad := expand(s, p.src.Env)
	if bad {
		p.errorf(n, field, "unterminated or invalid ${...} reference")
		return "", false
	}
	for _, name := range missing {
		p.unresolved(n, field, owner, enabled, fmt.Sprintf("environment variable %s is not set", name))
	}
	return v, len(missing) == 0
}

// unresolved reports a reference that gave no value: an error, or a warning
// when the provider is disabled.
func (p *parser) unresolved(n *yaml.Node, field, owner string, enabled bool, msg string) {
	if enabled {
		p.errorf(n, field, "%s%s", ownerPrefix(owner), msg)
	} else {
		p.warnf(n, field, "%s%s (the provider is disabled)", ownerPrefix(owner), msg)
	}
}

// ownerPrefix names the provider a secret belongs to at the start of a
// message, so that the message alone says which one to fix.
func ownerPrefix(owner string) string {
	if owner == "" {
		return ""
	}
	return fmt.Sprintf("provider %q: ", owner)
}
