// Package dropcount owns the daily counts of dropped events (schema/0061_dropped_daily.sql):
// how many events of a site the collector answered but did not store, per UTC day and
// reason (a bot, an admin's exclusion, a burst…). The collector adds to a Counter and
// flushes it; the dashboard reads ByReason. Counts only: nothing about a visitor.
package dropcount

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/websystems/loendur/internal/store"
)

// Table holds the counts.
const Table = "events_dropped_daily"

type key struct {
	site, reason string
	day          string // YYYY-MM-DD, UTC
}

// Counter gathers drops between two flushes. Keys are sites × reasons × days, so it
// stays small. The zero value is ready; it is safe for concurrent use.
type Counter struct {
	mu sync.Mutex
	m  map[key]uint64
}

// Add counts one event of site dropped at now for reason.
func (c *Counter) Add(site string, now time.Time, reason string) {
	k := key{site: site, reason: reason, day: now.UTC().Format(time.DateOnly)}
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[key]uint64)
	}
	c.m[k]++
	c.mu.Unlock()
}

func (c *Counter) take() map[key]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.m
	c.m = nil
	return m
}

func (c *Counter) putBack(m map[key]uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[key]uint64, len(m))
	}
	for k, n := range m {
		c.m[k] += n
	}
}

// Flush writes what was counted since the last flush; on failure the counts are kept
// for the next one.
func (c *Counter) Flush(ctx context.Context, db store.Store) error {
	m := c.take()
	if len(m) == 0 {
		return nil
	}
	rows := make([][]any, 0, len(m))
	for k, n := range m {
		day, _ := time.Parse(time.DateOnly, k.day)
		rows = append(rows, []any{k.site, day, k.reason, n})
	}
	if err := db.Insert(ctx, Table, []string{"site", "day", "reason", "events"}, rows); err != nil {
		c.putBack(m)
		return fmt.Errorf("store drop counts: %w", err)
	}
	return nil
}

// Reason is the number of events of a site dropped for one reason.
type Reason struct {
	Reason string `ch:"reason" json:"reason"`
	Events uint64 `ch:"events" json:"events"`
}

// ByReason sums the counts of site from day from to day to (UTC dates, both included),
// largest first.
func ByReason(ctx context.Context, db store.Store, site string, from, to time.Time) ([]Reason, error) {
	var rows []Reason
	err := db.Select(ctx, &rows, `SELECT reason, sum(events) AS events FROM `+Table+`
		WHERE site = ? AND day >= toDate(?) AND day <= toDate(?) GROUP BY reason ORDER BY events DESC, reason`,
		site, from.Format(time.DateOnly), to.Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("dropped traffic of %s: %w", site, err)
	}
	return rows, nil
}
