// Package imports brings a site's history in from other analytics tools and takes its
// data out again:
//
//   - Plausible CE's CSV export (a ZIP of imported_*.csv tables, or one such CSV):
//     aggregates per day, stored in the imported_* tables, which reports add for days
//     without data of loendur's own;
//   - GoatCounter's CSV export (format version 2, gzipped or not) and Google Analytics
//     4's BigQuery export (events_YYYYMMDD as newline-delimited JSON or Parquet): raw
//     hits and events, which become rows of the events table under the privacy rules of
//     ingestion (no source identifier kept: the visitor id is a keyed hash of it under a
//     day's key, as a visitor hash is), and then every derived table of their days is
//     rebuilt (derived.RebuildDays).
//
// An import is all or nothing: the whole file is parsed and checked before anything is
// written (a bad row is an error naming the file, line and column), and a write that
// fails half-way is undone. Each import is recorded in the imports table with the
// file's SHA-256, so the same file imported again changes nothing, and can be listed
// and deleted. Export writes a site's aggregates in Plausible's format and its raw
// events as CSV or Parquet, streaming.
package imports

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/mutation"
	"github.com/websystems/loendur/internal/store"
)

// Sources: what a file holds.
const (
	Plausible   = "plausible"
	GoatCounter = "goatcounter"
	GA4         = "ga4"
)

// Table is the record of imports.
const Table = "imports"

// States of an import.
const (
	statePending = "pending" // being written; a crash leaves it so, and delete removes it
	stateDone    = "done"
	stateDeleted = "deleted"
)

// ErrDuplicate is returned when the file was imported into the site before (same hash).
var ErrDuplicate = errors.New("this file was imported into the site before")

// Record is one import.
type Record struct {
	Site       string    `ch:"site" json:"site"`
	ID         uint64    `ch:"id" json:"id"`
	Source     string    `ch:"source" json:"source"`
	FileName   string    `ch:"file_name" json:"file_name"`
	FileHash   string    `ch:"file_hash" json:"file_hash"`
	PeriodFrom time.Time `ch:"period_from" json:"-"`
	PeriodTo   time.Time `ch:"period_to" json:"-"`
	Rows       uint64    `ch:"rows" json:"rows"`
	State      string    `ch:"state" json:"state"`
	Created    time.Time `ch:"created" json:"created"`
	Version    uint64    `ch:"version" json:"-"`
}

// Period is the record's first and last day, as YYYY-MM-DD.
func (r Record) Period() (string, string) {
	return r.PeriodFrom.UTC().Format(time.DateOnly), r.PeriodTo.UTC().Format(time.DateOnly)
}

var recordColumns = []string{"site", "id", "source", "file_name", "file_hash", "period_from", "period_to", "rows", "state", "created", "version"}

func (r Record) values() []any {
	return []any{r.Site, r.ID, r.Source, r.FileName, r.FileHash, r.PeriodFrom.UTC(), r.PeriodTo.UTC(), r.Rows, r.State, r.Created.UTC(), r.Version}
}

// Options configure an Importer.
type Options struct {
	DB  store.Store
	Log *slog.Logger
	// Salt gives the visitor-hash salt of a UTC day when it is still kept (salt.Keeper.For);
	// nil, or a nil answer, means a random key of the import's own, held in memory only.
	Salt func(day time.Time) []byte
	Now  func() time.Time
	// BatchSize is how many rows go into one insert (default 50,000).
	BatchSize int
}

// Importer imports files into sites. Safe for concurrent use on different sites.
type Importer struct {
	db    store.Store
	log   *slog.Logger
	salt  func(time.Time) []byte
	now   func() time.Time
	batch int
}

// New returns an Importer.
func New(opts Options) (*Importer, error) {
	if opts.DB == nil {
		return nil, errors.New("imports: Options.DB is required")
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 50_000
	}
	return &Importer{db: opts.DB, log: opts.Log, salt: opts.Salt, now: opts.Now, batch: opts.BatchSize}, nil
}

