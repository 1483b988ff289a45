package erasure

import (
	"context"
	"fmt"
	"time"

	"github.com/websystems/loendur/internal/audit"
	"github.com/websystems/loendur/internal/store"
)

// Entry is one line of the erasure ledger: who asked, when, which selector, how many
// rows. No event data.
type Entry struct {
	ID          string    `ch:"id" json:"id"`
	Time        time.Time `ch:"time" json:"time"`
	Site        string    `ch:"site" json:"site"`
	Kind        string    `ch:"kind" json:"kind"`
	Selector    string    `ch:"selector" json:"selector"`
	RowsErased  uint64    `ch:"rows_erased" json:"rows_erased"`
	RequestedBy string    `ch:"requested_by" json:"requested_by"`
}

var ledgerColumns = []string{"id", "time", "site", "kind", "selector", "rows_erased", "requested_by"}

// AuditAction is the audit log action of an erasure.
const AuditAction = "erasure"

func record(ctx context.Context, db store.Store, res Result, opts Options) error {
	now := opts.Now().UTC()
	sel := res.Plan.Selector
	by := opts.RequestedBy
	if by == "" {
		by = "unknown"
	}
	if err := db.Insert(ctx, LedgerTable, ledgerColumns, [][]any{{
		res.ID, now, sel.Site, string(sel.Kind), sel.Value(), res.Events, by,
	}}); err != nil {
		return fmt.Errorf("erasure done but not recorded in the ledger (record it by hand: %s %s): %w", sel.Site, sel, err)
	}
	detail := fmt.Sprintf("%s: %d events, %d rows in all tables, %d spooled; ledger %s", sel, res.Events, res.Rows, res.Spooled, res.ID)
	if err := audit.Write(ctx, db, audit.Entry{Time: now, Actor: by, Action: AuditAction, Target: sel.Site, Detail: detail}); err != nil {
		return fmt.Errorf("erasure done and in the ledger (%s) but not in the audit log: %w", res.ID, err)
	}
	return nil
}

// Ledger lists the erasure ledger, oldest first.
func Ledger(ctx context.Context, db store.Store) ([]Entry, error) {
	var rows []Entry
	if err := db.Select(ctx, &rows, `SELECT id, time, site, kind, selector, rows_erased, requested_by
		FROM erasure_ledger ORDER BY time, id`); err != nil {
		return nil, fmt.Errorf("read the erasure ledger: %w", err)
	}
	return rows, nil
}

// Reapply runs every erasure of the ledger again, for a database restored from a
// backup taken before some of them. It records nothing new in the ledger; it writes
// one audit line. It returns how many event rows it erased.
func Reapply(ctx context.Context, db store.Store, spool Spool) (uint64, error) {
	entries, err := Ledger(ctx, db)
	if err != nil {
		return 0, err
	}
	var total uint64
	for _, e := range entries {
		sel, err := ParseValue(e.Site, Kind(e.Kind), e.Selector)
		if err != nil {
			return total, fmt.Errorf("ledger entry %s: %w", e.ID, err)
		}
		res, err := Erase(ctx, db, sel, Options{Spool: spool, NoRecord: true})
		total += res.Events
		if err != nil {
			return total, fmt.Errorf("re-apply ledger entry %s: %w", e.ID, err)
		}
	}
	detail := fmt.Sprintf("re-applied %d ledger entries after a restore: %d events erased", len(entries), total)
	if err := audit.Write(ctx, db, audit.Entry{Actor: "restore", Action: "erasure_reapplied", Detail: detail}); err != nil {
		return total, fmt.Errorf("ledger re-applied but not in the audit log: %w", err)
	}
	return total, nil
}
