package usage

import (
	"fmt"
	"sync"
	"time"
)

// Totals count a window's records.
type Totals struct {
	Requests int64
	Tokens
	// CostUSD sums the priced records.
	CostUSD float64
}

func (t *Totals) add(r Record) {
	t.Requests++
	t.Tokens.add(r.Tokens)
	if r.Priced {
		t.CostUSD += r.Cost
	}
}

// windows are one provider's (or everyone's) totals of the current local
// day and month, and since the ledger was opened.
type windows struct {
	day, month, life Totals
}

// totals keeps the running totals in memory. Day and month are those of
// the ledger's clock and location; they roll over on the first use in a
// new one.
type totals struct {
	mu sync.Mutex
	// The current windows: [dayStart, dayEnd) and [monthStart, monthEnd).
	dayStart, dayEnd, monthStart, monthEnd time.Time
	prov                                   map[string]*windows
	all                                    windows
}

// rollLocked starts new windows when the clock has left the current ones.
func (t *totals) rollLocked(l *Ledger) {
	now := l.opts.Now()
	if !now.Before(t.dayStart) && now.Before(t.dayEnd) {
		return
	}
	n := now.In(l.opts.Location)
	dayStart := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, l.opts.Location)
	monthStart := time.Date(n.Year(), n.Month(), 1, 0, 0, 0, 0, l.opts.Location)
	newMonth := !monthStart.Equal(t.monthStart)
	for _, w := range t.all.each(t.prov) {
		w.day = Totals{}
		if newMonth {
			w.month = Totals{}
		}
	}
	t.dayStart, t.dayEnd = dayStart, dayStart.AddDate(0, 0, 1)
	t.monthStart, t.monthEnd = monthStart, monthStart.AddDate(0, 1, 0)
}

// each lists w and every provider's windows.
func (w *windows) each(prov map[string]*windows) []*windows {
	out := []*windows{w}
	for _, p := range prov {
		out = append(out, p)
	}
	return out
}

func (t *totals) get(provider string) *windows {
	if t.prov == nil {
		t.prov = map[string]*windows{}
	}
	w := t.prov[provider]
	if w == nil {
		w = &windows{}
		t.prov[provider] = w
	}
	return w
}

func (t *totals) add(l *Ledger, r Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rollLocked(l)
	inDay := !r.Time.Before(t.dayStart) && r.Time.Before(t.dayEnd)
	inMonth := !r.Time.Before(t.monthStart) && r.Time.Before(t.monthEnd)
	t.addLocked(&t.all, r, inDay, inMonth)
	if r.Provider != "" {
		t.addLocked(t.get(r.Provider), r, inDay, inMonth)
	}
}

func (t *totals) addLocked(w *windows, r Record, inDay, inMonth bool) {
	w.life.add(r)
	if inDay {
		w.day.add(r)
	}
	if inMonth {
		w.month.add(r)
	}
}

// load reads the current month's records (and so the day's) from the
// database.
func (t *totals) load(l *Ledger) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rollLocked(l)
	today := t.dayStart.Format(time.DateOnly)
	rows, err := l.db.Query(`SELECT provider, day, COUNT(*), SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens),
		SUM(cache_write_tokens), COALESCE(SUM(cost_usd), 0) FROM requests WHERE time >= ? GROUP BY 1, 2`, t.monthStart.UnixNano())
	if err != nil {
		return fmt.Errorf("reading this month's totals: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var provider, day string
		var tot Totals
		if err := rows.Scan(&provider, &day, &tot.Requests, &tot.Input, &tot.Output, &tot.CacheRead, &tot.CacheWrite, &tot.CostUSD); err != nil {
			return fmt.Errorf("reading this month's totals: %w", err)
		}
		ws := []*windows{&t.all}
		if provider != "" {
			ws = append(ws, t.get(provider))
		}
		for _, w := range ws {
			w.month.merge(tot)
			if day == today {
				w.day.merge(tot)
			}
		}
	}
	return rows.Err()
}

func (t *Totals) merge(u Totals) {
	t.Requests += u.Requests
	t.Tokens.add(u.Tokens)
	t.CostUSD += u.CostUSD
}

// Totals returns a provider's totals for the current local day and month,
// and since the ledger was opened.
func (l *Ledger) Totals(provider string) (day, month, life Totals) {
	l.totals.mu.Lock()
	defer l.totals.mu.Unlock()
	l.totals.rollLocked(l)
	if w := l.totals.prov[provider]; w != nil {
		return w.day, w.month, w.life
	}
	return Totals{}, Totals{}, Totals{}
}

// Overall returns every request's totals for the current local day and
// month, and since the ledger was opened.
func (l *Ledger) Overall() (day, month, life Totals) {
	l.totals.mu.Lock()
	defer l.totals.mu.Unlock()
	l.totals.rollLocked(l)
	return l.totals.all.day, l.totals.all.month, l.totals.all.life
}

// Windows returns when the current local day and month end.
func (l *Ledger) Windows() (dayEnd, monthEnd time.Time) {
	l.totals.mu.Lock()
	defer l.totals.mu.Unlock()
	l.totals.rollLocked(l)
	return l.totals.dayEnd, l.totals.monthEnd
}
