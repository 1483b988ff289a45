package derived_test

import (
	"context"
	"strings"
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
			days := storeVisits(t, db, site, day)

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

// storeVisits stores four visits of site on day, writes them as the finalizer would,
// and returns the day as RebuildDays takes it.
func storeVisits(t *testing.T, db store.Store, site string, day time.Time) []string {
	t.Helper()
	var evs []store.Event
	for i, visitor := range derivedtest.SampledVisitors(4, 1) {
		at := day.Add(time.Duration(i+1) * time.Hour)
		for j, page := range []string{"/", "/pricing", "/signup"} {
			evs = append(evs, pageview(site, page, visitor, at.Add(time.Duration(j)*time.Minute)))
		}
		signup := pageview(site, "/signup", visitor, at.Add(5*time.Minute))
		signup.Name = "Signup"
		evs = append(evs, signup)
	}
	if err := store.InsertEvents(context.Background(), db, evs); err != nil {
		t.Fatal(err)
	}
	derivedtest.Finalize(t, db, site, day.Add(24*time.Hour))
	derivedtest.RequireRows(t, db, site)
	return []string{day.Format(time.DateOnly)}
}

func pageview(site, page string, visitor uint64, at time.Time) store.Event {
	return store.Event{EventID: uuid.New(), Site: site, Timestamp: at, Name: "pageview", Hostname: site,
		Pathname: page, VisitorID: visitor, SessionID: visitor, IP: "203.0.0.0"}
}

// An event of the day stored while a rebuild computes it (a batch another collector
// replays, whatever the time) reaches the rollups through their materialized views
// and through the rebuild's INSERT … SELECT; the rebuild sees the day's events change
// and computes the table again. Without that, the day's rollups count it twice.
func TestRebuildCountsOnceWhatLandsDuringIt(t *testing.T) {
	day := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			site := engine + ".landing.test"
			days := storeVisits(t, db, site, day)
			late := pageview(site, "/late", 99, day.Add(20*time.Hour))
			landing := &landsBeforeInsertSelect{DB: db, store: db, event: late}
			if err := derived.RebuildDays(context.Background(), landing, site, days, derived.OfEvents()); err != nil {
				t.Fatal(err)
			}
			if !landing.landed {
				t.Fatal("the event was never stored: no INSERT … SELECT ran")
			}
			derivedtest.NoDrift(t, db, site, "after an event landed during the rebuild")
		})
	}
}

// landsBeforeInsertSelect stores its event in the real database right before the
// first INSERT … SELECT of a rebuild runs, after the rebuild deleted that table's rows:
// the moment a concurrent insert does harm.
type landsBeforeInsertSelect struct {
	derived.DB
	store  store.Store
	event  store.Event
	landed bool
}

func (l *landsBeforeInsertSelect) Exec(ctx context.Context, query string, args ...any) error {
	if !l.landed && strings.HasPrefix(query, "INSERT INTO") {
		l.landed = true
		if err := store.InsertEvents(ctx, l.store, []store.Event{l.event}); err != nil {
			return err
		}
	}
	return l.DB.Exec(ctx, query, args...)
}
