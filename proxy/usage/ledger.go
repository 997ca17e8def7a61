// Package usage is the usage ledger: every answered request with its
// tokens, timings and cost, stored in an embedded SQLite database (through
// modernc.org/sqlite, a pure-Go driver, so builds stay free of cgo) that
// survives restarts and keeps records for a bounded time. Writes happen on
// the ledger's own goroutine, off the request path; the running totals that
// budgets, the tray and /metrics read are kept in memory.
package usage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/ccbalancer/ccbalancer/config"
)

// Tokens counts an answer's tokens as the Messages API's usage does: Input
// excludes the cached tokens, which are counted apart.
type Tokens struct {
	Input, Output, CacheRead, CacheWrite int64
}

// Total is every token of the answer.
func (t Tokens) Total() int64 { return t.Input + t.Output + t.CacheRead + t.CacheWrite }

func (t *Tokens) add(u Tokens) {
	t.Input += u.Input
	t.Output += u.Output
	t.CacheRead += u.CacheRead
	t.CacheWrite += u.CacheWrite
}

// Cost prices t at p (US dollars per million tokens of each kind).
func Cost(t Tokens, p config.Prices) float64 {
	return (float64(t.Input)*p.Input + float64(t.Output)*p.Output +
		float64(t.CacheRead)*p.CacheRead + float64(t.CacheWrite)*p.CacheWrite) / 1e6
}

// Record is one answered request.
type Record struct {
	Time time.Time
	// Route is the pattern of the route that matched the model asked.
	Route string
	// Provider answered the request; "" when none did (every provider
	// failed or was skipped).
	Provider   string
	ModelAsked string
	// ModelSent is the model the provider was asked for.
	ModelSent string
	Stream    bool
	// Status is the HTTP status the client got; Error says why the answer
	// is not a complete one ("" when it is).
	Status int
	Error  string
	Tokens
	// TTFB is the time to the answer's first byte to the client; Took the
	// time to its end.
	TTFB, Took time.Duration
	// Cost in US dollars, when Priced (the provider or route entry has
	// prices).
	Cost   float64
	Priced bool
}

// Options configure a Ledger.
type Options struct {
	// Retention is how long records are kept (default 90 days).
	Retention time.Duration
	// Now is the clock (default time.Now); Location the time zone of days
	// and months (default time.Local).
	Now      func() time.Time
	Location *time.Location
	Logger   *slog.Logger
}

// queueSize bounds the records waiting to be written; past it a record is
// dropped from the database (never from the running totals), and a warning
// says so.
const queueSize = 8192

// Ledger is the usage ledger. It is safe for concurrent use.
type Ledger struct {
	db   *sql.DB
	opts Options
	log  *slog.Logger

	queue   chan item
	done    chan struct{}
	closeMu sync.RWMutex
	closed  bool
	dropped atomic.Int64

	totals totals

	insertMany, insertOne *sql.Stmt
}

// item is a record to write, or (flush set) a request to report when every
// record before it is written.
type item struct {
	rec   Record
	flush chan struct{}
}

// Open opens (creating if needed) the ledger at path, ":memory:" for one
// that lives only as long as the process. It removes records older than
// the retention and loads the current day's and month's totals.
func Open(path string, opts Options) (*Ledger, error) {
	if opts.Retention <= 0 {
		opts.Retention = config.Defaults().UsageRetention
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Location == nil {
		opts.Location = time.Local
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	dsn := "file::memory:"
	if path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("usage ledger %s: %w", path, err)
		}
		dsn = "file:" + (&url.URL{Path: path}).EscapedPath() +
			"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("usage ledger %s: %w", path, err)
	}
	// One connection: writes are serialised anyway, and an in-memory
	// database exists once per connection.
	db.SetMaxOpenConns(1)
	l := &Ledger{db: db, opts: opts, log: opts.Logger, queue: make(chan item, queueSize), done: make(chan struct{})}
	if err := l.init(); err != nil {
		db.Close()
		return nil, fmt.Errorf("usage ledger %s: %w", path, err)
	}
	if path != ":memory:" {
		_ = os.Chmod(path, 0o600) // it names the models and providers used
	}
	go l.write()
	return l, nil
}

