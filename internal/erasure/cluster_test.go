package erasure_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

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
