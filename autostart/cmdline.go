package autostart

import "strings"

// WindowsCommandLine joins argv into one command line that
// CommandLineToArgvW (and Go's os.Args on Windows) split back into argv.
// The program name is always quoted: a Run value with an unquoted path
// containing spaces is a known way to start the wrong program.
func WindowsCommandLine(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		if i == 0 {
			// The program name is parsed without backslash escapes; it cannot hold a quote.
			parts[i] = `"` + a + `"`
			continue
		}
		parts[i] = windowsQuoteArg(a)
	}
	return strings.Join(parts, " ")
}

// windowsQuoteArg quotes one argument: backslashes are literal unless they
// precede a double quote, where they must be doubled, and the quote escaped.
func windowsQuoteArg(a string) string {
	if a != "" && !strings.ContainsAny(a, " \t\n\v\"") {
		return a
	}
	var b strings.Builder
	b.WriteByte('"')
	slashes := 0
	for i := 0; i < len(a); i++ {
		switch c := a[i]; c {
		case '\\':
			slashes++
		case '"':
			b.WriteString(strings.Repeat(`\`, 2*slashes+1))
			slashes = 0
		default:
			b.WriteString(strings.Repeat(`\`, slashes))
			slashes = 0
		}
		if a[i] != '\\' {
			b.WriteByte(a[i])
		}
	}
	// Backslashes before the closing quote are doubled so it stays a quote.
	b.WriteString(strings.Repeat(`\`, 2*slashes))
	b.WriteByte('"')
	return b.String()
}
