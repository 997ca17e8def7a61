package autostart

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ccbalancer/ccbalancer/internal/desktoptest"
	"github.com/google/go-cmp/cmp"
)

// awkwardArgs are arguments that need every kind of quoting.
var awkwardArgs = [][]string{
	{"/usr/bin/ccbalancer"},
	{"/usr/bin/ccbalancer", "--config", "/home/me/.config/ccbalancer/providers.yaml"},
	{"/opt/My Apps/ccbalancer", "--config", "/home/me/my configs/p.yaml"},
	{`/opt/a"b/ccbalancer`, `$HOME`, "`id`", `back\slash`, "100%", "tab\there", ""},
	{"/usr/bin/ccbalancer", `ends with\`, `quote"inside`, `\\server\share`, "semi;colon", "a&b", "<x>"},
}

// parseDesktopExec undoes DesktopExec the way a desktop does: key-file string
// escapes first, then the Exec quoting rules, then %% to %.
func parseDesktopExec(t *testing.T, s string) []string {
	t.Helper()
	var unesc strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			unesc.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'n':
			unesc.WriteByte('\n')
		case 't':
			unesc.WriteByte('\t')
		case 'r':
			unesc.WriteByte('\r')
		case '\\':
			unesc.WriteByte('\\')
		default:
			t.Fatalf("invalid key-file escape \\%c in %q", s[i], s)
		}
	}
	var (
		args   []string
		cur    strings.Builder
		inArg  bool
		quoted bool
	)
	u := unesc.String()
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case quoted && c == '\\':
			i++
			if !strings.ContainsRune("\"`$\\", rune(u[i])) {
				t.Fatalf("invalid escape in quoted argument of %q", u)
			}
			cur.WriteByte(u[i])
		case quoted && c == '"':
			quoted = false
		case quoted:
			cur.WriteByte(c)
		case c == '"':
			quoted, inArg = true, true
		case c == ' ':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			if strings.ContainsRune("\t\n'\\><~|&;$*?#()`", rune(c)) {
				t.Fatalf("reserved character %q outside quotes in %q", c, u)
			}
			cur.WriteByte(c)
			inArg = true
		}
	}
	if quoted {
		t.Fatalf("unterminated quote in %q", u)
	}
	if inArg {
		args = append(args, cur.String())
	}
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "%%", "%")
	}
	return args
}

func TestDesktopExecRoundTrip(t *testing.T) {
	for _, argv := range awkwardArgs {
		got := parseDesktopExec(t, DesktopExec(argv))
		if diff := cmp.Diff(argv, got); diff != "" {
			t.Errorf("DesktopExec(%q) = %q, parsed back (-want +got):\n%s", argv, DesktopExec(argv), diff)
		}
	}
}

func TestDesktopExecExamples(t *testing.T) {
	tests := []struct {
		argv []string
		want string
	}{
		{[]string{"/usr/bin/ccbalancer"}, "/usr/bin/ccbalancer"},
		{[]string{"/opt/my apps/ccbalancer", "--config", "/c.yaml"}, `"/opt/my apps/ccbalancer" --config /c.yaml`},
		{[]string{"/x", "a$b"}, `/x "a\\$b"`},
		{[]string{"/x", `a\b`}, `/x "a\\\\b"`}, // the spec's four backslashes
		{[]string{"/x", "50%"}, `/x 50%%`},
	}
	for _, tt := range tests {
		if got := DesktopExec(tt.argv); got != tt.want {
			t.Errorf("DesktopExec(%q) = %s, want %s", tt.argv, got, tt.want)
		}
	}
}

// TestDesktopEntryValidates runs desktop-file-validate over entries for every
// awkward command line.
func TestDesktopEntryValidates(t *testing.T) {
	validate := desktoptest.NeedTool(t, "desktop-file-validate", "desktop-file-utils")
	for i, argv := range awkwardArgs {
		name := filepath.Join(t.TempDir(), "ccbalancer.desktop")
		if err := os.WriteFile(name, []byte(DesktopEntry(argv[0], argv[1:])), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(validate, name).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("case %d: desktop-file-validate: %v\n%s\n%s", i, err, out, DesktopEntry(argv[0], argv[1:]))
		}
	}
}

