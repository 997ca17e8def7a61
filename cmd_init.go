package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/presets"
)

// runInit is `ccbalancer init`: it writes the example configuration, or
// one made of presets, where it will be found; never over an existing file.
func runInit(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ccbalancer init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	cfgPath := fs.String("config", "", "where to write (default: the user config directory)")
	preset := fs.String("preset", "", "comma-separated presets, the first tried first (see --list)")
	keyring := fs.Bool("keyring", false, "write keys as keyring:NAME instead of ${ENV}")
	list := fs.Bool("list", false, "list the presets")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ccbalancer init: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *list {
		all, err := presets.All()
		if err != nil {
			fmt.Fprintf(stderr, "ccbalancer init: %v\n", err)
			return 1
		}
		for _, p := range all {
			key := "no key"
			switch {
			case p.Passthrough:
				key = "Claude Code's own login"
			case p.Key != "":
				key = "$" + p.Key
			}
			fmt.Fprintf(stdout, "%-20s %s (%s)\n", p.Name, p.Title, key)
		}
		return 0
	}
	data := exampleConfig
	var chosen []presets.Preset
	if *preset != "" {
		var err error
		if chosen, err = presets.Find(strings.Split(*preset, ",")); err != nil {
			fmt.Fprintf(stderr, "ccbalancer init: %v\n", err)
			return 2
		}
		if data, err = presets.Render(chosen, presets.Options{Keyring: *keyring}); err != nil {
			fmt.Fprintf(stderr, "ccbalancer init: %v\n", err)
			return 1
		}
	} else if *keyring {
		fmt.Fprintln(stderr, "ccbalancer init: --keyring goes with --preset")
		return 2
	}
	path, err := initPath(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "ccbalancer init: %v\n", err)
		return 1
	}
	if err := config.WriteExample(path, data); err != nil {
		fmt.Fprintf(stderr, "ccbalancer init: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s (mode 0600)\n", path)
	for _, p := range chosen {
		switch {
		case p.Key != "" && *keyring:
			fmt.Fprintf(stdout, "  %s: ccbalancer secret set %s\n", p.ProviderName(), p.Name)
		case p.Key != "":
			fmt.Fprintf(stdout, "  %s: export %s=<your key>\n", p.ProviderName(), p.Key)
		}
	}
	fmt.Fprintln(stdout, "edit it, then run `ccbalancer check` and `ccbalancer`")
	return 0
}

// initPath is where init writes: --config, $CCBALANCER_CONFIG, or the user
// config directory.
func initPath(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if v := os.Getenv(config.EnvVar); v != "" {
		return v, nil
	}
	return config.DefaultPath()
}
