// Package periodic runs a reload on a fixed interval: the registries that mirror a
// ClickHouse table in memory (sites, salts, exclusions), the erasure ledger's follower
// and the renewal of a rebuild's claim (internal/derived) share it.
package periodic

import (
	"context"
	"log/slog"
	"time"
)

// Run calls fn every interval until ctx ends. A failed call is logged as a warning
// under what and retried at the next tick: the previous state stays in use.
func Run(ctx context.Context, interval time.Duration, log *slog.Logger, what string, fn func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := fn(ctx); err != nil {
				log.Warn(what, "err", err)
			}
		}
	}
}