// File is one file to import.
type File struct {
	Path string // read twice: once to check everything, once to write
	Name string // shown in errors and the record; default: the path's base name
	// Source forces the format (Plausible, GoatCounter, GA4); "" detects it from the
	// name and the first bytes.
	Source string
	// Progress, when set, is told how many rows were checked and written so far.
	Progress func(stage string, rows uint64)
}

// Import imports f into site: everything checked first, then written, recorded and
// the derived tables of the imported days rebuilt. A file imported into the site
// before returns the earlier record and ErrDuplicate.
func (im *Importer) Import(ctx context.Context, site string, f File) (Record, error) {
	if f.Name == "" {
		f.Name = filepath.Base(f.Path)
	}
	hash, err := fileHash(f.Path)
	if err != nil {
		return Record{}, err
	}
	if prev, ok, err := im.byHash(ctx, site, hash); err != nil {
		return Record{}, err
	} else if ok {
		return prev, ErrDuplicate
	}
	source := f.Source
	if source == "" {
		if source, err = detect(f.Path, f.Name); err != nil {
			return Record{}, err
		}
	}
	format, err := formatOf(source, f.Path, f.Name)
	if err != nil {
		return Record{}, err
	}
	rec := Record{Site: site, ID: newID(), Source: source, FileName: f.Name, FileHash: hash,
		Created: im.now().UTC(), State: statePending}
	run := &run{im: im, site: site, file: f, rec: &rec, keys: map[int64][]byte{}}
	// Pass 1: parse and check all of it; nothing is written.
	checked, err := format.read(ctx, run, nil)
	if err != nil {
		return Record{}, err
	}
	if checked.rows == 0 {
		return Record{}, &Error{File: f.Name, Msg: "no rows to import"}
	}
	rec.PeriodFrom, rec.PeriodTo, rec.Rows = checked.first, checked.last, checked.rows
	rec.Version = uint64(im.now().UnixNano())
	if err := im.write(ctx, rec); err != nil {
		return Record{}, err
	}
	// Pass 2: the same rows, written.
	run.resetState()
	w := newWriter(im, &rec)
	_, err = format.read(ctx, run, w)
	if err == nil {
		err = w.flush(ctx)
	}
	if err == nil {
		err = im.rebuild(ctx, rec, w.days)
	}
	if err != nil {
		// Undo what was written (a detached context: the caller's may be what ended).
		undo := context.WithoutCancel(ctx)
		if uerr := im.remove(undo, rec, w.days); uerr != nil {
			im.log.Error("import: undo failed; delete the import by hand", "site", site, "id", rec.ID, "err", uerr)
		} else {
			rec.State, rec.Version = stateDeleted, uint64(im.now().UnixNano())
			if werr := im.write(undo, rec); werr != nil {
				im.log.Error("import: undone, but not recorded so", "site", site, "id", rec.ID, "err", werr)
			}
		}
		return Record{}, fmt.Errorf("%s: writing: %w", f.Name, err)
	}
	rec.State, rec.Version = stateDone, uint64(im.now().UnixNano())
	if err := im.write(ctx, rec); err != nil {
		return Record{}, err
	}
	return rec, nil
}

// rebuild carries imported events into every derived table of their days.
func (im *Importer) rebuild(ctx context.Context, rec Record, days map[string]bool) error {
	if !isRaw(rec.Source) || len(days) == 0 {
		return nil
	}
	return derived.RebuildDays(ctx, im.db, rec.Site, sortedDays(days), derived.OfEvents())
}

// List returns the site's imports ("" = every site), newest first, deleted ones left out.
func (im *Importer) List(ctx context.Context, site string) ([]Record, error) {
	var rows []Record
	// FINAL: the newest row of each import (ReplacingMergeTree by version).
	q := "SELECT " + strings.Join(recordColumns, ", ") + " FROM imports FINAL WHERE site = ? OR ? = '' ORDER BY created DESC, id"
	if err := im.db.Select(ctx, &rows, q, site, site); err != nil {
		return nil, fmt.Errorf("list imports: %w", err)
	}
	out := rows[:0]
	for _, r := range rows {
		if r.State != stateDeleted {
			out = append(out, r)
		}
	}
	return out, nil
}

