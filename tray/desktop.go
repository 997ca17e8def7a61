package tray

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/gen2brain/beeep"

	"github.com/ccbalancer/ccbalancer/assets"
)

// desktopNotify shows a notice through the desktop's notification service
// (org.freedesktop.Notifications on Linux) with the icon of its state.
func desktopNotify(n Notice) error {
	icon := assets.AppIcon()
	if n.Icon != "" {
		if b, err := assets.PNG(n.Icon, 64); err == nil {
			icon = b
		}
	}
	if err := beeep.Notify(n.Title, n.Body, icon); err != nil {
		return fmt.Errorf("showing notification: %w", err)
	}
	return nil
}

// openGrace is how long openPath waits for the opener to fail: xdg-open and
// friends fail fast (no handler, no such file) and otherwise keep running or
// exit 0 once the application is launched.
const openGrace = 3 * time.Second

// openPath opens a file or folder with the desktop's default application.
// It returns the opener's error when it cannot run or exits non-zero within
// openGrace; an opener still running then is left to finish on its own.
func openPath(path string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", path)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", path)
	default:
		cmd = exec.Command("xdg-open", path)
	}
	var out strings.Builder
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("running %s: %w", cmd.Args[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			msg := strings.TrimSpace(out.String())
			if msg == "" {
				return fmt.Errorf("%s %s: %w", cmd.Args[0], path, err)
			}
			first, _, _ := strings.Cut(msg, "\n")
			return fmt.Errorf("%s %s: %w: %s", cmd.Args[0], path, err, first)
		}
		return nil
	case <-time.After(openGrace):
		return nil
	}
}

// clipboardCommands lists, per system, the programs that put stdin on the
// clipboard, in order of preference. On Linux it depends on the session:
// Wayland's wl-copy, then the X11 tools.
func clipboardCommands(goos string, getenv func(string) string) [][]string {
	switch goos {
	case "darwin":
		return [][]string{{"pbcopy"}}
	case "windows":
		return [][]string{{"clip"}}
	}
	var cmds [][]string
	if getenv("WAYLAND_DISPLAY") != "" {
		cmds = append(cmds, []string{"wl-copy"})
	}
	if getenv("DISPLAY") != "" {
		cmds = append(cmds, []string{"xclip", "-selection", "clipboard"}, []string{"xsel", "--clipboard", "--input"})
	}
	return cmds
}

// errNoClipboard means no clipboard program is available here.
var errNoClipboard = errors.New("no clipboard tool here (wl-copy, xclip or xsel)")

// copyText puts text on the clipboard with the first clipboard program found.
func copyText(text string) error {
	for _, argv := range clipboardCommands(runtime.GOOS, os.Getenv) {
		if _, err := exec.LookPath(argv[0]); err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Stdin = strings.NewReader(text)
		err := cmd.Run()
		cancel()
		if err != nil {
			return fmt.Errorf("copying with %s: %w", argv[0], err)
		}
		return nil
	}
	return errNoClipboard
}
