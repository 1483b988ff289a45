package erasure

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/mutation"
	"github.com/websystems/loendur/internal/spool"
	"github.com/websystems/loendur/internal/store"
)

// Spool is what erasure needs of the collector's disk spool (internal/spool.Spool).
type Spool interface {
	Erase(match func(*store.Event) bool) (int, error)
	// AddRepairs queues days whose derived rows the collector computes again once
	// nothing writes them (collector, repairDue).
	AddRepairs(rs []spool.Repair) error
}

// Options of Erase.
type Options struct {
	// RequestedBy names who asked: a staff e-mail, "cli:USER", "forget" for the
	// visitor's own request. It goes into the ledger and the audit log.
	RequestedBy string
	// Spool, when set, is searched too.
	Spool Spool
	// NoRecord skips the ledger and the audit log: for re-applying the ledger.
	NoRecord bool
	// RecordOnlyErased skips the ledger and the audit log when nothing was erased (no
	// row, nothing spooled): for the visitor's own requests, which anyone can send.
	RecordOnlyErased bool
	Now              func() time.Time
}

// Result is what an erasure did.
type Result struct {
	ID       string
	Plan     Plan   // the preview it carried out
	Events   uint64 // rows erased from the events table
	Rows     uint64 // rows erased from every table
	Spooled  int    // events erased from the spool
	Recorded bool   // written to the ledger and the audit log
	From, To time.Time
}

// Erase carries out a plan from Preview (call Preview again if time has passed: rows
// may have arrived): it deletes the matching rows of every table, waits until the
// engine reports each delete done, verifies that none is left, recomputes the rollups
// of the affected days, erases the spool, and records the erasure.
func Erase(ctx context.Context, db store.Store, sel Selector, opts Options) (Result, error) {
	plan, err := Preview(ctx, db, sel)
	if err != nil {
		return Result{}, err
	}
	return Apply(ctx, db, plan, opts)
}

// Apply carries out a previewed plan.
func Apply(ctx context.Context, db store.Store, plan Plan, opts Options) (Result, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	res := Result{ID: uuid.NewString(), Plan: plan, Events: plan.Events, Rows: plan.Rows(), From: plan.From, To: plan.To}
	for _, tp := range plan.Tables {
		if tp.Rows == 0 {
			continue
		}
		if err := mutate(ctx, db, tp.Table, tp.Where, tp.Args); err != nil {
			return res, err
		}
	}
	// Verify every table, including those that had nothing: rows may have arrived.
	for _, tp := range plan.Tables {
		n, err := count(ctx, db, tp)
		if err != nil {
			return res, err
		}
		if n > 0 {
			return res, fmt.Errorf("erasure: %d matching rows still in %s after the delete", n, tp.Table)
		}
	}
	if plan.Events > 0 {
		if err := Recompute(ctx, db, plan.Selector.Site, plan.Days, plan.Rollups); err != nil {
			return res, err
		}
	}
	if opts.Spool != nil {
		sel := plan.Selector
		n, err := opts.Spool.Erase(sel.Matches)
		res.Spooled = n
		if err != nil {
			return res, fmt.Errorf("erasure: spool: %w", err)
		}
	}
	if !opts.NoRecord && (!opts.RecordOnlyErased || res.Rows > 0 || res.Spooled > 0) {
		if err := record(ctx, db, res, opts); err != nil {
			return res, err
		}
		res.Recorded = true
	}
	// Queued once the erasure is recorded: a failure here leaves counts to correct,
	// never an erasure unrecorded.
	if live := liveDays(plan.Selector.Site, plan.Days, opts.Now()); opts.Spool != nil && len(live) > 0 {
		if err := opts.Spool.AddRepairs(live); err != nil {
			return res, fmt.Errorf("erasure: queue the repair of today's rollups: %w", err)
		}
	}
	return res, nil
}

// liveDays are the days among days that may still be receiving events: today and
// yesterday (UTC), as events are stamped when they arrive. The recomputation after an
// erasure may count twice an event stored while it runs when events keep arriving
// (derived.RebuildDays); on a live site they do, so these days are computed once more
// when nothing writes the site, or after the day is over. The erasure itself is done
// already: this only corrects counts.
func liveDays(site string, days []string, now time.Time) []spool.Repair {
	yesterday := now.UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	var out []spool.Repair
	for _, d := range days {
		if d >= yesterday {
			out = append(out, spool.Repair{Site: site, Day: d})
		}
	}
	return out
}

// mutate runs ALTER TABLE … DELETE and waits until the engine reports it done: with
// mutations_sync where the engine knows it, and by polling system.mutations always
// (ClickHouse 18.16 has no such setting).
func mutate(ctx context.Context, db store.Store, table, where string, args []any) error {
	q := "ALTER TABLE " + quoteIdent(table) + " DELETE WHERE " + where
	if db.Info().Features().ModernSettings {
		q += " SETTINGS mutations_sync = 2"
	}
	if err := db.Exec(ctx, q, args...); err != nil {
		return fmt.Errorf("erasure: delete from %s: %w", table, err)
	}
	if err := mutation.Wait(ctx, db, table); err != nil {
		return fmt.Errorf("erasure: %w", err)
	}
	return nil
}

// Recompute carries a change of a site's events on UTC days into everything derived
// from them (internal/derived.RebuildDays): the rollups of events, the written visits
// recomputed from the events left (erasing one page view of a visit leaves the visit
// with the others), and the rollups of visits.
func Recompute(ctx context.Context, db store.Store, site string, days []string, rollups []Rollup) error {
	tables := make([]derived.Table, len(rollups))
	for i, r := range rollups {
		tables[i] = r.Def
	}
	if err := derived.RebuildDays(ctx, db, site, days, tables); err != nil {
		return fmt.Errorf("erasure: %w", err)
	}
	return nil
}

// DeleteWhere deletes the rows of a table that match where (with ? placeholders) and
// waits until the engine reports the delete done. For retention and other housekeeping
// that removes event data by a rule rather than by a data subject's request.
func DeleteWhere(ctx context.Context, db store.Store, table, where string, args ...any) error {
	return mutate(ctx, db, table, where, args)
}
