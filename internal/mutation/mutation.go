// Package mutation waits for ClickHouse's ALTER TABLE … DELETE mutations. They run in
// the background; ClickHouse 18.16 has no mutations_sync, so whoever must know that a
// delete is done (an erasure, a rebuild of derived data) polls system.mutations.
package mutation

import (
	"context"
	"fmt"
	"time"
)

// Selecter is the part of a store that Wait needs.
type Selecter interface {
	Select(ctx context.Context, dest any, query string, args ...any) error
}

// Wait returns once no mutation of table in the current database is pending, or when
// ctx ends.
func Wait(ctx context.Context, db Selecter, table string) error {
	delay := 20 * time.Millisecond
	for {
		var rows []struct {
			N uint64 `ch:"n"`
		}
		if err := db.Select(ctx, &rows, `SELECT count() AS n FROM system.mutations
			WHERE database = currentDatabase() AND table = ? AND is_done = 0`, table); err != nil {
			return fmt.Errorf("wait for the delete in %s: %w", table, err)
		}
		if len(rows) == 0 || rows[0].N == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the delete in %s is not done yet (see system.mutations): %w", table, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}
