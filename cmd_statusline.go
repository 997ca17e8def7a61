package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy"
)

// statuslineTimeout bounds the whole question to the proxy: Claude Code
// runs the command after every message, and a status line must never hold
// it up.
const statuslineTimeout = 300 * time.Millisecond

// claudeStatus is the part of the JSON Claude Code passes to a status-line
// command on stdin that the line uses (code.claude.com/docs/en/statusline).
type claudeStatus struct {
	SessionID string `json:"session_id"`
	Model     struct {
		DisplayName string `json:"display_name"`
	} `json:"model"`
	Cost struct {
		TotalCostUSD *float64 `json:"total_cost_usd"`
	} `json:"cost"`
}

// runStatusline is `ccbalancer statusline`: it reads Claude Code's
// status-line JSON, asks the running proxy which provider serves the
// session, and prints one short line. It always exits 0: a status line
// that fails shows nothing useful either way.
func runStatusline(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ccbalancer statusline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFlag := fs.String("config", "", "configuration file (for the listen address)")
	base := fs.String("url", os.Getenv("CCBALANCER_URL"), "the proxy's base URL (default: from the configuration)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var in claudeStatus
	_ = json.NewDecoder(io.LimitReader(stdin, 1<<20)).Decode(&in)
	if *base == "" {
		*base = "http://127.0.0.1:8080"
		if path, _, err := config.Discover(*cfgFlag); err == nil {
			if addr, err := config.ListenOf(path); err == nil {
				*base = "http://" + addr
			}
		}
	}
	fmt.Fprintln(stdout, statusline(strings.TrimRight(*base, "/"), in))
	return 0
}

// statusline asks the proxy at base about the session and says it in one
// line: "⇄ DeepSeek · healthy · 5h window 40% used · $0.42 today".
func statusline(base string, in claudeStatus) string {
	client := &http.Client{Timeout: statuslineTimeout, Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Get(base + "/session?id=" + url.QueryEscape(in.SessionID))
	if err != nil {
		return "⇄ ccbalancer not running"
	}
	defer resp.Body.Close()
	var st proxy.SessionStatus
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&st) != nil {
		return "⇄ ccbalancer: no answer (HTTP " + fmt.Sprint(resp.StatusCode) + ")"
	}
	parts := []string{}
	if st.Provider == "" {
		parts = append(parts, fmt.Sprintf("⇄ ccbalancer · %d/%d providers healthy", st.Healthy, st.Enabled))
	} else {
		name := st.Provider
		if st.Key > 0 {
			name += fmt.Sprintf(" key %d", st.Key)
		}
		parts = append(parts, "⇄ "+name, st.StateText)
		if st.QuotaText != "" {
			parts = append(parts, st.QuotaText)
		}
	}
	switch {
	case st.CostTodayUSD != nil:
		parts = append(parts, fmt.Sprintf("$%.2f today", *st.CostTodayUSD))
	case in.Cost.TotalCostUSD != nil:
		parts = append(parts, fmt.Sprintf("$%.2f session", *in.Cost.TotalCostUSD))
	}
	return strings.Join(parts, " · ")
}
