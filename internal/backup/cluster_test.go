package backup_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/backup"
	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/derived/derivedtest"
	"github.com/websystems/loendur/internal/erasure"
	"github.com/websystems/loendur/internal/eventtest"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
	"github.com/websystems/loendur/internal/testenv/chcluster"
)

// A backup of the local cluster, taken per shard, restored into a new cluster database
// that meanwhile recorded an erasure (a forget request served before the restore):
// every row goes back to the shard it came from and reaches both replicas; re-applying
// the ledger (as `loendur restore` does) removes the erased visitor from every server;
// the rollups agree with the events, the views work again, and the figures equal a
// single server's that stored the same events and served the same erasure.
func TestBackupRestoreOnCluster(t *testing.T) {
	ctx := context.Background()
	src, c := storetest.Cluster(t)
	dst, _ := storetest.Cluster(t)
	nodes := c.Nodes()
	opts := backup.Options{DSN: "clickhouse://" + nodes[0].Addr() + "/x", HTTPPort: nodes[0].Ports.HTTP}

	events := eventtest.Realistic(1500, 21)
	if err := store.InsertEvents(ctx, src, events); err != nil {
		t.Fatal(err)
	}
	site := events[0].Site
	done := events[len(events)-1].Timestamp.Add(derived.MaxVisitLength + time.Hour)
	// The visits are computed from the events as whichever replica of a shard answers
	// holds them; a replica that has not fetched them yet (as under a loaded machine)
	// would leave its shard's visits out.
	for shard := 1; shard <= chcluster.Shards; shard++ {
		storetest.ReplicasAgree(t, nodes, shard, src.Info().Database, "SELECT count() FROM events_local")
	}
	derivedtest.WriteVisits(t, src, site, done)
	derivedtest.RequireRows(t, src, site)
	perShard := []string{
		"SELECT count(), sum(pageviews), sum(cityHash64(session_id)) FROM sessions_local",
		"SELECT count(), sum(cityHash64(toString(event_id))) FROM events_local",
		"SELECT count(), sum(pageviews) FROM page_stats_daily_local",
		"SELECT count(), sum(events) FROM event_stats_hourly_local",
	}
	before := map[string]string{}
	for shard := 1; shard <= chcluster.Shards; shard++ {
		for _, q := range perShard {
			got := storetest.ReplicasAgree(t, nodes, shard, src.Info().Database, q)
			if strings.HasPrefix(got, "0\t") {
				t.Fatalf("shard %d: %s = %s: the source holds nothing there", shard, q, got)
			}
			before[fmt.Sprint(shard, q)] = got
		}
	}

	dir := filepath.Join(t.TempDir(), "backup")
	m, err := backup.Backup(ctx, src, dir, opts)
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	if m.Cluster != chcluster.Name || len(m.Shards) != chcluster.Shards {
		t.Fatalf("manifest: cluster %q, %d shards", m.Cluster, len(m.Shards))
	}
	for _, s := range m.Shards {
		if st, err := os.Stat(filepath.Join(dir, s.Dir, "events_local.native")); err != nil || st.Size() == 0 {
			t.Fatalf("shard %d's events in the backup: %v", s.Num, err)
		}
	}

	// A forget request served by the new database before the restore.
	victim := events[0].VisitorID
	if _, err := erasure.Erase(ctx, dst, erasure.Selector{Site: events[0].Site, Kind: erasure.KindVisitor, Visitors: []uint64{victim}},
		erasure.Options{RequestedBy: "test"}); err != nil {
		t.Fatalf("erase before the restore: %v", err)
	}

	optsDst := opts
	if _, err := backup.Restore(ctx, dst, dir, optsDst); err != nil {
		t.Fatalf("restore: %v", err)
	}
	for shard := 1; shard <= chcluster.Shards; shard++ {
		for _, q := range perShard {
			if got, want := storetest.ReplicasAgree(t, nodes, shard, dst.Info().Database, q), before[fmt.Sprint(shard, q)]; got != want {
				t.Errorf("shard %d after the restore: %s = %s, want the source's %s", shard, q, got, want)
			}
		}
	}
	if _, err := backup.Restore(ctx, dst, dir, optsDst); err == nil || !strings.Contains(err.Error(), "already holds") {
		t.Errorf("a second restore into the loaded database: %v, want a refusal", err)
	}

	erased, err := erasure.Reapply(ctx, dst, nil)
	if err != nil {
		t.Fatalf("re-apply the ledger: %v", err)
	}
	victimEvents := 0
	for _, e := range events {
		if e.VisitorID == victim {
			victimEvents++
		}
	}
	if erased != uint64(victimEvents) {
		t.Errorf("re-applying the ledger erased %d events, want the victim's %d", erased, victimEvents)
	}
	for _, n := range nodes {
		for _, q := range []string{"SELECT count() FROM events_local WHERE visitor_id = ", "SELECT count() FROM sessions_local WHERE visitor_id = "} {
			out, err := n.Query(dst.Info().Database, q+strconv.FormatUint(victim, 10))
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(out) != "0" {
				t.Errorf("server %d (shard %d, replica %d): %s%d = %s after the ledger was re-applied", n.Index+1, n.Shard, n.Replica, q, victim, strings.TrimSpace(out))
			}
		}
	}
	if got := count(t, dst, "SELECT count() AS n FROM events"); got != uint64(len(events)-victimEvents) {
		t.Errorf("%d events after the restore, want %d", got, len(events)-victimEvents)
	}
	for shard := 1; shard <= chcluster.Shards; shard++ {
		for _, q := range perShard {
			storetest.ReplicasAgree(t, nodes, shard, dst.Info().Database, q)
		}
	}
	rollupsAgree(t, dst)
	derivedtest.NoDrift(t, dst, site, "after the restore and the ledger")

	// The figures equal a single server's with the same events and erasure.
	single := storetest.Server(t)
	if err := store.InsertEvents(ctx, single, events); err != nil {
		t.Fatal(err)
	}
	derivedtest.WriteVisits(t, single, site, done)
	if _, err := erasure.Erase(ctx, single, erasure.Selector{Site: events[0].Site, Kind: erasure.KindVisitor, Visitors: []uint64{victim}},
		erasure.Options{RequestedBy: "test"}); err != nil {
		t.Fatal(err)
	}
	span := derived.VisitSpan{Site: events[0].Site, From: events[0].Timestamp.Add(-time.Hour), To: events[len(events)-1].Timestamp.Add(time.Hour),
		EndFrom: events[0].Timestamp.Add(-time.Hour)}
	for _, q := range []string{
		"SELECT concat(toString(session_id), ' ', entry_page, ' ', exit_page, ' ', toString(pageviews)) AS s FROM (" + span.Query() + ") ORDER BY session_id",
		"SELECT concat(toString(session_id), ' ', entry_page, ' ', exit_page, ' ', toString(pageviews)) AS s FROM sessions FINAL WHERE site = '" + site + "' ORDER BY session_id",
		"SELECT concat(pathname, ' ', toString(sum(pageviews)), ' ', toString(uniqIfMerge(visitors))) AS s FROM page_stats_daily GROUP BY pathname ORDER BY pathname",
	} {
		if a, b := rows(t, dst, q), rows(t, single, q); a != b || a == "" {
			t.Errorf("%s\non the restored cluster:\n%.400s\non a single server:\n%.400s", q, a, b)
		}
	}

	// The views are back: a new page view reaches the rollups once.
	pv := count(t, dst, "SELECT sum(pageviews) AS n FROM page_stats_daily")
	if err := store.InsertEvents(ctx, dst, []store.Event{{EventID: uuid.New(), Site: events[0].Site, Timestamp: events[0].Timestamp,
		Name: "pageview", Pathname: "/after-restore", VisitorID: 4242}}); err != nil {
		t.Fatal(err)
	}
	// A read through the Distributed table may ask the replica that has not fetched
	// the new part yet: wait until the replicas agree.
	for shard := 1; shard <= chcluster.Shards; shard++ {
		storetest.ReplicasAgree(t, nodes, shard, dst.Info().Database, "SELECT count(), sum(pageviews) FROM page_stats_daily_local")
	}
	if got := count(t, dst, "SELECT sum(pageviews) AS n FROM page_stats_daily"); got != pv+1 {
		t.Errorf("a new page view after the restore: %d page views in the rollup, want %d", got, pv+1)
	}
}

