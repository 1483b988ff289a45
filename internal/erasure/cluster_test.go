package erasure_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/spool"
	"github.com/websystems/loendur/internal/store"

	"github.com/websystems/loendur/internal/erasure"
	"github.com/websystems/loendur/internal/erasure/erasuretest"
	"github.com/websystems/loendur/internal/store/storetest"
)

// An erasure on the local cluster leaves no row of the visitor on any shard or replica
// (events, visits), keeps the other visitors' rows, and its ledger entry is on every
// server, so a collector connected to any of them learns of it.
func TestEraseOnCluster(t *testing.T) {
	ctx := context.Background()
	db, c := storetest.Cluster(t)
	name := db.Info().Database
	site := "cluster.example"
	erasuretest.Store(t, db, erasuretest.Events(site))
	res, err := erasure.Erase(ctx, db, erasure.Selector{Site: site, Kind: erasure.KindVisitor, Visitors: []uint64{1}}, erasure.Options{RequestedBy: "test"})
	if err != nil {
		t.Fatalf("erase: %v", err)
	}
	if res.Rows == 0 {
		t.Fatalf("erased nothing: %+v", res)
	}
	for _, n := range c.Nodes() {
		for _, q := range []string{
			"SELECT count() FROM events_local WHERE visitor_id = 1",
			"SELECT count() FROM sessions_local WHERE visitor_id = 1",
		} {
			out, err := n.Query(name, q)
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(out) != "0" {
				t.Errorf("server %d (shard %d, replica %d): %s = %s after the erasure", n.Index+1, n.Shard, n.Replica, q, strings.TrimSpace(out))
			}
		}
	}
	var left []struct {
		N uint64 `ch:"n"`
	}
	if err := db.Select(ctx, &left, "SELECT count() AS n FROM events WHERE visitor_id IN (2, 3)"); err != nil || len(left) == 0 || left[0].N != 2 {
		t.Errorf("the other visitors' events: %v, %v; want 2", left, err)
	}
	want := fmt.Sprint(1)
	for _, n := range c.Nodes() {
		out, err := n.Query(name, "SELECT count() FROM erasure_ledger WHERE site = '"+site+"'")
		if err != nil {
			t.Fatal(err)
		}
		// The ledger is replicated: the other replicas fetch the entry in the background.
		for range 100 {
			if strings.TrimSpace(out) == want {
				break
			}
			out, _ = n.Query(name, "SELECT count() FROM erasure_ledger WHERE site = '"+site+"'")
		}
		if strings.TrimSpace(out) != want {
			t.Errorf("server %d: %s ledger entries, want %s", n.Index+1, strings.TrimSpace(out), want)
		}
	}
}

// An erasure served by one collector reaches what another collector held meanwhile:
// B follows the ledger (Service.Follow); its queue, when waited for, stores a late
// event of the visitor (as a batch delivered after the erasure would), and its spool
// holds more. Both are gone from every shard and replica and from B's spool.
func TestFollowLedgerOnCluster(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, c := storetest.Cluster(t)
	name := db.Info().Database
	site := "follow.example"
	evs := erasuretest.Events(site)
	erasuretest.Store(t, db, evs)

	sp, err := spool.Open(spool.Options{Dir: t.TempDir(), MaxBytes: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	spooled := evs[0]
	spooled.EventID = uuid.New()
	if err := sp.Append(spool.Batch{ID: uuid.New(), Events: []store.Event{spooled}}); err != nil {
		t.Fatal(err)
	}
	late := evs[1]
	late.EventID = uuid.New()
	var flushed atomic.Bool
	b := erasure.NewService(erasure.ServiceOptions{DB: db, Spool: sp, Queue: erasure.QueueFunc(func(ctx context.Context) error {
		if flushed.CompareAndSwap(false, true) {
			return store.InsertEvents(ctx, db, []store.Event{late})
		}
		return nil
	})})
	go b.Follow(ctx, 200*time.Millisecond)
	time.Sleep(500 * time.Millisecond) // B has read the ledger as it was

	a := erasure.NewService(erasure.ServiceOptions{DB: db})
	if _, err := a.Erase(ctx, erasure.Request{Selector: erasure.Selector{Site: site, Kind: erasure.KindVisitor, Visitors: []uint64{1}}, RequestedBy: "test"}); err != nil {
		t.Fatalf("erase at A: %v", err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		left := 0
		for _, n := range c.Nodes() {
			out, err := n.Query(name, "SELECT count() FROM events_local WHERE visitor_id = 1")
			if err != nil || strings.TrimSpace(out) != "0" {
				left++
			}
		}
		oldest, ok, err := sp.Oldest()
		inSpool := err != nil || ok && len(oldest.Events) > 0
		if left == 0 && flushed.Load() && !inSpool {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("90 s after the erasure: %d servers hold events of the visitor; B's queue flushed: %v; B's spool still holds them: %v",
				left, flushed.Load(), inSpool)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
