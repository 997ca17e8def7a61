package main

import (
	"os"

	"golang.org/x/sys/windows"
)

// attachConsole lets the Windows build, a GUI-subsystem program (so that the
// tray opens no console window), print to the console it was started from:
// Windows gives such a program none, and `ccbalancer check` typed in cmd or
// PowerShell would print nothing. Standard handles already redirected to a
// file or pipe are kept. Started from Explorer, a shortcut or at login there
// is no console to attach to, and nothing changes.
func attachConsole() {
	valid := func(std uint32) bool {
		h, err := windows.GetStdHandle(std)
		return err == nil && h != 0 && h != windows.InvalidHandle
	}
	outRedirected, errRedirected := valid(windows.STD_OUTPUT_HANDLE), valid(windows.STD_ERROR_HANDLE)
	if outRedirected && errRedirected {
		return
	}
	const attachParentProcess = ^uintptr(0) // ATTACH_PARENT_PROCESS
	if r, _, _ := windows.NewLazySystemDLL("kernel32.dll").NewProc("AttachConsole").Call(attachParentProcess); r == 0 {
		return
	}
	name, _ := windows.UTF16PtrFromString("CONOUT$")
	h, err := windows.CreateFile(name, windows.GENERIC_READ|windows.GENERIC_WRITE, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE,
		nil, windows.OPEN_EXISTING, 0, 0)
	if err != nil {
		return
	}
	con := os.NewFile(uintptr(h), "CONOUT$")
	if !outRedirected {
		os.Stdout = con
	}
	if !errRedirected {
		os.Stderr = con
	}
}
