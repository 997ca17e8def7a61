package proxy

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/ccbalancer/ccbalancer/config"
	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
	"github.com/ccbalancer/ccbalancer/proxy/route"
)

// profileHeader names a profile for one request, as an alternative to the
// URL prefix /p/NAME (Claude Code sends it with
// ANTHROPIC_CUSTOM_HEADERS="x-ccbalancer-profile: NAME").
const profileHeader = "X-Ccbalancer-Profile"

// profilePrefix starts a URL path that names a profile: /p/NAME/v1/messages.
const profilePrefix = "/p/"

// routing is one routing table with the settings that apply to its
// requests: the top level's, or a profile's. It is part of the immutable
// state, swapped whole on reload.
type routing struct {
	// profile is the profile's name; "" for the top level.
	profile  string
	table    *route.Table
	strategy config.Strategy
	set      config.Settings
}

func newRouting(profile string, routes []config.Route, set config.Settings) *routing {
	rt := &routing{profile: profile, table: route.NewTable(routes, set.DefaultRoute), strategy: set.SelectionStrategy, set: set}
	if rt.strategy == "" {
		rt.strategy = config.StrategyPriority
	}
	return rt
}

// routingFor finds the routing a request names, by URL prefix or header,
// and the path it asks for under the prefix. An unknown profile gets an
// error that names the known ones; ok is then false. It is a 404, but for
// the messages endpoint a 400: Claude Code replaces the message of any 404
// on it with its own "issue with the selected model" text
// (docs/claude-code-errors.md), and this message says the fix.
func (s *Server) routingFor(w http.ResponseWriter, r *http.Request, st *state) (rt *routing, path string, ok bool) {
	path = r.URL.Path
	name, named := "", false
	// The URL wins over the header: a terminal's ANTHROPIC_CUSTOM_HEADERS
	// may be set for every project, the URL for this one.
	if rest, found := strings.CutPrefix(path, profilePrefix); found {
		name, path, _ = strings.Cut(rest, "/")
		path, named = "/"+path, true
	} else if h := strings.TrimSpace(r.Header.Get(profileHeader)); h != "" {
		name, named = h, true
	}
	if !named {
		return st.top, path, true
	}
	if rt := st.profiles[name]; rt != nil {
		return rt, path, true
	}
	// An unknown name, or an empty one (/p//v1/messages).
	known := make([]string, 0, len(st.profiles))
	for n := range st.profiles {
		known = append(known, n)
	}
	sort.Strings(known)
	msg := fmt.Sprintf("no profile %q in %s", name, configName(st.cfg))
	if len(known) == 0 {
		msg += ": it has no profiles"
	} else {
		msg += ": known profiles are " + strings.Join(known, ", ")
	}
	if path == "/v1/messages" {
		anthropic.WriteError(w, http.StatusBadRequest, anthropic.ErrInvalidRequest, msg)
	} else {
		anthropic.WriteError(w, http.StatusNotFound, anthropic.ErrNotFound, msg)
	}
	return nil, "", false
}

// underPath returns r as a handler under the profile prefix sees it: the
// same request with the path after /p/NAME.
func underPath(r *http.Request, path string) *http.Request {
	if r.URL.Path == path {
		return r
	}
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path, u.RawPath = path, ""
	r2.URL = &u
	return r2
}
