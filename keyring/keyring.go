// Package keyring keeps provider keys in the operating system's credential
// store through github.com/zalando/go-keyring: the Secret Service on Linux
// and the BSDs (GNOME Keyring, KWallet, KeePassXC), the macOS Keychain, and
// Windows Credential Manager. Entries are stored under the service name
// "ccbalancer" with the entry's NAME as the user name, so a config file
// refers to one as `auth_value: "keyring:NAME"`.
//
// None of those stores can be listed through go-keyring, so the package keeps
// an index of the names it stored, itself an entry of the same store.
package keyring

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	gokeyring "github.com/zalando/go-keyring"
)

// Service is the service name every entry is stored under.
const Service = "ccbalancer"

// indexUser is the entry holding the index of names, one per line. Its
// space makes it an invalid NAME, so no key can overwrite it.
const indexUser = "ccbalancer names"

// timeout bounds one call to the store. Unlocking a locked keyring may show
// a password prompt, so it is long enough for a person to answer one.
const timeout = 2 * time.Minute

// ErrNotFound is returned (wrapped) when the store has no entry of that name.
var ErrNotFound = errors.New("no such keyring entry")

// maxNameLen bounds a NAME (Windows allows 32 KiB for the target, macOS
// about 3000 bytes for service, user and password together).
const maxNameLen = 64

// CheckName reports whether name can name an entry: 1 to 64 ASCII letters,
// digits, '.', '_' or '-'.
func CheckName(name string) error {
	if name == "" {
		return errors.New("a keyring entry needs a name")
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("keyring entry name %.20q... is longer than %d characters", name, maxNameLen)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("keyring entry name %q may hold only letters, digits, '.', '_' and '-'", name)
		}
	}
	return nil
}

// Get returns the key stored as name. The error is ErrNotFound when there is
// no such entry; any other error says why the store itself could not be
// used (no Secret Service running, a keyring left locked). It does not
// repeat the name, which the caller's message holds.
func Get(name string) (string, error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	var v string
	err := call(func() (err error) { v, err = gokeyring.Get(Service, name); return err })
	if err != nil {
		return "", err
	}
	return v, nil
}

// Set stores value as name, replacing any earlier value, and adds name to
// the index. value must not be empty.
func Set(name, value string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if value == "" {
		return fmt.Errorf("storing keyring entry %q: the key is empty", name)
	}
	if err := call(func() error { return gokeyring.Set(Service, name, value) }); err != nil {
		return fmt.Errorf("storing keyring entry %q: %w", name, err)
	}
	return updateIndex(func(names []string) []string {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
		return names
	})
}

// Delete removes the entry name and its line in the index. Deleting a name
// that is not stored returns an error wrapping ErrNotFound, after removing
// the name from the index if it was listed there.
func Delete(name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	err := call(func() error { return gokeyring.Delete(Service, name) })
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("deleting keyring entry %q: %w", name, err)
	}
	if ierr := updateIndex(func(names []string) []string {
		return slices.DeleteFunc(names, func(n string) bool { return n == name })
	}); ierr != nil {
		return ierr
	}
	if err != nil {
		return fmt.Errorf("deleting keyring entry %q: %w", name, err)
	}
	return nil
}

// Entry is one name of the index.
type Entry struct {
	Name string
	// Present is false when the store no longer has the entry (it was
	// removed with another tool).
	Present bool
}

// List returns the names stored with Set, sorted, each with whether the
// store still has it.
func List() ([]Entry, error) {
	names, err := readIndex()
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(names))
	for _, n := range names {
		_, err := Get(n)
		switch {
		case err == nil:
			out = append(out, Entry{Name: n, Present: true})
		case errors.Is(err, ErrNotFound):
			out = append(out, Entry{Name: n})
		default:
			return nil, fmt.Errorf("reading keyring entry %q: %w", n, err)
		}
	}
	return out, nil
}

// readIndex returns the indexed names, sorted; none when there is no index.
func readIndex() ([]string, error) {
	var text string
	err := call(func() (err error) { text, err = gokeyring.Get(Service, indexUser); return err })
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the keyring's list of ccbalancer entries: %w", err)
	}
	var names []string
	for _, n := range strings.Split(text, "\n") {
		if CheckName(n) == nil {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// updateIndex rewrites the index with edit's result; an empty index is
// deleted rather than stored, leaving nothing behind.
func updateIndex(edit func([]string) []string) error {
	names, err := readIndex()
	if err != nil {
		return err
	}
	names = edit(names)
	slices.Sort(names)
	err = call(func() error {
		if len(names) == 0 {
			if err := gokeyring.Delete(Service, indexUser); err != nil && !errors.Is(err, gokeyring.ErrNotFound) {
				return err
			}
			return nil
		}
		return gokeyring.Set(Service, indexUser, strings.Join(names, "\n"))
	})
	if err != nil {
		return fmt.Errorf("updating the keyring's list of ccbalancer entries: %w", err)
	}
	return nil
}

// call runs one store operation with a time limit, and maps go-keyring's
// not-found error to ErrNotFound. On a timeout the call is abandoned: its
// goroutine waits on the store until that answers or the process ends.
func call(op func() error) error {
	done := make(chan error, 1)
	go func() { done <- op() }()
	select {
	case err := <-done:
		if errors.Is(err, gokeyring.ErrNotFound) {
			return ErrNotFound
		}
		return explain(err)
	case <-time.After(timeout):
		return fmt.Errorf("the keyring did not answer within %s (is it waiting for an unlock prompt?)", timeout)
	}
}
