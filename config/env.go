package config

import (
	"strings"
)

// expand replaces every ${NAME} in s with the variable's value. Only the
// braced form is expanded: a bare $ is common in real keys and passwords.
// It returns the names of variables that are not set, and whether a "${"
// was left unterminated.
func expand(s string, lookupEnv func(string) (string, bool)) (out string, missing []string, bad bool) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), missing, false
		}
		j := strings.IndexByte(s[i+2:], '}')
		if j < 0 {
			return "", missing, true
		}
		name := s[i+2 : i+2+j]
		if !ValidEnvName(name) {
			return "", missing, true
		}
		b.WriteString(s[:i])
		if v, ok := lookupEnv(name); ok {
			b.WriteString(v)
		} else {
			missing = append(missing, name)
		}
		s = s[i+2+j+1:]
	}
}

// ValidEnvName reports whether name is a usable environment variable name:
// ASCII letters, digits and '_', not starting with a digit.
func ValidEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
