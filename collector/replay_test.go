package collector

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/derived/derivedtest"
	"github.com/websystems/loendur/internal/erasure"
	"github.com/websystems/loendur/internal/eventtest"
	"github.com/websystems/loendur/internal/spool"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

// A spooled batch whose insert had landed before the insert failed, but died before the
// rollup views wrote their parts, is not inserted again (no duplicate events) and its
// days' derived tables are rebuilt once nothing writes the site; a batch that had not
// landed is inserted once, and as the finalizer had written the visits of its time
// already, they are rebuilt too. Every derived table then agrees with its definition.
func TestReplayRepairsRollupsOfLandedBatch(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) { testReplayRepairs(t, engine, db, true) })
	}
}

// On a cluster the batch is inserted again, whole: each shard drops the part it holds
// (replicated deduplication), and ClickHouse 18.16 then writes no views for that part,
// so its rollups are still missing and only the repair brings them back. No visits are
// written here, so that no batch is late for them: its days would be repaired anyway.
func TestReplayRepairsRollupsOfLandedBatchOnCluster(t *testing.T) {
	db, _ := storetest.Cluster(t)
	testReplayRepairs(t, "cluster", db, false)
}

// testReplayRepairs replays a landed batch and a fresh one; with visitsWritten the
// finalizer has written the visits of their time already.
func testReplayRepairs(t *testing.T, engine string, db store.Store, visitsWritten bool) {
	ctx := context.Background()
	site := fmt.Sprintf("replay-%s-%d.test", engine, rand.Uint32())
	landed := pageviews(site, 30)
	landed[0].Name = "Signup"                                     // a custom event, for the custom-event rollups
	landed[1].VisitorID = derivedtest.SampledVisitors(1, 1000)[0] // a visitor of the visit sample, for its table
	if err := store.InsertEvents(ctx, db, landed); err != nil {
		t.Fatal(err)
	}
	if visitsWritten {
		derivedtest.WriteVisits(t, db, site, time.Now().UTC().Truncate(time.Second))
		derivedtest.RequireRows(t, db, site)
	}
	dropRollups(t, db, site)
	if got := rollupPageviews(t, db, site); got != 0 {
		t.Fatalf("rollups hold %d page views after the drop, want 0", got)
	}

	sp, err := spool.Open(spool.Options{Dir: t.TempDir(), MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	fresh := pageviews(site, 12)
	for _, evs := range [][]store.Event{landed, fresh} {
		if err := sp.Append(spool.Batch{ID: uuid.New(), Events: evs}); err != nil {
			t.Fatal(err)
		}
	}
	w := &writer{db: db, spool: sp, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		m: newMetrics(prometheus.NewRegistry(), func() float64 { return 0 }), spooled: make(chan struct{}, 1)}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.replay(rctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for n, _ := sp.Stats(); n > 0 || len(sp.Repairs()) > 0; n, _ = sp.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("%d batches still spooled, days waiting for a repair: %v", n, sp.Repairs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	<-done

	var rows []struct {
		N    uint64 `ch:"n"`
		Uniq uint64 `ch:"u"`
	}
	if err := db.Select(ctx, &rows, "SELECT count() AS n, uniqExact(event_id) AS u FROM events WHERE site = ?", site); err != nil {
		t.Fatal(err)
	}
	want := uint64(len(landed) + len(fresh))
	if rows[0].N != want || rows[0].Uniq != want {
		t.Errorf("events: %d rows, %d distinct ids; want %d of each", rows[0].N, rows[0].Uniq, want)
	}
	if got := rollupPageviews(t, db, site); got != 2*(want-1) {
		t.Errorf("rollups hold %d page views (hourly + daily), want %d", got, 2*(want-1))
	}
	derivedtest.NoDrift(t, db, site, "after the replay")
}

// pageviews are n page views on site, a second apart from an hour ago.
func pageviews(site string, n int) []store.Event {
	return eventtest.Pageviews(site, time.Now().UTC().Truncate(time.Second).Add(-time.Hour), n)
}

// dropRollups deletes a site's rows from every derived table but the progress mark, as
// if the insert of its events had died before the views wrote their parts.
func dropRollups(t *testing.T, db store.Store, site string) {
	t.Helper()
	for _, name := range derived.Names() {
		if name == derived.Visits.Progress {
			continue
		}
		if err := erasure.DeleteWhere(context.Background(), db, name, "site = ?", site); err != nil {
			t.Fatal(err)
		}
	}
}

// rollupPageviews is the site's page views in the hourly and the daily page rollup.
func rollupPageviews(t *testing.T, db store.Store, site string) uint64 {
	t.Helper()
	var rows []struct {
		N uint64 `ch:"n"`
	}
	err := db.Select(context.Background(), &rows, `SELECT toUInt64(
		(SELECT sum(pageviews) FROM page_stats_hourly WHERE site = ?) +
		(SELECT sum(pageviews) FROM page_stats_daily WHERE site = ?)) AS n`, site, site)
	if err != nil {
		t.Fatal(err)
	}
	return rows[0].N
}

// A day to repair waits while its site's events are still being written: the repair
// deletes the day's derived rows and computes them again, and an insert landing in
// between would be counted twice.
func TestRepairWaitsWhileSiteIsWritten(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			site := fmt.Sprintf("repair-wait-%s-%d.test", engine, rand.Uint32())
			earlier := eventtest.Pageviews(site, time.Now().UTC().Truncate(time.Second).Add(-10*time.Minute), 5)
			if err := store.InsertEvents(ctx, db, earlier); err != nil {
				t.Fatal(err)
			}
			dropRollups(t, db, site)
			if err := store.InsertEvents(ctx, db, eventtest.Pageviews(site, time.Now().UTC(), 1)); err != nil {
				t.Fatal(err)
			}
			sp, err := spool.Open(spool.Options{Dir: t.TempDir(), MaxBytes: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			defer sp.Close()
			repair := spool.Repair{Site: site, Day: earlier[0].Timestamp.Format(time.DateOnly)}
			if err := sp.AddRepairs([]spool.Repair{repair}); err != nil {
				t.Fatal(err)
			}
			w := &writer{db: db, spool: sp, log: slog.New(slog.NewTextHandler(io.Discard, nil)), interval: time.Second}
			w.repairDue(ctx)
			if got := sp.Repairs(); len(got) != 1 {
				t.Errorf("days waiting for a repair while the site was written a moment ago: %v, want %v", got, repair)
			}
			if got := rollupPageviews(t, db, site); got != 2 {
				t.Errorf("rollups hold %d page views (hourly + daily), want 2: only the new event's, the repair has not run", got)
			}
		})
	}
}
