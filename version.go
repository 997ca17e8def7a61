package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set at build time by packaging/build.sh:
//
//	-ldflags "-X main.version=1.2.0 -X main.commit=<sha> -X main.date=<RFC 3339>"
//
// A plain `go build` leaves version "dev" and takes the commit and its date
// from the build's VCS stamp, when it has one (not with -buildvcs=false).
var (
	version = "dev"
	commit  = ""
	date    = ""
)

// versionString is the line `ccbalancer version` prints.
func versionString() string {
	c, d := commit, date
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && c == "":
				c = s.Value
			case s.Key == "vcs.time" && d == "":
				d = s.Value
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	if d == "" {
		d = "unknown"
	}
	return fmt.Sprintf("ccbalancer %s (commit %s, built %s, %s, %s/%s)", version, c, d, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
