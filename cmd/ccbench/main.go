// Command ccbench measures ccbalancer against calling the upstream directly and
// against a bare net/http/httputil.ReverseProxy, each in its own process.
//
//	ccbench upstream --listen 127.0.0.1:0 [--events 20 --gap 1ms]   fake Anthropic API
//	ccbench bare --listen 127.0.0.1:0 --upstream http://HOST:PORT   reference proxy
//	ccbench run [-quick] [flags]                                     the whole comparison
//	ccbench soak [-duration 10m] [flags]                             faults, reloads, abusive clients
//
// `run` starts the other parts as child processes, builds ccbalancer from the
// repository (or takes -ccbalancer), runs closed-loop load against DIRECT, BARE and
// CCBALANCER in alternation and prints Markdown tables.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "upstream":
		err = cmdUpstream(os.Args[2:])
	case "bare":
		err = cmdBare(os.Args[2:])
	case "run":
		err = cmdRun(os.Args[2:])
	case "soak":
		err = cmdSoak(os.Args[2:])
	case "-h", "--help", "help":
		usage()
		return
	default:
		usage()
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ccbench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  ccbench upstream --listen ADDR [--events N --gap D]
  ccbench bare --listen ADDR --upstream URL [--full-duplex] [--buffer-body] [--validate]
  ccbench run [-quick] [flags]   (ccbench run -h lists them)
  ccbench soak [-duration 10m] [flags]   faults, reloads and abusive clients (ccbench soak -h)
`)
}

func cmdUpstream(args []string) error {
	fs := flag.NewFlagSet("upstream", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	events := fs.Int("events", 20, "default number of text deltas per stream (header "+headerEvents+" overrides)")
	gap := fs.Duration("gap", time.Millisecond, "default pause between deltas (header "+headerGap+" overrides)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return serve(*listen, &upstream{events: *events, gap: *gap})
}

func cmdBare(args []string) error {
	fs := flag.NewFlagSet("bare", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	up := fs.String("upstream", "", "upstream base URL")
	var o bareOptions
	fs.BoolVar(&o.FullDuplex, "full-duplex", false, "enable HTTP/1 full duplex on each request")
	fs.BoolVar(&o.BufferBody, "buffer-body", false, "read the whole request body before forwarding it")
	fs.BoolVar(&o.Validate, "validate", false, "read the whole request body and refuse malformed JSON before forwarding it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*up)
	if err != nil || u.Host == "" {
		return fmt.Errorf("bare: --upstream %q is not a URL", *up)
	}
	return serve(*listen, newBare(u, o))
}

// serve listens, prints "ready ADDR" on stdout for the parent, and serves until
// SIGINT or SIGTERM.
func serve(listen string, h http.Handler) error {
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", listen, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	fmt.Printf("ready %s\n", l.Addr())
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return nil
}
