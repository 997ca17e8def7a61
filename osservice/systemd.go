package osservice

import (
	"strings"
)

// SystemdUnit renders the unit that runs exe with args. A user unit is wanted
// by default.target (reached at login); a system unit by multi-user.target.
func SystemdUnit(exe string, args []string, user bool) string {
	wanted := "multi-user.target"
	if user {
		wanted = "default.target"
	}
	var b strings.Builder
	b.WriteString("[Unit]\n")
	b.WriteString("Description=ccbalancer: local proxy that balances Claude Code across providers\n")
	b.WriteString("Documentation=https://github.com/ccbalancer/ccbalancer\n")
	if !user {
		b.WriteString("Wants=network-online.target\nAfter=network-online.target\n")
	}
	b.WriteString("StartLimitIntervalSec=60\nStartLimitBurst=5\n")
	b.WriteString("\n[Service]\n")
	b.WriteString("Type=simple\n")
	b.WriteString("ExecStart=" + SystemdExec(append([]string{exe}, args...)) + "\n")
	b.WriteString("Restart=on-failure\nRestartSec=5\n")
	// serve exits 0 after a graceful stop on SIGTERM; give in-flight streams time.
	b.WriteString("TimeoutStopSec=15\n")
	b.WriteString("NoNewPrivileges=true\n")
	b.WriteString("\n[Install]\n")
	b.WriteString("WantedBy=" + wanted + "\n")
	return b.String()
}

// SystemdExec quotes argv for ExecStart: arguments with spaces, quotes,
// backslashes or specifier characters go in double quotes with C-style
// escapes; % is doubled (specifiers) and $ too (variable expansion).
func SystemdExec(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		a = strings.NewReplacer("%", "%%", "$", "$$").Replace(a)
		if a != "" && !strings.ContainsAny(a, " \t\n\"'\\;") {
			out[i] = a
			continue
		}
		out[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`).Replace(a) + `"`
	}
	return strings.Join(out, " ")
}

// templateSafe reports whether text passes kardianos/service's template
// engine unchanged: the unit is rendered in full here, but the library still
// reads "{{" as the start of an action and has no way to escape it.
func templateSafe(text string) bool {
	return !strings.Contains(text, "{{")
}
