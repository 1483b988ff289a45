package derived_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/derived/derivedtest"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

// A day rebuilt twice, and rebuilt by several callers at once (two collectors repairing
// the same replayed day, an erasure beside a repair), holds what its events give, on
// every engine and on the cluster. On the cluster a second rebuild's rows were dropped
// as a repeat of the first's (replicated deduplication), and callers at once each
// added the whole day.
func TestRebuildsOfOneDayAgreeWithEvents(t *testing.T) {
	engines := storetest.Engines(t)
	engines["cluster"], _ = storetest.Cluster(t)
	day := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	for engine, db := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			site := engine + ".rebuilds.test"
			var evs []store.Event
			for i, visitor := range derivedtest.SampledVisitors(4, 1) {
				at := day.Add(time.Duration(i+1) * time.Hour)
				for j, page := range []string{"/", "/pricing", "/signup"} {
					evs = append(evs, store.Event{EventID: uuid.New(), Site: site, Timestamp: at.Add(time.Duration(j) * time.Minute),
						Name: "pageview", Hostname: site, Pathname: page, VisitorID: visitor, SessionID: visitor, IP: "203.0.0.0"})
				}
				evs = append(evs, store.Event{EventID: uuid.New(), Site: site, Timestamp: at.Add(5 * time.Minute),
					Name: "Signup", Hostname: site, Pathname: "/signup", VisitorID: visitor, SessionID: visitor, IP: "203.0.0.0"})
			}
			if err := store.InsertEvents(ctx, db, evs); err != nil {
				t.Fatal(err)
			}
			derivedtest.Finalize(t, db, site, day.Add(24*time.Hour))
			derivedtest.RequireRows(t, db, site)
			days := []string{day.Format(time.DateOnly)}

			for range 2 {
				if err := derived.RebuildDays(ctx, db, site, days, derived.OfEvents()); err != nil {
					t.Fatal(err)
				}
			}
			derivedtest.NoDrift(t, db, site, "after two rebuilds one after the other")

			var wg sync.WaitGroup
			errs := make(chan error, 3)
			for range 3 {
				wg.Go(func() { errs <- derived.RebuildDays(ctx, db, site, days, derived.OfEvents()) })
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			derivedtest.NoDrift(t, db, site, "after three rebuilds at once")
		})
	}
}
