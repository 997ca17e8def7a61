package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/importer"
)

// runImport is `ccbalancer import cc-switch|claude-code-router [FILE]`: it
// writes a providers.yaml from another tool's configuration (its default
// location when FILE is omitted) and says what could not be carried over.
func runImport(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "" || args[0][0] == '-' {
		fmt.Fprintln(stderr, "ccbalancer import: name the tool: ccbalancer import cc-switch|claude-code-router [FILE]")
		return 2
	}
	tool := args[0]
	fs := flag.NewFlagSet("ccbalancer import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "where to write providers.yaml (default: the user config directory)")
	// FILE may stand before or after the flags.
	var pos []string
	for rest := args[1:]; ; {
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		pos, rest = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	if len(pos) > 1 {
		fmt.Fprintf(stderr, "ccbalancer import: unexpected argument %q\n", pos[1])
		return 2
	}
	src := ""
	if len(pos) == 1 {
		src = pos[0]
	}
	if src == "" {
		var err error
		if src, err = importer.DefaultPath(tool); err != nil {
			fmt.Fprintf(stderr, "ccbalancer import: %v\n", err)
			return 2
		}
	}
	data, err := os.ReadFile(src)
	if err != nil {
		fmt.Fprintf(stderr, "ccbalancer import: reading %s: %v\n", src, err)
		return 1
	}
	res, err := importer.Convert(tool, data)
	if err != nil {
		fmt.Fprintf(stderr, "ccbalancer import: %s: %v\n", src, err)
		return 1
	}
	out := res.YAML(src)
	// What was written must load, keys aside: check it before it lands on
	// disk, and note the key variables this shell does not set.
	var unset []string
	check := keyless
	check.Env = func(name string) (string, bool) {
		if _, ok := os.LookupEnv(name); !ok && !slices.Contains(unset, name) {
			unset = append(unset, name)
		}
		return keyless.Env(name)
	}
	if _, err := config.ParseWith(src, out, check); err != nil {
		fmt.Fprintf(stderr, "ccbalancer import: the converted configuration has errors:\n%v\n", err)
		return 1
	}
	path, err := initPath(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "ccbalancer import: %v\n", err)
		return 1
	}
	if err := config.WriteExample(path, out); err != nil {
		fmt.Fprintf(stderr, "ccbalancer import: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s (mode 0600) from %s: %d providers, %d routes\n", path, src, len(res.Providers), len(res.Routes))
	if len(res.Notes) > 0 {
		fmt.Fprintln(stdout, "not carried over:")
		for _, n := range res.Notes {
			fmt.Fprintf(stdout, "  - %s\n", n)
		}
	}
	if len(unset) > 0 {
		fmt.Fprintln(stdout, "set its keys first:")
		for _, name := range unset {
			fmt.Fprintf(stdout, "  export %s=<your key>\n", name)
		}
	}
	fmt.Fprintln(stdout, "check it with `ccbalancer check`")
	return 0
}
