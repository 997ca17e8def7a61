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
	mu         sync.Mutex
	day, month string // keys of the current windows
	prov       map[string]*windows
	all        windows
}

func keys(t time.Time, loc *time.Location) (day, month string) {
	t = t.In(loc)
	return t.Format(time.DateOnly), t.Format("2006-01")
}

// rollLocked starts new windows when the clock has left the current ones.
func (t *totals) rollLocked(l *Ledger) {
	day, month := keys(l.opts.Now(), l.opts.Location)
	if day == t.day && month == t.month {
		return
	}
	for _, w := range t.all.each(t.prov) {
		if day != t.day {
			w.day = Totals{}
		}
		if month != t.month {
			w.month = Totals{}
		}
	}
	t.day, t.month = day, month
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
	day, month := keys(r.Time, l.opts.Location)
	ws := []*windows{&t.all}
	if r.Provider != "" {
		ws = append(ws, t.get(r.Provider))
	}
	for _, w := range ws {
		w.life.add(r)
		if day == t.day {
			w.day.add(r)
		}
		if month == t.month {
			w.month.add(r)
		}
	}
}

// load reads the current month's records (and so the day's) from the
// database.
func (t *totals) load(l *Ledger) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rollLocked(l)
	now := l.opts.Now().In(l.opts.Location)
	monthStart := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, l.opts.Location)
	rows, err := l.db.Query(`SELECT provider, day, COUNT(*), SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens),
		SUM(cache_write_tokens), COALESCE(SUM(cost_usd), 0) FROM requests WHERE time >= ? GROUP BY 1, 2`, monthStart.UnixNano())
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
			if day == t.day {
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
	now := l.opts.Now().In(l.opts.Location)
	dayEnd = time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, l.opts.Location)
	monthEnd = time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, l.opts.Location)
	return dayEnd, monthEnd
}
