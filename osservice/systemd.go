package osservice

import (
	"strings"
)

// UserEnvFile is the EnvironmentFile= of the packaged user unit: optional
// ("-"), in the user's config directory (%h is the home directory).
const UserEnvFile = "-%h/.config/ccbalancer/service.env"

// SystemdUnit renders the unit that runs exe with args. A user unit is wanted
// by default.target (reached at login); a system unit by multi-user.target,
// and it keeps its state and logs in its own directories
// (StateDirectory=/LogsDirectory=: /var/lib/ccbalancer, /var/log/ccbalancer),
// since a system service has no home directory. envFile, if set, is the
// EnvironmentFile= value the keys come from (a leading "-" makes it optional).
//
// Type=notify: `ccbalancer serve` tells systemd when it listens, so
// `systemctl start` returns once the proxy serves, or fails if it cannot.
func SystemdUnit(exe string, args []string, user bool, envFile string) string {
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
	b.WriteString("Type=notify\n")
	b.WriteString("ExecStart=" + SystemdExec(append([]string{exe}, args...)) + "\n")
	if envFile != "" {
		b.WriteString("EnvironmentFile=" + envFile + "\n")
	}
	if !user {
		b.WriteString("StateDirectory=ccbalancer\nLogsDirectory=ccbalancer\n")
	}
	b.WriteString("Restart=on-failure\nRestartSec=5\n")
	// serve exits 0 after a graceful stop on SIGTERM; answers still running get
	// settings.shutdown_grace (30 s by default; the manager waits 2 minutes).
	b.WriteString("TimeoutStopSec=120\n")
	b.WriteString("NoNewPrivileges=true\n")
	if !user {
		b.WriteString("ProtectSystem=full\n")
	}
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

// systemdPath escapes a path for a unit setting that takes one path
// (EnvironmentFile=): % starts a specifier.
func systemdPath(p string) string {
	return strings.ReplaceAll(p, "%", "%%")
}
