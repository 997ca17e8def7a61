package osservice

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ccbalancer/ccbalancer/logging"
)

// unitName is the systemd unit's name.
const unitName = Name + ".service"

// logLines is how many lines of the service's log a failure report shows.
const logLines = 10

// systemdManager installs and controls the unit with systemctl.
type systemdManager struct {
	user bool
	// unit is the unit file install writes.
	unit string
	// envFile is where install writes the service's environment.
	envFile string
	// dirs are the directories systemd creates for a system unit
	// (StateDirectory=, LogsDirectory=), removed on uninstall.
	dirs []string
	// logFile is the service's own log file, read when the journal has nothing.
	logFile string
	// legacy are files an earlier install through SysV init left behind.
	legacy []string
}

func newSystemd(user bool) (*systemdManager, error) {
	if !user {
		m := &systemdManager{
			unit:    "/etc/systemd/system/" + unitName,
			envFile: "/etc/ccbalancer/ccbalancer.env",
			dirs:    []string{"/var/lib/ccbalancer", "/var/log/ccbalancer"},
			logFile: "/var/log/ccbalancer/logs.jsonl",
			legacy:  []string{"/etc/init.d/" + Name, "/var/log/" + Name + ".log", "/var/log/" + Name + ".err", "/var/run/" + Name + ".pid"},
		}
		for _, rl := range []string{"2", "3", "4", "5"} {
			m.legacy = append(m.legacy, "/etc/rc"+rl+".d/S50"+Name)
		}
		for _, rl := range []string{"0", "1", "6"} {
			m.legacy = append(m.legacy, "/etc/rc"+rl+".d/K02"+Name)
		}
		return m, nil
	}
	if _, err := exec.LookPath("systemctl"); err != nil {
		return nil, fmt.Errorf("user services need systemd, and systemctl is not installed: use `ccbalancer autostart enable` to start the tray at login instead")
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return nil, fmt.Errorf("finding the user's systemd unit directory: %w", err)
	}
	logFile, err := logging.ResolveFile("")
	if err != nil {
		return nil, err
	}
	return &systemdManager{
		user:    true,
		unit:    filepath.Join(dir, "systemd", "user", unitName),
		envFile: filepath.Join(dir, "ccbalancer", "service.env"),
		logFile: logFile,
	}, nil
}

func (m *systemdManager) platform() string { return "systemd" }

// systemctl runs systemctl (with --user for a user unit) and returns its
// output; its error carries systemctl's own message.
func (m *systemdManager) systemctl(args ...string) (string, error) {
	if m.user {
		args = append([]string{"--user"}, args...)
	}
	cmd := exec.Command("systemctl", args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return out.String(), fmt.Errorf("systemctl %s: %s", strings.Join(args, " "), msg)
	}
	return out.String(), nil
}

// reachable checks that a service manager answers before anything is written.
func (m *systemdManager) reachable() error {
	if !m.user {
		if _, err := os.Stat("/run/systemd/system"); err != nil {
			return errors.New("systemd is not running on this machine (as in most containers), and a system service needs it: " +
				"run `ccbalancer serve` under the machine's own supervisor instead")
		}
	}
	if _, err := m.systemctl("show", "--property=Version"); err != nil {
		if m.user {
			return fmt.Errorf("%w\nno systemd user manager is reachable: log in to a desktop session (or run `loginctl enable-linger $USER`), "+
				"or use `ccbalancer autostart enable` to start the tray at login", err)
		}
		return err
	}
	return nil
}

func (m *systemdManager) install(exe string, args []string, opts Options) (report string, err error) {
	if err := m.reachable(); err != nil {
		return "", err
	}
	if _, err := os.Stat(m.unit); err == nil {
		return "", fmt.Errorf("%s exists: run `ccbalancer service uninstall%s` first", m.unit, m.userFlag())
	}
	var lines []string
	wroteEnv := false
	var createdDirs []string
	defer func() {
		if err == nil {
			return
		}
		if _, rerr := m.remove(wroteEnv, createdDirs); rerr != nil {
			err = fmt.Errorf("%w\nremoving the half-installed service failed too: %v", err, rerr)
		} else {
			err = fmt.Errorf("%w\nnothing was left installed", err)
		}
	}()

	envFile := opts.EnvFile
	if envFile == "" && len(opts.Env) > 0 {
		data, err := RenderEnvFile(opts.Env)
		if err != nil {
			return "", err
		}
		dirs, err := writePrivate(m.envFile, data)
		createdDirs = append(createdDirs, dirs...)
		if err != nil {
			return "", err
		}
		wroteEnv = true
		envFile = m.envFile
		lines = append(lines, fmt.Sprintf("  %s (mode 0600): the service's keys (%s)", m.envFile, strings.Join(sortedKeys(opts.Env), ", ")))
	}
	unitEnv := ""
	if envFile != "" {
		unitEnv = systemdPath(envFile)
	}
	dirs, err := mkdirs(filepath.Dir(m.unit), 0o755)
	createdDirs = append(createdDirs, dirs...)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(m.unit, []byte(SystemdUnit(exe, args, m.user, unitEnv)), 0o644); err != nil {
		return "", fmt.Errorf("writing the unit: %w", err)
	}
	lines = append(lines, "  "+m.unit)
	for _, step := range [][]string{{"daemon-reload"}, {"enable", unitName}} {
		if _, err := m.systemctl(step...); err != nil {
			return "", err
		}
	}
	if err := m.start(); err != nil {
		return "", err
	}
	if m.user {
		lines = append(lines, fmt.Sprintf("it starts at login; its log: %s and journalctl --user -u %s", m.logFile, unitName))
	} else {
		lines = append(lines, fmt.Sprintf("it starts at boot; its log: %s and journalctl -u %s", m.logFile, unitName))
	}
	return strings.Join(lines, "\n"), nil
}

