package derived_test

import (
	"context"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/derived/derivedtest"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

// A small site's months of history (an import, a first start) are written in a few
// finalizer steps, each a longer span than the last, and every visit is written once.
// Day by day it took one query, insert and progress row per day: 120 here.
func TestFinalizerCatchesUpInFewSteps(t *testing.T) {
	first := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const days = 120
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			site := engine + ".history.test"
			var evs []store.Event
			for d := range days {
				evs = append(evs, pageview(site, "/", uint64(d+1), first.AddDate(0, 0, d).Add(10*time.Hour)))
			}
			if err := store.InsertEvents(ctx, db, evs); err != nil {
				t.Fatal(err)
			}
			steps := &countsProgress{DB: db}
			derivedtest.Finalize(t, steps, site, first.AddDate(0, 0, days+1))
			count := func(query string) uint64 {
				var n []struct {
					N uint64 `ch:"n"`
				}
				if err := db.Select(ctx, &n, query, site); err != nil || len(n) != 1 {
					t.Fatalf("%s: %v", query, err)
				}
				return n[0].N
			}
			if n := count("SELECT count() AS n FROM " + derived.Visits.Name + " FINAL WHERE site = ?"); n != days {
				t.Errorf("%d visits written, want %d", n, days)
			}
			if steps.n == 0 || steps.n > 10 {
				t.Errorf("%d days of history took %d finalizer steps, want 1 to 10", days, steps.n)
			}
		})
	}
}

// countsProgress counts the finalizer's steps: each ends by recording its progress.
type countsProgress struct {
	derived.DB
	n int
}

func (c *countsProgress) Insert(ctx context.Context, table string, columns []string, rows [][]any) error {
	if table == derived.Visits.Progress {
		c.n++
	}
	return c.DB.Insert(ctx, table, columns, rows)
}
