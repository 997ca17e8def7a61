package osservice

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/ccbalancer/ccbalancer/config"
)

// RenderEnvFile renders vars as an environment file for systemd's
// EnvironmentFile=, one NAME='value' line per variable in name order. Single
// quotes keep every other character as it is; a value holding a single quote
// or a line break cannot be written so and is refused.
func RenderEnvFile(vars map[string]string) ([]byte, error) {
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	slices.Sort(names)
	var b bytes.Buffer
	b.WriteString("# Environment of the ccbalancer service, written by `ccbalancer service install`.\n")
	b.WriteString("# It holds keys: keep it readable by its owner only (mode 0600).\n")
	for _, n := range names {
		v := vars[n]
		if !config.ValidEnvName(n) {
			return nil, fmt.Errorf("%q is not a valid environment variable name", n)
		}
		if strings.ContainsAny(v, "'\r\n\x00") {
			return nil, fmt.Errorf("the value of %s holds a quote or a line break: write the environment file yourself and pass --env-file", n)
		}
		fmt.Fprintf(&b, "%s='%s'\n", n, v)
	}
	return b.Bytes(), nil
}

// ReadEnvFile reads an environment file in the subset of systemd's
// EnvironmentFile= format that means the same to systemd and to a reader
// of the file: NAME=value lines, the value bare (surrounding blanks dropped,
// no quotes or backslashes), in single quotes (anything but a single quote)
// or in double quotes (no double quote or backslash); blank lines and lines
// starting with # or ; are comments. Every line that is not in
// that subset is an error naming the file and line. On Unix systems the file
// must not be readable by other users, since it holds keys.
func ReadEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading environment file: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && runtime.GOOS != "windows" && st.Mode().Perm()&0o004 != 0 {
		return nil, fmt.Errorf("%s is readable by every user (mode %#o) and holds keys: run chmod 600 %s", path, st.Mode().Perm(), path)
	}
	vars := map[string]string{}
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		if !ok || !config.ValidEnvName(name) {
			return nil, fmt.Errorf("%s:%d: want NAME=value", path, n)
		}
		value = strings.TrimSpace(value)
		quoted := len(value) >= 2 && (value[0] == '\'' || value[0] == '"') && value[len(value)-1] == value[0]
		switch {
		case quoted && value[0] == '\'':
			value = value[1 : len(value)-1]
			if strings.Contains(value, "'") {
				return nil, fmt.Errorf("%s:%d: %s: a value in single quotes cannot hold a single quote", path, n, name)
			}
		case quoted:
			value = value[1 : len(value)-1]
			if strings.ContainsAny(value, `"\`) {
				return nil, fmt.Errorf("%s:%d: %s: a value in double quotes cannot hold \" or \\ here: use single quotes", path, n, name)
			}
		case strings.ContainsAny(value, `'"\`):
			return nil, fmt.Errorf("%s:%d: %s: quote the value in single quotes", path, n, name)
		}
		vars[name] = value
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return vars, nil
}

// writePrivate writes data to path with mode 0600, creating its directory
// with mode 0700 when missing. It returns the directories it created, deepest
// last, so that a rollback can remove them.
func writePrivate(path string, data []byte) (created []string, err error) {
	if created, err = mkdirs(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return created, fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return created, fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return created, fmt.Errorf("writing %s: %w", path, err)
	}
	return created, nil
}
