package erasure_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/erasure"
	"github.com/websystems/loendur/internal/spool"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

// Events waiting in the spool when the erasure runs are erased too.
func TestEraseReachesTheSpool(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			site := engine + ".spool.test"
			sp := openSpool(t)
			var evs []store.Event
			for _, v := range []uint64{1, 2, 1} {
				evs = append(evs, store.Event{EventID: uuid.New(), Site: site, Timestamp: time.Now().UTC(), Name: "pageview", VisitorID: v, IP: "203.0.0.0"})
			}
			if err := sp.Append(spool.Batch{ID: uuid.New(), Events: evs}); err != nil {
				t.Fatal(err)
			}
			res, err := erasure.Erase(context.Background(), db, erasure.Selector{Site: site, Kind: erasure.KindVisitor, Visitors: []uint64{1}},
				erasure.Options{RequestedBy: "test", Spool: sp})
			if err != nil {
				t.Fatal(err)
			}
			if res.Spooled != 2 {
				t.Errorf("erased %d spooled events, want 2", res.Spooled)
			}
			b, ok, err := sp.Oldest()
			if err != nil || !ok || len(b.Events) != 1 || b.Events[0].VisitorID != 2 {
				t.Errorf("spool after erasure: %+v %v %v", b.Events, ok, err)
			}
		})
	}
}

// An erasure of events of today queues today's repair in the collector's spool: its
// recomputation counts twice what the site stored meanwhile, so the day is computed once
// more when nothing writes it (collector). A day long over is not queued.
func TestEraseQueuesTheRepairOfToday(t *testing.T) {
	now := time.Now().UTC()
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			site := engine + ".live.test"
			sp := openSpool(t)
			var evs []store.Event
			for _, at := range []time.Time{now.AddDate(0, 0, -5), now} {
				evs = append(evs, store.Event{EventID: uuid.New(), Site: site, Timestamp: at, Name: "pageview", VisitorID: 1, SessionID: 1, IP: "203.0.0.0"})
			}
			if err := store.InsertEvents(context.Background(), db, evs); err != nil {
				t.Fatal(err)
			}
			res, err := erasure.Erase(context.Background(), db, erasure.Selector{Site: site, Kind: erasure.KindVisitor, Visitors: []uint64{1}},
				erasure.Options{RequestedBy: "test", Spool: sp, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			if res.Events != 2 {
				t.Fatalf("erased %d events, want 2", res.Events)
			}
			want := []spool.Repair{{Site: site, Day: now.Format(time.DateOnly)}}
			if got := sp.Repairs(); !slices.Equal(got, want) {
				t.Errorf("repairs queued: %v, want %v", got, want)
			}
		})
	}
}

// openSpool opens a collector's spool in a folder of the test's, closed at its end.
func openSpool(t *testing.T) *spool.Spool {
	t.Helper()
	sp, err := spool.Open(spool.Options{Dir: t.TempDir(), MaxBytes: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	return sp
}