const schema = `
CREATE TABLE IF NOT EXISTS requests (
	time INTEGER NOT NULL,          -- Unix nanoseconds
	day TEXT NOT NULL,              -- local date, YYYY-MM-DD
	route TEXT NOT NULL,
	provider TEXT NOT NULL,
	model_asked TEXT NOT NULL,
	model_sent TEXT NOT NULL,
	stream INTEGER NOT NULL,
	status INTEGER NOT NULL,
	error TEXT NOT NULL,
	input_tokens INTEGER NOT NULL,
	output_tokens INTEGER NOT NULL,
	cache_read_tokens INTEGER NOT NULL,
	cache_write_tokens INTEGER NOT NULL,
	ttfb_ms REAL NOT NULL,
	total_ms REAL NOT NULL,
	cost_usd REAL                   -- NULL when not priced
);
`

// The table has no index on time: rows arrive in time order, reports and
// the hourly pruning scan at most the retention's rows (31 ms for 300,000),
// and an index would cost every insert a third more CPU (BenchmarkLedger).

func (l *Ledger) init() error {
	if _, err := l.db.Exec(schema); err != nil {
		return fmt.Errorf("creating the schema: %w", err)
	}
	if err := l.prune(); err != nil {
		return err
	}
	if err := l.prepare(); err != nil {
		return err
	}
	return l.totals.load(l)
}

// prune removes the records older than the retention.
func (l *Ledger) prune() error {
	cut := l.opts.Now().Add(-l.opts.Retention).UnixNano()
	if _, err := l.db.Exec(`DELETE FROM requests WHERE time < ?`, cut); err != nil {
		return fmt.Errorf("removing old records: %w", err)
	}
	return nil
}

// Add records r: its totals at once, its row on the ledger's goroutine.
// It never blocks; a record that finds the queue full is kept out of the
// database only.
func (l *Ledger) Add(r Record) {
	l.totals.add(l, r)
	l.closeMu.RLock()
	defer l.closeMu.RUnlock()
	if l.closed {
		return
	}
	select {
	case l.queue <- item{rec: r}:
	default:
		if l.dropped.Add(1) == 1 {
			l.log.Warn("usage ledger falling behind; records are kept in the totals but not written", slog.Int("queue", queueSize))
		}
	}
}

// Flush waits until every record added before it is written.
func (l *Ledger) Flush() {
	ch := make(chan struct{})
	l.closeMu.RLock()
	if l.closed {
		l.closeMu.RUnlock()
		return
	}
	l.queue <- item{flush: ch}
	l.closeMu.RUnlock()
	<-ch
}

// Close writes what is queued and closes the database.
func (l *Ledger) Close() error {
	l.closeMu.Lock()
	if l.closed {
		l.closeMu.Unlock()
		return nil
	}
	l.closed = true
	close(l.queue)
	l.closeMu.Unlock()
	<-l.done
	l.insertMany.Close()
	l.insertOne.Close()
	return l.db.Close()
}

// flushEvery is how long a record may wait before it is written: records
// are written together, one transaction per batch, so that a busy proxy
// spends one commit on many requests and an idle one on few. The running
// totals do not wait; Flush and Close write at once.
const flushEvery = time.Second

// maxBatch bounds the records of one transaction.
const maxBatch = 1024

// write stores queued records in batches, one transaction each, and prunes
// old records every hour.
func (l *Ledger) write() {
	defer close(l.done)
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	timer := time.NewTimer(flushEvery)
	timer.Stop()
	defer timer.Stop()
	var batch []Record
	store := func() {
		timer.Stop()
		l.store(batch)
		batch = batch[:0]
	}
	for {
		select {
		case it, ok := <-l.queue:
			switch {
			case !ok:
				store()
				return
			case it.flush != nil:
				store()
				close(it.flush)
			default:
				batch = append(batch, it.rec)
				if len(batch) == 1 {
					timer.Reset(flushEvery)
				}
				if len(batch) >= maxBatch {
					store()
				}
			}
		case <-timer.C:
			store()
		case <-prune.C:
			if err := l.prune(); err != nil {
				l.log.Warn("usage ledger", slog.Any("err", err))
			}
		}
	}
}

// store writes a batch in one transaction.
func (l *Ledger) store(batch []Record) {
	if len(batch) == 0 {
		return
	}
	if err := l.insert(batch); err != nil {
		l.log.Error("usage ledger: records not written", slog.Int("records", len(batch)), slog.Any("err", err))
	}
}

