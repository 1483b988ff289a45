package imports

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/pageurl"
	"github.com/websystems/loendur/internal/privacy"
	"github.com/websystems/loendur/internal/referrer"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/useragent"
)

// Error is a bad input: the file, the line (1 = the first) and the column where it is,
// and what is wrong. Nothing of an import that fails so is written.
type Error struct {
	File   string
	Line   int64
	Column string // a column name or number; "" when the whole line or file is wrong
	Msg    string
}

func (e *Error) Error() string {
	switch {
	case e.Line == 0:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	case e.Column == "":
		return fmt.Sprintf("%s: line %d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: line %d, column %s: %s", e.File, e.Line, e.Column, e.Msg)
}

// format reads a file of one source; with w == nil it only checks (pass 1).
type format interface {
	read(ctx context.Context, r *run, w *writer) (summary, error)
}

// summary is what a pass saw: rows and the first and last day.
type summary struct {
	rows        uint64
	first, last time.Time
}

func (s *summary) add(day time.Time) {
	day = day.UTC().Truncate(24 * time.Hour)
	if s.rows == 0 || day.Before(s.first) {
		s.first = day
	}
	if s.rows == 0 || day.After(s.last) {
		s.last = day
	}
	s.rows++
}

// run is the state of one import across its two passes.
type run struct {
	im   *Importer
	site string
	file File
	rec  *Record
	// keys are the keys of the visitor hashes per UTC day (Unix days): the day's salt
	// while it is kept, else random bytes that exist only for this import.
	keys     map[int64][]byte
	sessions map[uint64]openSession // GoatCounter: each visitor's visit in progress
	counter  uint64                 // events made so far: the low bits of their ids
	pages    *pageurl.Parser
	refs     *referrer.Parser
	agents   *useragent.Parser
}

type openSession struct {
	id   uint64
	last time.Time
}

// resetState starts pass 2 where pass 1 started, so both make the same events.
func (r *run) resetState() {
	r.sessions, r.counter = nil, 0
}

func (r *run) key(t time.Time) []byte {
	day := t.Unix() / 86400
	if k, ok := r.keys[day]; ok {
		return k
	}
	var k []byte
	if r.im.salt != nil {
		k = r.im.salt(t)
	}
	if k == nil {
		var err error
		if k, err = privacy.NewSalt(); err != nil {
			panic(err) // crypto/rand does not fail on supported systems
		}
	}
	r.keys[day] = k
	return k
}

// visitor is the visitor id that source's own id becomes on t's day.
func (r *run) visitor(t time.Time, kind, id string) uint64 {
	return privacy.ImportedID(r.key(t), r.site, kind, id)
}

// nextID is the next event's id: the import's id in the first 6 bytes (so an import's
// events can be found and deleted), a counter in the rest, version 8 (custom) UUID.
func (r *run) nextID() uuid.UUID {
	r.counter++
	var id uuid.UUID
	var head [8]byte
	binary.BigEndian.PutUint64(head[:], r.rec.ID)
	copy(id[:6], head[2:])
	id[6] = 0x80
	binary.BigEndian.PutUint64(id[8:], r.counter)
	id[8] = 0x80 | id[8]&0x3f
	return id
}

// sessionOf gives a visitor's session for a hit at t from a time-ordered stream: a
// visit ends after privacy.SessionTimeout without a hit, as in the collector.
func (r *run) sessionOf(visitor uint64, t time.Time) uint64 {
	if r.sessions == nil {
		r.sessions = map[uint64]openSession{}
	}
	s, ok := r.sessions[visitor]
	if !ok || t.Sub(s.last) > privacy.SessionTimeout {
		s.id = privacy.SessionID(visitor, t)
	}
	if t.After(s.last) {
		s.last = t
	}
	r.sessions[visitor] = s
	// Visits ended long ago are forgotten, so memory follows the visitors of the hour.
	if len(r.sessions) > 100_000 {
		for v, o := range r.sessions {
			if t.Sub(o.last) > privacy.SessionTimeout {
				delete(r.sessions, v)
			}
		}
	}
	return s.id
}

func (r *run) parsers() {
	if r.pages == nil {
		r.pages, r.refs, r.agents = pageurl.NewParser(10_000), referrer.NewParser(10_000), useragent.NewParser(10_000)
	}
}

// writer writes the rows of pass 2 in batches.
type writer struct {
	im     *Importer
	rec    *Record
	events []store.Event
	aggs   map[string][][]any // table → rows
	days   map[string]bool    // UTC days of the events written
	total  uint64
}

func newWriter(im *Importer, rec *Record) *writer {
	return &writer{im: im, rec: rec, aggs: map[string][][]any{}, days: map[string]bool{}}
}

func (w *writer) event(ctx context.Context, e store.Event) error {
	w.events = append(w.events, e)
	w.days[e.Timestamp.UTC().Format(time.DateOnly)] = true
	if len(w.events) >= w.im.batch {
		return w.flushEvents(ctx)
	}
	return nil
}

func (w *writer) aggregate(ctx context.Context, t aggregateTable, row []any) error {
	name := t.table()
	w.aggs[name] = append(w.aggs[name], row)
	if len(w.aggs[name]) >= w.im.batch {
		return w.flushTable(ctx, t)
	}
	return nil
}

func (w *writer) flushEvents(ctx context.Context) error {
	if len(w.events) == 0 {
		return nil
	}
	if err := store.InsertEvents(ctx, w.im.db, w.events); err != nil {
		return fmt.Errorf("insert events: %w", err)
	}
	w.total += uint64(len(w.events))
	w.events = w.events[:0]
	return nil
}

func (w *writer) flushTable(ctx context.Context, t aggregateTable) error {
	rows := w.aggs[t.table()]
	if len(rows) == 0 {
		return nil
	}
	if err := w.im.db.Insert(ctx, t.table(), t.columns(), rows); err != nil {
		return fmt.Errorf("insert into %s: %w", t.table(), err)
	}
	w.total += uint64(len(rows))
	w.aggs[t.table()] = rows[:0]
	return nil
}

func (w *writer) flush(ctx context.Context) error {
	if err := w.flushEvents(ctx); err != nil {
		return err
	}
	for _, t := range aggregateTables {
		if err := w.flushTable(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

func sortedDays(days map[string]bool) []string { return slices.Sorted(maps.Keys(days)) }

// progress reports rows every so often.
// take counts an event that is kept: in the first pass only its day; in the second
// (w set) it is also written.
func (r *run) take(ctx context.Context, w *writer, sum *summary, e store.Event) error {
	sum.add(e.Timestamp)
	r.progress(w != nil, sum.rows)
	if w == nil {
		return nil
	}
	return w.event(ctx, e)
}

func (r *run) progress(pass2 bool, rows uint64) {
	if r.file.Progress == nil || rows%1000 != 0 {
		return
	}
	stage := "checking"
	if pass2 {
		stage = "writing"
	}
	r.file.Progress(stage, rows)
}

// openText opens a file that may be gzipped (by its magic bytes).
func openText(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open import file: %w", err)
	}
	br := bufio.NewReaderSize(f, 256<<10)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, err
		}
		return struct {
			io.Reader
			io.Closer
		}{gz, f}, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{br, f}, nil
}

// detect names the source of a file from its name and first bytes.
func detect(path, name string) (string, error) {
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, ".zip"), strings.HasPrefix(strings.TrimPrefix(lower, "imported_"), "visitors_"):
		return Plausible, nil
	case strings.HasSuffix(lower, ".parquet"):
		return GA4, nil
	}
	for _, t := range aggregateTables {
		if strings.HasPrefix(lower, t.table()+"_") || strings.HasPrefix(lower, t.name+"_") {
			return Plausible, nil
		}
	}
	rc, err := openText(path)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	head := make([]byte, 64)
	n, _ := io.ReadFull(rc, head)
	text := strings.TrimLeft(string(head[:n]), "\ufeff \r\n\t")
	switch {
	case strings.HasPrefix(text, "{"):
		return GA4, nil
	case strings.HasPrefix(text, "2Path") || strings.HasPrefix(text, "\"2Path"):
		return GoatCounter, nil
	case len(text) > 0 && text[0] >= '0' && text[0] <= '9' && strings.Contains(text, "Path"):
		return "", &Error{File: name, Line: 1, Column: "1", Msg: "a GoatCounter export of format version " + text[:1] + "; only version 2 is read (export again from GoatCounter)"}
	}
	return "", &Error{File: name, Msg: "not a file loendur can import: expected Plausible's CSV export (.zip or imported_*.csv), GoatCounter's CSV export (version 2, .csv or .csv.gz), or GA4's BigQuery export (newline-delimited JSON or .parquet)"}
}

// formatOf is the reader of a source.
func formatOf(source, path, name string) (format, error) {
	switch source {
	case Plausible:
		return plausibleFormat{path: path, name: name}, nil
	case GoatCounter:
		return goatcounterFormat{path: path, name: name}, nil
	case GA4:
		if strings.HasSuffix(strings.ToLower(name), ".parquet") {
			return ga4ParquetFormat{path: path, name: name}, nil
		}
		return ga4JSONFormat{path: path, name: name}, nil
	}
	return nil, fmt.Errorf("unknown import source %q: plausible, goatcounter or ga4", source)
}