// start starts the unit. Type=notify makes systemctl wait until the proxy
// listens, so a failure here is the service's own; it is reported with
// systemd's reason and the last lines of the service's log.
func (m *systemdManager) start() error {
	_, err := m.systemctl("start", unitName)
	if err == nil {
		st, serr := m.status()
		if serr != nil {
			return serr
		}
		if st.State == Running {
			return nil
		}
		err = fmt.Errorf("systemd reports it %s", st.State)
	}
	st, serr := m.status()
	if serr != nil || st.State == Running || st.State == NotInstalled {
		return err
	}
	return fmt.Errorf("%w\nthe service %s", err, st)
}

func (m *systemdManager) stop() error {
	_, err := m.systemctl("stop", unitName)
	return err
}

// status reads the unit's state from systemctl show.
func (m *systemdManager) status() (Status, error) {
	out, err := m.systemctl("show", unitName, "--property=LoadState,ActiveState,SubState,Result,ExecMainCode,ExecMainStatus,FragmentPath")
	if err != nil {
		return Status{}, err
	}
	p := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok {
			p[k] = v
		}
	}
	if p["LoadState"] == "not-found" || p["LoadState"] == "" {
		return Status{State: NotInstalled}, nil
	}
	st := Status{Unit: p["FragmentPath"]}
	switch {
	case p["ActiveState"] == "active" || p["ActiveState"] == "reloading":
		st.State = Running
	case p["ActiveState"] == "failed":
		st.State = Failed
	case p["ActiveState"] == "activating" && p["SubState"] == "auto-restart":
		st.State = Failed
		st.Reason = "restarting after a failure: "
	case p["ActiveState"] == "activating":
		st.State = Starting
	default:
		st.State = Stopped
	}
	if st.State == Failed || (st.State == Stopped && p["Result"] != "" && p["Result"] != "success") {
		st.State = Failed
		st.Reason += failureReason(p)
		st.Log = m.lastLog()
	}
	return st, nil
}

// failureReason words systemd's Result and the main process's exit.
func failureReason(p map[string]string) string {
	reason := p["Result"]
	switch p["ExecMainCode"] {
	case "1": // CLD_EXITED
		reason += fmt.Sprintf(", exit status %s", p["ExecMainStatus"])
	case "2", "3": // CLD_KILLED, CLD_DUMPED
		reason += fmt.Sprintf(", killed by signal %s", p["ExecMainStatus"])
	}
	return reason
}

// lastLog returns the last lines the service logged: from the journal when
// it has them, else from the service's log file.
func (m *systemdManager) lastLog() []string {
	args := []string{"-u", unitName, "-n", fmt.Sprint(logLines), "--no-pager", "-q", "-o", "cat"}
	if m.user {
		args = append([]string{"--user"}, args...)
	}
	if out, err := exec.Command("journalctl", args...).Output(); err == nil {
		if lines := nonEmptyLines(string(out)); len(lines) > 0 {
			return lines
		}
	}
	b, err := os.ReadFile(m.logFile)
	if err != nil {
		return nil
	}
	lines := nonEmptyLines(string(b))
	return lines[max(0, len(lines)-logLines):]
}

func (m *systemdManager) uninstall() (string, error) {
	// The environment file is ccbalancer's only when the unit names it.
	unit, _ := os.ReadFile(m.unit)
	ours := bytes.Contains(unit, []byte("\nEnvironmentFile="+systemdPath(m.envFile)+"\n"))
	removed, err := m.remove(ours, nil)
	return strings.Join(removed, "\n"), err
}

// remove stops and disables the unit and deletes the unit file, the
// environment file (when ours), the unit's state and log directories, dirs
// (created by a failed install, deepest last) and what an install through
// SysV init left. It returns what it removed.
func (m *systemdManager) remove(envFile bool, dirs []string) ([]string, error) {
	var removed []string
	var errs []error
	_, unitErr := os.Stat(m.unit)
	if unitErr == nil {
		// A unit that is not running, or a manager that is gone, is fine here.
		m.systemctl("stop", unitName)
		if _, err := m.systemctl("disable", unitName); err != nil {
			errs = append(errs, err)
		} else {
			removed = append(removed, "  the unit's enable links (systemctl disable)")
		}
	}
	paths := []string{m.unit}
	if envFile {
		paths = append(paths, m.envFile)
	}
	paths = append(paths, m.legacy...)
	for _, p := range paths {
		switch err := os.Remove(p); {
		case err == nil:
			removed = append(removed, "  "+p)
		case !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, err)
		}
	}
	for _, d := range m.dirs {
		if _, err := os.Stat(d); err != nil {
			continue
		}
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, err)
		} else {
			removed = append(removed, "  "+d+"/")
		}
	}
	// The environment file's directory goes when nothing else is in it.
	if envFile && os.Remove(filepath.Dir(m.envFile)) == nil {
		removed = append(removed, "  "+filepath.Dir(m.envFile)+"/")
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Remove(dirs[i])
	}
	if unitErr == nil {
		if _, err := m.systemctl("daemon-reload"); err != nil {
			errs = append(errs, err)
		}
		m.systemctl("reset-failed", unitName)
	}
	return removed, errors.Join(errs...)
}

func (m *systemdManager) userFlag() string {
	if m.user {
		return " --user"
	}
	return ""
}

// mkdirs creates dir and its missing parents with mode perm, returning
// those it created, deepest last.
func mkdirs(dir string, perm os.FileMode) ([]string, error) {
	var created []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || d == filepath.Dir(d) {
			break
		}
		created = append([]string{d}, created...)
	}
	if err := os.MkdirAll(dir, perm); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	return created, nil
}

func nonEmptyLines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimRight(sc.Text(), " \t"); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
