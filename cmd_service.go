package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/keyring"
	"github.com/ccbalancer/ccbalancer/osservice"
)

// errSystemKeyring answers keyring lookups for a system service.
var errSystemKeyring = errors.New("a system service runs outside any user's session and cannot read a keyring: " +
	"write the key as auth_value: \"${NAME}\" and install with NAME set (it goes into the service's environment file), " +
	"or install a user service (--user)")

// serviceCommand implements `ccbalancer service install|uninstall|start|stop|status [--user] [--config F] [--env-file F]`.
func serviceCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("service", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.Bool("user", false, "a per-user service (systemd --user, a LaunchAgent) instead of a system one")
	configPath := fs.String("config", "", "config file the service serves (install only; default: the one found now)")
	envFile := fs.String("env-file", "", "install only: the service reads its ${NAME} variables from this file (NAME=value lines, mode 0600)\n"+
		"instead of the one install writes from this shell's environment")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ccbalancer service install|uninstall|start|stop|status [--user] [--config FILE] [--env-file FILE]")
		fs.PrintDefaults()
	}
	action, ok := parseAction(fs, args)
	if !ok {
		return 2
	}
	if !slices.Contains(osservice.Actions, action) {
		fmt.Fprintf(stderr, "service: unknown action %q\n", action)
		fs.Usage()
		return 2
	}
	if *envFile != "" && action != "install" {
		fmt.Fprintln(stderr, "service: --env-file is for install only")
		return 2
	}
	opts := osservice.Options{User: *user}
	if action == "install" {
		// The service starts elsewhere (another working directory, maybe
		// another user): pin the file found now by its absolute path.
		path, _, err := config.Discover(*configPath)
		if err != nil {
			fmt.Fprintf(stderr, "service: %v\nrun `ccbalancer init` first, or pass --config\n", err)
			return 1
		}
		opts.ConfigPath = path
		if *envFile != "" {
			if opts.EnvFile, err = filepath.Abs(*envFile); err != nil {
				fmt.Fprintln(stderr, "service:", err)
				return 1
			}
		}
		env, ok := serviceEnv(opts, stdout, stderr)
		if !ok {
			return 1
		}
		opts.Env = env
	}
	msg, err := osservice.Control(action, opts)
	if err != nil {
		fmt.Fprintln(stderr, "service:", err)
		return 1
	}
	fmt.Fprintln(stdout, msg)
	return 0
}

// serviceEnv loads the configuration as the service will see it, before
// anything is installed: ${NAME} from opts.EnvFile when given, else from this
// process's environment; keyring:NAME from the user's keyring for a user
// service and not at all for a system one. It returns the variables the
// configuration uses, with their values, for the service's environment file
// (none when opts.EnvFile is given); ok is false when the configuration
// would not load, after printing why.
func serviceEnv(opts osservice.Options, stdout, stderr io.Writer) (env map[string]string, ok bool) {
	lookup := os.LookupEnv
	if opts.EnvFile != "" {
		vars, err := osservice.ReadEnvFile(opts.EnvFile)
		if err != nil {
			fmt.Fprintln(stderr, "service:", err)
			return nil, false
		}
		lookup = func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
	}
	used := map[string]string{}
	src := config.Sources{Env: func(name string) (string, bool) {
		v, ok := lookup(name)
		if ok {
			used[name] = v
		}
		return v, ok
	}}
	if opts.User {
		src.Keyring = keyring.Get
	} else {
		src.Keyring = func(string) (string, error) { return "", errSystemKeyring }
	}
	cfg, err := config.LoadWith(opts.ConfigPath, src)
	if err != nil {
		fmt.Fprintf(stderr, "service: the configuration would not load in the service, so nothing was installed:\n%v\n", err)
		if strings.Contains(err.Error(), "environment variable") {
			if opts.EnvFile != "" {
				fmt.Fprintf(stderr, "set the variables in %s\n", opts.EnvFile)
			} else {
				fmt.Fprintln(stderr, "the service gets ${NAME} values from this shell's environment at install time "+
					"(sudo drops it: use sudo -E, or pass --env-file FILE)")
			}
		}
		return nil, false
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	if opts.EnvFile != "" {
		return nil, true
	}
	return used, true
}

// serveManaged runs run(ctx) under the OS service manager when started by one (Windows SCM), else runs it with
// ctx cancelled on SIGINT/SIGTERM. Returns run's error.
func serveManaged(logger *slog.Logger, run func(ctx context.Context) error) error {
	return osservice.Run(logger, run)
}
