package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/ccbalancer/ccbalancer/keyring"
)

const secretUsage = `usage:
  ccbalancer secret set NAME      store a key in the keyring: typed at a prompt that does not
                                  echo, or read from standard input (ccbalancer secret set NAME < file)
  ccbalancer secret list          the names stored
  ccbalancer secret delete NAME   remove a key
A config file uses a stored key as  auth_value: "keyring:NAME"
`

// maxKeyBytes bounds a key read from standard input.
const maxKeyBytes = 16 << 10

// secretCommand implements `ccbalancer secret set|list|delete`; returns the exit code.
func secretCommand(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "ccbalancer secret: missing action\n"+secretUsage)
		return 2
	}
	action, args := args[0], args[1:]
	want := 1
	switch action {
	case "list":
		want = 0
	case "set", "delete":
	case "help", "-h", "--help":
		fmt.Fprint(stdout, secretUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "ccbalancer secret: unknown action %q\n%s", action, secretUsage)
		return 2
	}
	if len(args) != want {
		fmt.Fprintf(stderr, "ccbalancer secret %s: want %d argument(s), got %d\n%s", action, want, len(args), secretUsage)
		return 2
	}
	var name string
	if want == 1 {
		name = args[0]
		if err := keyring.CheckName(name); err != nil {
			fmt.Fprintf(stderr, "ccbalancer secret %s: %v\n", action, err)
			return 2
		}
	}
	switch action {
	case "set":
		key, err := readKey(name, stdin, stderr)
		if err == nil {
			err = keyring.Set(name, key)
		}
		if err != nil {
			fmt.Fprintf(stderr, "ccbalancer secret set: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "stored %q in the keyring; use it with  auth_value: \"keyring:%s\"\n", name, name)
	case "delete":
		if err := keyring.Delete(name); err != nil {
			fmt.Fprintf(stderr, "ccbalancer secret delete: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "deleted %q from the keyring\n", name)
	case "list":
		entries, err := keyring.List()
		if err != nil {
			fmt.Fprintf(stderr, "ccbalancer secret list: %v\n", err)
			return 1
		}
		if len(entries) == 0 {
			fmt.Fprintln(stdout, "no keys stored (add one with `ccbalancer secret set NAME`)")
		}
		for _, e := range entries {
			if e.Present {
				fmt.Fprintln(stdout, e.Name)
			} else {
				fmt.Fprintf(stdout, "%s (no longer in the keyring: removed by another program; `ccbalancer secret delete %s` forgets it)\n", e.Name, e.Name)
			}
		}
	}
	return 0
}

// readKey asks for the key on a terminal without echoing it, or reads it
// from stdin when that is a file or a pipe. Surrounding white space (the
// newline of `echo`) is removed; a key of several lines is refused.
func readKey(name string, stdin *os.File, prompt io.Writer) (string, error) {
	var raw string
	if fd := int(stdin.Fd()); term.IsTerminal(fd) {
		fmt.Fprintf(prompt, "Key for %s (not shown as you type): ", name)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("reading the key from the terminal: %w", err)
		}
		raw = string(b)
	} else {
		b, err := io.ReadAll(io.LimitReader(bufio.NewReader(stdin), maxKeyBytes+1))
		if err != nil {
			return "", fmt.Errorf("reading the key from standard input: %w", err)
		}
		if len(b) > maxKeyBytes {
			return "", fmt.Errorf("standard input holds more than %d bytes: not a key", maxKeyBytes)
		}
		raw = string(b)
	}
	key := strings.TrimSpace(raw)
	switch {
	case key == "":
		return "", errors.New("the key is empty")
	case strings.ContainsAny(key, "\r\n"):
		return "", errors.New("the key has more than one line")
	}
	return key, nil
}