// Get returns one import of the site.
func (im *Importer) Get(ctx context.Context, site string, id uint64) (Record, bool, error) {
	all, err := im.List(ctx, site)
	if err != nil {
		return Record{}, false, err
	}
	for _, r := range all {
		if r.ID == id {
			return r, true, nil
		}
	}
	return Record{}, false, nil
}

// Delete removes what an import brought in, rebuilds the derived tables of its days
// and marks it deleted.
func (im *Importer) Delete(ctx context.Context, site string, id uint64) (Record, error) {
	rec, ok, err := im.Get(ctx, site, id)
	if err != nil {
		return Record{}, err
	}
	if !ok {
		return Record{}, fmt.Errorf("no import %d of %s", id, site)
	}
	days := map[string]bool{}
	for d := rec.PeriodFrom.UTC(); !d.After(rec.PeriodTo.UTC()); d = d.AddDate(0, 0, 1) {
		days[d.Format(time.DateOnly)] = true
	}
	if err := im.remove(ctx, rec, days); err != nil {
		return Record{}, err
	}
	rec.State, rec.Version = stateDeleted, uint64(im.now().UnixNano())
	return rec, im.write(ctx, rec)
}

// remove deletes an import's rows: its events (by the id prefix of their event ids,
// see eventID) and derived rows of their days, or its aggregate rows.
func (im *Importer) remove(ctx context.Context, rec Record, days map[string]bool) error {
	if isRaw(rec.Source) {
		if err := im.deleteWhere(ctx, derived.EventsTable, "site = ? AND substring(toString(event_id), 1, 13) = ?", rec.Site, idPrefix(rec.ID)); err != nil {
			return err
		}
		if len(days) == 0 {
			return nil
		}
		return derived.RebuildDays(ctx, im.db, rec.Site, sortedDays(days), derived.OfEvents())
	}
	for _, t := range aggregateTables {
		if err := im.deleteWhere(ctx, t.table(), "site = ? AND import_id = ?", rec.Site, rec.ID); err != nil {
			return err
		}
	}
	return nil
}

func (im *Importer) deleteWhere(ctx context.Context, table, where string, args ...any) error {
	if err := im.db.Exec(ctx, "ALTER TABLE "+table+" DELETE WHERE "+where, args...); err != nil {
		return fmt.Errorf("delete import rows from %s: %w", table, err)
	}
	if err := mutation.Wait(ctx, im.db, table); err != nil {
		return fmt.Errorf("delete import rows from %s: %w", table, err)
	}
	return nil
}

func (im *Importer) write(ctx context.Context, r Record) error {
	if err := im.db.Insert(ctx, Table, recordColumns, [][]any{r.values()}); err != nil {
		return fmt.Errorf("record import: %w", err)
	}
	return nil
}

// byHash finds a live import of the same file into the site.
func (im *Importer) byHash(ctx context.Context, site, hash string) (Record, bool, error) {
	all, err := im.List(ctx, site)
	if err != nil {
		return Record{}, false, err
	}
	for _, r := range all {
		if r.FileHash == hash {
			return r, true, nil
		}
	}
	return Record{}, false, nil
}

func isRaw(source string) bool { return source == GoatCounter || source == GA4 }

func fileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("open import file: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read import file: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// newID is an import's id: 48 random bits, the prefix of its events' ids.
func newID() uint64 {
	var b [8]byte
	rand.Read(b[2:])
	id := binary.BigEndian.Uint64(b[:])
	if id == 0 {
		id = 1
	}
	return id
}

// idPrefix is the text of the first 6 bytes of an imported event's id: "xxxxxxxx-xxxx".
func idPrefix(id uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], id)
	h := hex.EncodeToString(b[2:])
	return h[:8] + "-" + h[8:]
}

// ParseID reads an import id as List shows it.
func ParseID(s string) (uint64, error) {
	var id uint64
	if _, err := fmt.Sscan(strings.TrimSpace(s), &id); err != nil || id == 0 {
		return 0, fmt.Errorf("import id %q: a number, as `loendur import list` shows", s)
	}
	return id, nil
}