func TestDesktopEntryEnabled(t *testing.T) {
	tests := []struct {
		name, text string
		want       bool
	}{
		{"ours", DesktopEntry("/x", nil), true},
		{"hidden", DesktopEntry("/x", nil) + "Hidden=true\n", false},
		{"switched off in GNOME", strings.Replace(DesktopEntry("/x", nil), "X-GNOME-Autostart-enabled=true", "X-GNOME-Autostart-enabled=false", 1), false},
		{"hidden false", DesktopEntry("/x", nil) + "Hidden=false\n", true},
	}
	for _, tt := range tests {
		if got := desktopEntryEnabled(tt.text); got != tt.want {
			t.Errorf("%s: enabled = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// plist is the subset of a property list this package writes, decoded
// generically: the dict's keys and values in order.
type plist struct {
	XMLName xml.Name `xml:"plist"`
	Version string   `xml:"version,attr"`
	Dict    struct {
		Items []plistItem `xml:",any"`
	} `xml:"dict"`
}

type plistItem struct {
	XMLName xml.Name
	Text    string   `xml:",chardata"`
	Strings []string `xml:"string"`
}

func TestLaunchAgentPlist(t *testing.T) {
	for _, argv := range awkwardArgs {
		text := LaunchAgentPlist(Label, argv[0], argv[1:])
		var p plist
		dec := xml.NewDecoder(strings.NewReader(text))
		dec.Strict = true
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("plist for %q is not well-formed XML: %v\n%s", argv, err, text)
		}
		got := map[string]plistItem{}
		var key string
		for _, it := range p.Dict.Items {
			if it.XMLName.Local == "key" {
				key = it.Text
				continue
			}
			got[key] = it
		}
		if got["Label"].Text != Label {
			t.Errorf("Label = %q, want %q", got["Label"].Text, Label)
		}
		if diff := cmp.Diff(argv, got["ProgramArguments"].Strings); diff != "" {
			t.Errorf("ProgramArguments (-want +got):\n%s", diff)
		}
		if got["RunAtLoad"].XMLName.Local != "true" {
			t.Errorf("RunAtLoad = <%s/>, want <true/>", got["RunAtLoad"].XMLName.Local)
		}
	}
}

// splitWindowsCommandLine splits a command line as CommandLineToArgvW does
// (the rules since 2008: the program name is read up to the closing quote
// without escapes; then 2n backslashes before a quote give n and toggle
// quoting, 2n+1 give n and a literal quote).
func splitWindowsCommandLine(s string) []string {
	var args []string
	// Program name.
	if strings.HasPrefix(s, `"`) {
		end := strings.IndexByte(s[1:], '"')
		args = append(args, s[1:1+end])
		s = s[2+end:]
	} else {
		end := strings.IndexAny(s, " \t")
		if end < 0 {
			return []string{s}
		}
		args = append(args, s[:end])
		s = s[end:]
	}
	var cur strings.Builder
	inArg, quoted := false, false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			n := 0
			for i < len(s) && s[i] == '\\' {
				n++
				i++
			}
			if i < len(s) && s[i] == '"' {
				cur.WriteString(strings.Repeat(`\`, n/2))
				if n%2 == 1 {
					cur.WriteByte('"')
					i++
				}
			} else {
				cur.WriteString(strings.Repeat(`\`, n))
			}
			inArg = true
			continue
		case c == '"':
			if quoted && i+1 < len(s) && s[i+1] == '"' {
				cur.WriteByte('"')
				i += 2
				continue
			}
			quoted = !quoted
			inArg = true
		case (c == ' ' || c == '\t') && !quoted:
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteByte(c)
			inArg = true
		}
		i++
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args
}

func TestWindowsCommandLineRoundTrip(t *testing.T) {
	cases := append([][]string{
		{`C:\Program Files\ccbalancer\ccbalancer.exe`, "--config", `C:\Users\Me\AppData\Roaming\ccbalancer\providers.yaml`},
		{`C:\ccbalancer.exe`, `C:\dir with space\`, `a\\"b`, `""`, `\`},
	}, awkwardArgs...)
	for _, argv := range cases {
		if strings.Contains(argv[0], `"`) {
			continue // not a possible Windows file name
		}
		line := WindowsCommandLine(argv)
		if diff := cmp.Diff(argv, splitWindowsCommandLine(line)); diff != "" {
			t.Errorf("WindowsCommandLine(%q) = %s, split back (-want +got):\n%s", argv, line, diff)
		}
	}
}

func TestWindowsCommandLineExamples(t *testing.T) {
	tests := []struct {
		argv []string
		want string
	}{
		{[]string{`C:\Program Files\ccbalancer.exe`}, `"C:\Program Files\ccbalancer.exe"`},
		{[]string{`C:\c.exe`, "--config", `C:\My Files\p.yaml`}, `"C:\c.exe" --config "C:\My Files\p.yaml"`},
		{[]string{`C:\c.exe`, `C:\dir\`}, `"C:\c.exe" C:\dir\`},
		{[]string{`C:\c.exe`, `C:\my dir\`}, `"C:\c.exe" "C:\my dir\\"`},
		{[]string{`C:\c.exe`, ""}, `"C:\c.exe" ""`},
	}
	for _, tt := range tests {
		if got := WindowsCommandLine(tt.argv); got != tt.want {
			t.Errorf("WindowsCommandLine(%q) = %s, want %s", tt.argv, got, tt.want)
		}
	}
}