// rollupsAgree fails the test when the rollups count other page views or custom events
// than the events table.
func rollupsAgree(t *testing.T, db store.Store) {
	t.Helper()
	q := `SELECT toString((SELECT countIf(name = 'pageview') FROM events)) || ' ' ||
		toString((SELECT sum(pageviews) FROM page_stats_hourly)) || ' ' ||
		toString((SELECT sum(pageviews) FROM page_stats_daily)) || ' ' ||
		toString((SELECT countIf(name NOT IN ('pageview', 'engagement')) FROM events)) || ' ' ||
		toString((SELECT sum(events) FROM event_stats_hourly WHERE prop_key = '')) || ' ' ||
		toString((SELECT sum(events) FROM event_stats_daily WHERE prop_key = '')) AS s`
	f := strings.Fields(rows(t, db, q))
	if len(f) != 6 || f[0] != f[1] || f[0] != f[2] || f[3] != f[4] || f[3] != f[5] || f[0] == "0" {
		t.Errorf("rollups disagree with events: page views in events, hourly, daily; custom events in events, hourly, daily: %v", f)
	}
}

func count(t *testing.T, db store.Store, q string) uint64 {
	t.Helper()
	var rs []struct {
		N uint64 `ch:"n"`
	}
	if err := db.Select(context.Background(), &rs, q); err != nil || len(rs) != 1 {
		t.Fatalf("%s: %v", q, err)
	}
	return rs[0].N
}

// rows is q's answer as text: q selects one String column s.
func rows(t *testing.T, db store.Store, q string) string {
	t.Helper()
	var out []struct {
		S string `ch:"s"`
	}
	if err := db.Select(context.Background(), &out, q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	var b strings.Builder
	for _, r := range out {
		fmt.Fprintln(&b, r.S)
	}
	return b.String()
}
