package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/logging"
	"github.com/ccbalancer/ccbalancer/proxy"
	ledger "github.com/ccbalancer/ccbalancer/proxy/usage"
)

// usagePath is where the usage ledger of a configuration lives: usage_db,
// relative to the user's state directory, "usage.db" there by default;
// "" when usage_db is off.
func usagePath(set config.Settings) (string, error) {
	name := set.UsageDB
	switch name {
	case config.UsageOff:
		return "", nil
	case "":
		name = "usage.db"
	}
	path, err := logging.ResolveFile(name)
	if err != nil {
		return "", fmt.Errorf("finding the usage ledger: %w", err)
	}
	return path, nil
}

// runUsage is `ccbalancer usage [--config F] [--since 24h] [--by provider|model|day]`:
// the ledger's table, read from its database (the proxy need not run).
func runUsage(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ccbalancer usage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFlag := fs.String("config", "", "configuration file (its usage_db is read)")
	since := fs.String("since", "24h", "how far back: a duration such as 24h or 90m, or days such as 7d")
	by := fs.String("by", "provider", "group by provider, model or day")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ccbalancer usage: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if _, err := ledger.ParseSince(*since); err != nil {
		fmt.Fprintf(stderr, "ccbalancer usage: --%v\n", err)
		return 2
	}
	switch ledger.By(*by) {
	case ledger.ByProvider, ledger.ByModel, ledger.ByDay:
	default:
		fmt.Fprintf(stderr, "ccbalancer usage: --by %q: want provider, model or day\n", *by)
		return 2
	}
	// The ledger is read without the providers' keys: they need not be set.
	cfg, ok := loadConfigFrom(*configFlag, stderr, keyless)
	if !ok {
		return 1
	}
	path, err := usagePath(cfg.Settings)
	if err == nil && path == "" {
		err = errors.New("the usage ledger is off (settings.usage_db: off)")
	}
	if err != nil {
		fmt.Fprintf(stderr, "ccbalancer usage: %v\n", err)
		return 1
	}
	l, err := ledger.Open(path, ledger.Options{Retention: cfg.Settings.UsageRetention})
	if err != nil {
		fmt.Fprintf(stderr, "ccbalancer usage: %v\n", err)
		return 1
	}
	defer l.Close()
	rep, err := proxy.Report(context.Background(), l, time.Now(), *since, *by)
	if err != nil {
		fmt.Fprintf(stderr, "ccbalancer usage: %v\n", err)
		return 1
	}
	printUsage(stdout, rep, path)
	return 0
}

// printUsage writes the report as a table.
func printUsage(w io.Writer, rep proxy.UsageReport, path string) {
	fmt.Fprintf(w, "usage since %s, by %s (%s)\n\n", rep.Since.Local().Format("2006-01-02 15:04"), rep.By, path)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\trequests\terrors\tinput\toutput\tcache read\tcache write\tcost USD\t\n", rep.By)
	row := func(r ledger.Row) {
		key := r.Key
		if key == "" {
			key = "(none)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%.4f\t\n", key, r.Requests, r.Errors, r.Input, r.Output, r.CacheRead, r.CacheWrite, r.CostUSD)
	}
	for _, r := range rep.Rows {
		row(r)
	}
	row(rep.Total)
	tw.Flush()
}
