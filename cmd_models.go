package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/ccbalancer/ccbalancer/proxy"
)

// runModels is `ccbalancer models PROVIDER`: the models a configured
// provider offers (its /v1/models), to help write model_routes.
func runModels(args []string, stdout, stderr io.Writer) int {
	var name string
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	f, ok := parseFlags("ccbalancer models", args, stderr, "config")
	if !ok {
		return 2
	}
	if name == "" {
		fmt.Fprintln(stderr, "ccbalancer models: name a provider: ccbalancer models PROVIDER")
		return 2
	}
	cfg, ok := loadConfig(f.config, stderr)
	if !ok {
		return 1
	}
	p, found := cfg.Provider(name)
	if !found {
		var names []string
		for _, p := range cfg.Providers {
			names = append(names, p.Name)
		}
		fmt.Fprintf(stderr, "ccbalancer models: no provider %q in %s (providers: %v)\n", name, cfg.Path, names)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ids, err := proxy.ListModels(ctx, p, cfg.Settings)
	if err != nil {
		fmt.Fprintf(stderr, "ccbalancer models: %v\n", err)
		return 1
	}
	for _, id := range ids {
		fmt.Fprintln(stdout, id)
	}
	return 0
}
