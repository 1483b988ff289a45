package derived

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/websystems/loendur/internal/mutation"
	"github.com/websystems/loendur/internal/store/literal"
)

// RebuildDays carries a change of a site's events on the UTC days (YYYY-MM-DD) into
// everything derived from them, in order: the rollups of events, the written visits
// that started on those days or the two before (a visit begins at most two days before
// any of its events, see Finalizer), and the rollups of those visits. Erasure, the
// replay of a batch and the finalizer's repair all come here; tables are the rollups
// to rebuild (all: All()). A table whose source rows changed while it was computed is
// computed once more (rebuildTable); events that keep arriving for those days (a live
// day) may still be counted twice in the rollups until the day is repaired, never in
// events. Rebuilds of one site run one at a time, among every process that shares db
// (exclusive).
func RebuildDays(ctx context.Context, db DB, site string, days []string, tables []Table) error {
	return exclusive(ctx, db, site, func() error { return rebuildDays(ctx, db, site, days, tables) })
}

func rebuildDays(ctx context.Context, db DB, site string, days []string, tables []Table) error {
	var ofEvents, ofVisits []Table
	for _, t := range tables {
		if t.Source == EventsTable {
			ofEvents = append(ofEvents, t)
		} else {
			ofVisits = append(ofVisits, t)
		}
	}
	if err := rebuild(ctx, db, site, days, ofEvents); err != nil {
		return err
	}
	visitDays, err := parseDays(withDaysBefore(days, 2))
	if err != nil {
		return err
	}
	if len(visitDays) > 0 {
		if err := Visits.rebuild(ctx, db, site, visitDays, dayList(visitDays)); err != nil {
			return err
		}
	}
	return rebuild(ctx, db, site, withDaysBefore(days, 2), ofVisits)
}

// Rebuild recomputes the rollup rows of a site's UTC days (YYYY-MM-DD) from their
// sources: the materialized views only ever add, so a change is carried into the
// rollups by deleting those days and computing them again. Tables go in the order
// given (those of events before those of visits). Like RebuildDays, it holds the site.
func Rebuild(ctx context.Context, db DB, site string, days []string, tables []Table) error {
	return exclusive(ctx, db, site, func() error { return rebuild(ctx, db, site, days, tables) })
}

func rebuild(ctx context.Context, db DB, site string, days []string, tables []Table) error {
	parsed, err := parseDays(days)
	if err != nil || len(parsed) == 0 {
		return err
	}
	for _, t := range tables {
		if err := rebuildTable(ctx, db, site, t, parsed); err != nil {
			return err
		}
	}
	return nil
}

// rebuildAttempts is how many times a table is computed while its source rows keep
// changing: once more catches a batch that landed during the first time; rows that
// still arrive then are a live day's, which the collector repairs when the site is quiet.
const rebuildAttempts = 2

// rebuildTable deletes t's rows of days and computes them again. A source row stored
// while that runs reaches t twice, through the materialized view and through the
// INSERT … SELECT, whatever its timestamp (a batch another collector replays, a visit
// the finalizer writes). So the source rows of those days are counted before and
// after, and t is computed once more when their number changed.
func rebuildTable(ctx context.Context, db DB, site string, t Table, days []time.Time) error {
	rows, source := t.Bucket.covers(t.Time, days)
	names := make([]string, 0, len(t.Columns()))
	for _, c := range t.Columns() {
		names = append(names, c.Name)
	}
	q := strings.Replace(t.Query("site = ? AND "+source), "FROM "+t.Source, "FROM "+t.from(), 1)
	insert := "INSERT INTO " + t.Name() + " (" + strings.Join(names, ", ") + ") " + q
	count := "SELECT count() AS n FROM " + t.from() + " WHERE site = ? AND " + source
	for attempt := 1; ; attempt++ {
		before, err := countRows(ctx, db, count, site)
		if err != nil {
			return fmt.Errorf("rebuild %s: %w", t.Name(), err)
		}
		if err := deleteWhere(ctx, db, t.Name(), "site = ? AND "+rows, site); err != nil {
			return err
		}
		if err := db.Exec(ctx, insert, site); err != nil {
			return fmt.Errorf("rebuild %s: %w", t.Name(), err)
		}
		after, err := countRows(ctx, db, count, site)
		if err != nil {
			return fmt.Errorf("rebuild %s: %w", t.Name(), err)
		}
		if after == before {
			return nil
		}
		if attempt == rebuildAttempts {
			slog.Info("rebuild: rows kept arriving while a table was computed; some may count twice until the day is repaired",
				"table", t.Name(), "site", site, "rows_before", before, "rows_after", after)
			return nil
		}
	}
}

func countRows(ctx context.Context, db DB, query string, args ...any) (uint64, error) {
	var n []struct {
		N uint64 `ch:"n"`
	}
	if err := db.Select(ctx, &n, query, args...); err != nil {
		return 0, fmt.Errorf("count rows: %w", err)
	}
	if len(n) == 0 {
		return 0, nil
	}
	return n[0].N, nil
}

func parseDays(days []string) ([]time.Time, error) {
	out := make([]time.Time, 0, len(days))
	for _, d := range days {
		t, err := time.Parse(time.DateOnly, d)
		if err != nil {
			return nil, fmt.Errorf("rebuild: day %q", d)
		}
		out = append(out, t)
	}
	return out, nil
}

// dayList is the IN list of days for a Date: their YYYY-MM-DD text.
func dayList(days []time.Time) string {
	text := make([]string, len(days))
	for i, d := range days {
		text[i] = d.UTC().Format(time.DateOnly)
	}
	return literal.StringList(text)
}

// withDaysBefore adds the n days before each day.
func withDaysBefore(days []string, n int) []string {
	set := map[string]bool{}
	for _, d := range days {
		set[d] = true
		if t, err := time.Parse(time.DateOnly, d); err == nil {
			for i := 1; i <= n; i++ {
				set[t.AddDate(0, 0, -i).Format(time.DateOnly)] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// OfEvents are the tables rebuilt after events changed: every rollup, those of visits
// last (visits may have changed with the events).
func OfEvents() []Table {
	var first, last []Table
	for _, t := range All() {
		if t.Source == EventsTable {
			first = append(first, t)
		} else {
			last = append(last, t)
		}
	}
	return append(first, last...)
}

// OfSessions are the tables rebuilt after the sessions table changed.
func OfSessions() []Table {
	var out []Table
	for _, t := range All() {
		if t.Source == SessionsTable {
			out = append(out, t)
		}
	}
	return out
}

// deleteWhere runs ALTER TABLE … DELETE and waits until it is done.
func deleteWhere(ctx context.Context, db DB, table, where string, args ...any) error {
	if err := db.Exec(ctx, "ALTER TABLE "+table+" DELETE WHERE "+where, args...); err != nil {
		return fmt.Errorf("rebuild: delete from %s: %w", table, err)
	}
	if err := mutation.Wait(ctx, db, table); err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	return nil
}
