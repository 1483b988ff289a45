package derived

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Rebuild recomputes the rollup rows of a site's UTC days (YYYY-MM-DD) from their
// sources: the materialized views only ever add, so an erasure, a retention run or a
// replayed batch is carried into the rollups by deleting those days and computing
// them again. Rollups of events go first, then those of visits. Events that arrive for
// those days while this runs may be counted twice in the rollups (never in events).
func Rebuild(ctx context.Context, db DB, site string, days []string, tables []Table) error {
	if len(days) == 0 {
		return nil
	}
	quoted := make([]string, len(days))
	for i, d := range days {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return fmt.Errorf("rebuild: day %q", d)
		}
		quoted[i] = "'" + d + "'"
	}
	in := "(" + strings.Join(quoted, ", ") + ")"
	for _, t := range tables {
		if err := deleteWhere(ctx, db, t.Name(), "site = ? AND toDate("+t.Bucket.Column.Name+") IN "+in, site); err != nil {
			return err
		}
		names := make([]string, 0, len(t.Columns()))
		for _, c := range t.Columns() {
			names = append(names, c.Name)
		}
		from := t.Source
		if t.Source == SessionsTable {
			from += " FINAL" // the finalizer may have written a visit twice; count it once
		}
		q := strings.Replace(t.Query("site = ? AND toDate("+t.Time+") IN "+in), "FROM "+t.Source, "FROM "+from, 1)
		if err := db.Exec(ctx, "INSERT INTO "+t.Name()+" ("+strings.Join(names, ", ")+") "+q, site); err != nil {
			return fmt.Errorf("rebuild %s: %w", t.Name(), err)
		}
	}
	return nil
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

// deleteWhere runs ALTER TABLE … DELETE and waits until system.mutations says it is
// done (ClickHouse 18.16 has no mutations_sync).
func deleteWhere(ctx context.Context, db DB, table, where string, args ...any) error {
	if err := db.Exec(ctx, "ALTER TABLE "+table+" DELETE WHERE "+where, args...); err != nil {
		return fmt.Errorf("rebuild: delete from %s: %w", table, err)
	}
	delay := 20 * time.Millisecond
	for {
		var rows []struct {
			N uint64 `ch:"n"`
		}
		if err := db.Select(ctx, &rows, `SELECT count() AS n FROM system.mutations
			WHERE database = currentDatabase() AND table = ? AND is_done = 0`, table); err != nil {
			return fmt.Errorf("rebuild: wait for the delete in %s: %w", table, err)
		}
		if len(rows) == 0 || rows[0].N == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("rebuild: the delete in %s is not done yet: %w", table, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}
