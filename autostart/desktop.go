package autostart

import "strings"

// DesktopEntry renders an XDG autostart entry that runs exe with args.
// See the Desktop Entry Specification, "The Exec key" and "Autostart".
func DesktopEntry(exe string, args []string) string {
	var b strings.Builder
	b.WriteString("[Desktop Entry]\n")
	b.WriteString("Type=Application\n")
	b.WriteString("Name=ccbalancer\n")
	b.WriteString("GenericName=Claude Code provider balancer\n")
	b.WriteString("Comment=Local proxy that balances Claude Code across providers\n")
	b.WriteString("Exec=" + DesktopExec(append([]string{exe}, args...)) + "\n")
	b.WriteString("Icon=ccbalancer\n")
	b.WriteString("Terminal=false\n")
	b.WriteString("Categories=Development;\n")
	b.WriteString("StartupNotify=false\n")
	b.WriteString("X-GNOME-Autostart-enabled=true\n")
	return b.String()
}

// DesktopExec quotes argv for an Exec key. An argument with a reserved
// character is put in double quotes, inside which ", `, $ and \ take a
// backslash; % is doubled everywhere (it starts field codes). Then the
// string escapes of the key-file format apply, which double every backslash
// again: the spec's "four backslashes for one".
func DesktopExec(argv []string) string {
	quoted := make([]string, len(argv))
	for i, a := range argv {
		a = strings.ReplaceAll(a, "%", "%%")
		if a != "" && !strings.ContainsAny(a, " \t\n\"'\\><~|&;$*?#()`") {
			quoted[i] = a
			continue
		}
		var q strings.Builder
		q.WriteByte('"')
		for _, r := range a {
			if strings.ContainsRune("\"`$\\", r) {
				q.WriteByte('\\')
			}
			q.WriteRune(r)
		}
		q.WriteByte('"')
		quoted[i] = q.String()
	}
	return escapeKeyFileString(strings.Join(quoted, " "))
}

// escapeKeyFileString applies the key-file escapes for string values.
func escapeKeyFileString(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\t", `\t`, "\r", `\r`).Replace(s)
}

// desktopEntryEnabled reports whether an entry's text leaves it switched on:
// desktops honour Hidden=true and X-GNOME-Autostart-enabled=false as "off".
func desktopEntryEnabled(text string) bool {
	for line := range strings.Lines(text) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if (k == "Hidden" && v == "true") || (k == "X-GNOME-Autostart-enabled" && v == "false") {
			return false
		}
	}
	return true
}