// rowsPerInsert is how many records one INSERT statement carries: one
// statement per row would cost the driver's overhead per row.
const rowsPerInsert = 64

const insertHead = `INSERT INTO requests (time, day, route, provider, model_asked, model_sent, stream, status, error,
	input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, ttfb_ms, total_ms, cost_usd) VALUES `

const insertRow = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

// prepare prepares the INSERT statements: one for rowsPerInsert rows, one
// for a single row (a batch's remainder).
func (l *Ledger) prepare() error {
	var err error
	if l.insertMany, err = l.db.Prepare(insertHead + insertRow + strings.Repeat(", "+insertRow, rowsPerInsert-1)); err != nil {
		return fmt.Errorf("preparing the insert: %w", err)
	}
	if l.insertOne, err = l.db.Prepare(insertHead + insertRow); err != nil {
		return fmt.Errorf("preparing the insert: %w", err)
	}
	return nil
}

func (l *Ledger) insert(batch []Record) error {
	tx, err := l.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	many, one := tx.Stmt(l.insertMany), tx.Stmt(l.insertOne)
	defer many.Close()
	defer one.Close()
	args := make([]any, 0, 16*rowsPerInsert)
	for len(batch) > 0 {
		st, n := one, 1
		if len(batch) >= rowsPerInsert {
			st, n = many, rowsPerInsert
		}
		args = args[:0]
		for _, r := range batch[:n] {
			var cost any
			if r.Priced {
				cost = r.Cost
			}
			args = append(args, r.Time.UnixNano(), r.Time.In(l.opts.Location).Format(time.DateOnly), r.Route, r.Provider,
				r.ModelAsked, r.ModelSent, r.Stream, r.Status, r.Error, r.Input, r.Output, r.CacheRead, r.CacheWrite,
				ms(r.TTFB), ms(r.Took), cost)
		}
		if _, err := st.Exec(args...); err != nil {
			return err
		}
		batch = batch[n:]
	}
	return tx.Commit()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// errBy is returned by Summary for an unknown grouping.
var errBy = errors.New(`group by "provider", "model" or "day"`)

// By says how Summary groups records.
type By string

// Groupings.
const (
	ByProvider By = "provider"
	ByModel    By = "model"
	ByDay      By = "day"
)

// Row is a group of records.
type Row struct {
	// Key is the provider ("" for requests no provider answered), the
	// model sent, or the local day.
	Key      string `json:"key"`
	Requests int64  `json:"requests"`
	// Errors counts the requests without a complete answer.
	Errors     int64   `json:"errors"`
	Input      int64   `json:"input_tokens"`
	Output     int64   `json:"output_tokens"`
	CacheRead  int64   `json:"cache_read_tokens"`
	CacheWrite int64   `json:"cache_write_tokens"`
	CostUSD    float64 `json:"cost_usd"`
}

// Summary groups the records since the given time; records still queued
// are written first.
func (l *Ledger) Summary(ctx context.Context, since time.Time, by By) ([]Row, error) {
	// By model: the model sent, or for a request no provider answered the
	// model asked.
	col := map[By]string{ByProvider: "provider", ByModel: "COALESCE(NULLIF(model_sent, ''), model_asked)", ByDay: "day"}[by]
	if col == "" {
		return nil, errBy
	}
	l.Flush()
	rows, err := l.db.QueryContext(ctx, `SELECT `+col+`, COUNT(*), SUM(error != ''), SUM(input_tokens), SUM(output_tokens),
		SUM(cache_read_tokens), SUM(cache_write_tokens), COALESCE(SUM(cost_usd), 0)
		FROM requests WHERE time >= ? GROUP BY 1 ORDER BY 1`, since.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("reading the usage ledger: %w", err)
	}
	defer rows.Close()
	out := []Row{}
	for rows.Next() {
		var r Row
		if err := rows.Scan(&r.Key, &r.Requests, &r.Errors, &r.Input, &r.Output, &r.CacheRead, &r.CacheWrite, &r.CostUSD); err != nil {
			return nil, fmt.Errorf("reading the usage ledger: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the usage ledger: %w", err)
	}
	return out, nil
}

// ParseSince reads how far back a report goes: a Go duration ("24h",
// "90m") or a number of days ("7d").
func ParseSince(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("since %q: want a duration such as 24h, 90m or 7d", s)
	}
	return d, nil
}
