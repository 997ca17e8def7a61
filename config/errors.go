package config

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem found in a config file.
type Error struct {
	File  string
	Line  int    // 1-based; 0 when the problem has no single line
	Field string // path of the offending key, e.g. providers[1].base_url; may be ""
	Msg   string
}

// Error formats the problem as "file:line: field: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one config file. Parse and Load return it
// (as *Errors) so that a user fixes the whole file in one go rather than one
// line per run.
type Errors struct {
	List []Error
}

// Error joins the problems, one per line, in file order.
func (e *Errors) Error() string {
	lines := make([]string, len(e.List))
	for i := range e.List {
		lines[i] = e.List[i].Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes each problem to errors.As and errors.Is.
func (e *Errors) Unwrap() []error {
	errs := make([]error, len(e.List))
	for i := range e.List {
		errs[i] = &e.List[i]
	}
	return errs
}

// sortErrors orders problems by line; cross-checks run after the walk and
// would otherwise be listed out of file order.
func sortErrors(list []Error) {
	sort.SliceStable(list, func(i, j int) bool { return list[i].Line < list[j].Line })
}
