package erasure_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/erasure"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

// The erasures of a process take turns, whoever asks (/api/forget, Data requests):
// while one runs, here held in its wait for the collector's queue, another starts
// nothing (not even that wait) and gives up when its caller does; once the first is
// done, it runs. A failed wait for the queue erases nothing.
func TestServiceErasuresTakeTurns(t *testing.T) {
	db := storetest.Embedded(t)
	ctx := context.Background()
	const site = "turns.test"
	now := time.Now().UTC()
	if err := store.InsertEvents(ctx, db, []store.Event{
		{EventID: uuid.New(), Site: site, Timestamp: now, Name: "pageview", VisitorID: 1, IP: "203.0.0.0"},
		{EventID: uuid.New(), Site: site, Timestamp: now, Name: "pageview", VisitorID: 2, IP: "203.0.0.0"},
	}); err != nil {
		t.Fatal(err)
	}
	var waits atomic.Int32
	entered, release := make(chan struct{}), make(chan struct{})
	queueDown := false
	svc := erasure.NewService(erasure.ServiceOptions{DB: db, Queue: erasure.QueueFunc(func(context.Context) error {
		if waits.Add(1) == 1 {
			close(entered)
			<-release
		}
		if queueDown {
			return errors.New("writer stuck")
		}
		return nil
	})})
	visitor := func(v uint64) erasure.Request {
		return erasure.Request{Selector: erasure.Selector{Site: site, Kind: erasure.KindVisitor, Visitors: []uint64{v}}, RequestedBy: "test"}
	}
	first := make(chan error, 1)
	go func() {
		_, err := svc.Erase(ctx, visitor(1))
		first <- err
	}()
	<-entered
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := svc.Erase(gone, visitor(2)); !errors.Is(err, context.Canceled) {
		t.Errorf("second erasure while the first runs: %v, want it to wait for its turn", err)
	}
	if n := waits.Load(); n != 1 {
		t.Errorf("the queue was waited for %d times while the first erasure ran, want once", n)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if got := visitors(t, db, site); len(got) != 1 || got[0] != 2 {
		t.Fatalf("after the first erasure: visitors %v, want [2]", got)
	}
	queueDown = true
	if _, err := svc.Erase(ctx, visitor(2)); !errors.Is(err, erasure.ErrQueueNotStored) {
		t.Errorf("erasure with the queue not stored: %v", err)
	}
	if got := visitors(t, db, site); len(got) != 1 {
		t.Errorf("erased although the queue was not stored: visitors %v", got)
	}
	queueDown = false
	res, err := svc.Erase(ctx, visitor(2))
	if err != nil || res.Events != 1 || !res.Recorded {
		t.Fatalf("second erasure after its turn came: %+v %v", res, err)
	}
	if got := visitors(t, db, site); len(got) != 0 {
		t.Errorf("visitors left: %v", got)
	}
}

func visitors(t *testing.T, db store.Store, site string) []uint64 {
	t.Helper()
	var rows []struct {
		V uint64 `ch:"v"`
	}
	if err := db.Select(context.Background(), &rows, "SELECT visitor_id AS v FROM events WHERE site = ? ORDER BY v", site); err != nil {
		t.Fatal(err)
	}
	out := []uint64{}
	for _, r := range rows {
		out = append(out, r.V)
	}
	return out
}
