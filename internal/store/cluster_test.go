package store_test

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/eventtest"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
	"github.com/websystems/loendur/internal/testenv/chcluster"
)

// TestClusterMigrationsAndInserts runs every migration (schema/*.sql and the derived
// tables, rendered by clusterddl's rule) ON CLUSTER on the real local cluster, then
// checks what a user of a cluster counts on: every server has the same tables, event
// tables are Replicated per shard behind Distributed ones and shared tables replicated
// everywhere; a batch lands exactly once, spread over both shards and copied to both
// replicas of each; a retried identical batch is dropped by replication's block
// deduplication (rollups too); a delete reaches every replica; and a visit computed
// across the shards equals the single server's.
func TestClusterMigrationsAndInserts(t *testing.T) {
	ctx := context.Background()
	s, c := storetest.Cluster(t)
	db := s.Info().Database
	nodes := c.Nodes()

	// The same tables on every server, with the engines of the rule.
	var first string
	for _, n := range nodes {
		out := query(t, n, db, "SELECT name, engine FROM system.tables WHERE database = currentDatabase() ORDER BY name")
		if first == "" {
			first = out
		} else if out != first {
			t.Fatalf("server %d has other tables:\n%s\nthan server 1:\n%s", n.Index+1, out, first)
		}
	}
	engines := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(first), "\n") {
		name, engine, _ := strings.Cut(line, "\t")
		engines[name] = engine
	}
	for name, want := range map[string]string{
		"events": "Distributed", "events_local": "ReplicatedMergeTree",
		"sessions": "Distributed", "sessions_local": "ReplicatedReplacingMergeTree",
		"page_stats_daily": "Distributed", "page_stats_daily_local": "ReplicatedSummingMergeTree",
		"page_stats_daily_mv": "MaterializedView",
		"sites":               "ReplicatedReplacingMergeTree", "salts": "ReplicatedMergeTree",
		"erasure_ledger": "ReplicatedMergeTree", "schema_migrations": "ReplicatedMergeTree",
		"sessions_progress": "ReplicatedReplacingMergeTree", "users": "ReplicatedReplacingMergeTree",
	} {
		if engines[name] != want {
			t.Errorf("table %s: engine %q, want %q", name, engines[name], want)
		}
	}
	for name, engine := range engines {
		if strings.HasSuffix(engine, "MergeTree") && !strings.HasPrefix(engine, "Replicated") {
			t.Errorf("table %s is %s: not replicated", name, engine)
		}
	}
	versions, err := store.Versions(s.Info())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(query(t, nodes[3], db, "SELECT count(DISTINCT version) FROM schema_migrations")); got != strconv.Itoa(len(versions)) {
		t.Errorf("schema_migrations on server 4: %s versions, want %d", got, len(versions))
	}

	// A batch, stored once, on both shards and both replicas of each.
	events := eventtest.Realistic(2000, 7)
	if err := store.InsertEvents(ctx, s, events); err != nil {
		t.Fatalf("insert: %v", err)
	}
	pageviews := 0
	for _, e := range events {
		if e.Name == "pageview" {
			pageviews++
		}
	}
	checkStored := func(when string) {
		t.Helper()
		// The replicas first: a read through the Distributed table may ask the replica
		// that has not fetched the new part yet.
		var total uint64
		for shard := 1; shard <= chcluster.Shards; shard++ {
			n, _ := strconv.ParseUint(storetest.ReplicasAgree(t, nodes, shard, db, "SELECT count() FROM events_local"), 10, 64)
			if n == 0 {
				t.Errorf("%s: shard %d holds no events: the sharding key does not spread them", when, shard)
			}
			total += n
		}
		if total != uint64(len(events)) {
			t.Fatalf("%s: the shards hold %d events together, want %d", when, total, len(events))
		}
		if got := count(t, s, "SELECT count() AS n FROM events"); got != uint64(len(events)) {
			t.Fatalf("%s: %d events through the Distributed table, want %d", when, got, len(events))
		}
		if got := count(t, s, "SELECT count() AS n FROM (SELECT event_id FROM events GROUP BY event_id HAVING count() > 1)"); got != 0 {
			t.Fatalf("%s: %d event ids stored twice", when, got)
		}
		if got := count(t, s, "SELECT sum(pageviews) AS n FROM page_stats_daily"); got != uint64(pageviews) {
			t.Fatalf("%s: page_stats_daily counts %d page views, want %d", when, got, pageviews)
		}
	}
	checkStored("after the insert")

	// A visitor's events are on one shard.
	perShard := map[uint64]int{}
	for shard := 1; shard <= chcluster.Shards; shard++ {
		out := query(t, nodes[(shard-1)*chcluster.Replicas], db, "SELECT DISTINCT visitor_id FROM events_local")
		for _, v := range strings.Fields(out) {
			id, _ := strconv.ParseUint(v, 10, 64)
			perShard[id]++
		}
	}
	for id, n := range perShard {
		if n > 1 {
			t.Fatalf("visitor %d has events on %d shards", id, n)
		}
	}

	// The same batch again, as a retry after a lost answer: replication drops the
	// identical blocks, in events and in the rollups its views write.
	if err := store.InsertEvents(ctx, s, events); err != nil {
		t.Fatalf("insert again: %v", err)
	}
	checkStored("after the batch was retried")

	// Visits computed across the shards equal the single server's.
	single := storetest.Server(t)
	if err := store.InsertEvents(ctx, single, events); err != nil {
		t.Fatal(err)
	}
	span := derived.VisitSpan{Site: "example.com", From: events[0].Timestamp.Add(-time.Hour), To: events[len(events)-1].Timestamp.Add(time.Hour),
		EndFrom: events[0].Timestamp.Add(-time.Hour)}
	q := "SELECT toString(session_id) AS id, entry_page, exit_page, pageviews FROM (" + span.Query() + ") ORDER BY session_id"
	if a, b := visits(t, s, q), visits(t, single, q); a != b || a == "" {
		t.Fatalf("visits on the cluster differ from the single server's:\ncluster:\n%.500s\nsingle:\n%.500s", a, b)
	}

	// A delete reaches every replica of every shard before Exec returns.
	victim := events[0].VisitorID
	if err := s.Exec(ctx, "ALTER TABLE events DELETE WHERE visitor_id = ?", victim); err != nil {
		t.Fatalf("delete: %v", err)
	}
	for _, n := range nodes {
		if got := strings.TrimSpace(query(t, n, db, fmt.Sprintf("SELECT count() FROM events_local WHERE visitor_id = %d", victim))); got != "0" {
			t.Errorf("server %d still holds %s events of the erased visitor", n.Index+1, got)
		}
	}
}

// TestClusterMigrationFinishesAHalfAddedColumn stops migration 0024 (ADD COLUMN time_us
// to the events) where a crash could: shard 1's local tables have the column, shard 2's
// and the Distributed table over them do not. Migrating again adds it where it is
// missing, and every server then reads and writes it; the distributed DDL queue still
// works afterwards (ClickHouse 18.16's stops for good when two replicas race on an
// ALTER … ON CLUSTER of a replicated table, which is why ALTERs go to one replica per
// shard).
func TestClusterMigrationFinishesAHalfAddedColumn(t *testing.T) {
	ctx := context.Background()
	s, c := storetest.Cluster(t)
	db := s.Info().Database
	nodes := c.Nodes()
	shard2 := nodes[chcluster.Replicas]
	query(t, shard2, db, "ALTER TABLE events_local DROP COLUMN time_us") // replicated to its other replica
	for _, n := range nodes {
		query(t, n, db, "ALTER TABLE events DROP COLUMN time_us") // each server's Distributed table
	}
	if err := s.Exec(ctx, "ALTER TABLE schema_migrations DELETE WHERE version = 24"); err != nil {
		t.Fatal(err)
	}

	applied, err := store.Migrate(ctx, s)
	if err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	if fmt.Sprint(applied) != "[0024_event_order.sql]" {
		t.Errorf("applied %v, want [0024_event_order.sql]", applied)
	}
	for _, n := range nodes {
		for _, table := range []string{"events_local", "events"} {
			got := query(t, n, db, "SELECT type FROM system.columns WHERE database = currentDatabase() AND table = '"+table+"' AND name = 'time_us'")
			if strings.TrimSpace(got) != "UInt64" {
				t.Errorf("server %d: %s.time_us is %q, want UInt64", n.Index+1, table, got)
			}
		}
	}
	events := eventtest.Realistic(500, 3)
	if err := store.InsertEvents(ctx, s, events); err != nil {
		t.Fatalf("insert after the migration: %v", err)
	}
	if got := count(t, s, "SELECT count() AS n FROM events WHERE time_us > 0"); got != uint64(len(events)) {
		t.Errorf("%d events with their time_us, want %d", got, len(events))
	}
}

// Visits written twice (two finalizers on the same span) are merged by OPTIMIZE …
// FINAL, which the finalizer sends as to a single server: on a cluster it runs on each
// shard's replicated table, and every replica ends with each visit once, in the
// sessions table and in its sample.
func TestClusterOptimizeMergesEveryShard(t *testing.T) {
	ctx := context.Background()
	s, c := storetest.Cluster(t)
	db := s.Info().Database
	nodes := c.Nodes()
	const visits = 200
	start := time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC)
	for version := range uint64(2) {
		var rows [][]any
		for i := range uint64(visits) {
			rows = append(rows, []any{"merge.test", i + 1, i + 1, start, start.Add(time.Minute), version + 1})
		}
		if err := s.Insert(ctx, "sessions", []string{"site", "session_id", "visitor_id", "start_time", "end_time", "version"}, rows); err != nil {
			t.Fatal(err)
		}
	}
	// Every replica has both writes first: a replica's merge takes only the parts it has,
	// and the background ones of a busy machine do not wait.
	for shard := 1; shard <= chcluster.Shards; shard++ {
		storetest.ReplicasAnswer(t, nodes, shard, db, "SELECT count() > 0 AND count() = 2 * uniqExact(session_id) FROM sessions_local", "1")
		storetest.ReplicasAnswer(t, nodes, shard, db, "SELECT (SELECT count() FROM "+derived.VisitSample.Name+"_local) = "+
			"2 * (SELECT uniqExact(session_id) FROM sessions_local WHERE "+derived.VisitSample.Where()+")", "1")
	}
	if err := s.Exec(ctx, "OPTIMIZE TABLE sessions PARTITION 202403 FINAL"); err != nil {
		t.Fatalf("merge the sessions table: %v", err)
	}
	if err := s.Exec(ctx, "OPTIMIZE TABLE "+derived.VisitSample.Name+" PARTITION 202403 FINAL"); err != nil {
		t.Fatalf("merge the visit sample: %v", err)
	}
	for _, table := range []string{"sessions_local", derived.VisitSample.Name + "_local"} {
		var total uint64
		for shard := 1; shard <= chcluster.Shards; shard++ {
			// Each replica either merged itself or fetched the merged part: wait for both.
			out := storetest.ReplicasAnswer(t, nodes, shard, db, "SELECT count() = uniqExact(session_id), count() FROM "+table, "1\t")
			n, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(out, "1\t")), 10, 64)
			total += n
		}
		if table == "sessions_local" && total != visits {
			t.Errorf("%s: the shards hold %d visits after the merge, want %d", table, total, visits)
		}
		if table != "sessions_local" && total == 0 {
			t.Errorf("%s holds none of the %d visits: the fixture has no sampled visitor", table, visits)
		}
	}
}

func query(t *testing.T, n chcluster.Node, db, q string) string {
	t.Helper()
	out, err := n.Query(db, q)
	if err != nil {
		t.Fatalf("server %d: %v", n.Index+1, err)
	}
	return out
}

func count(t *testing.T, s store.Store, q string) uint64 {
	t.Helper()
	var rows []struct {
		N uint64 `ch:"n"`
	}
	if err := s.Select(context.Background(), &rows, q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if len(rows) == 0 {
		return 0
	}
	return rows[0].N
}

func visits(t *testing.T, s store.Store, q string) string {
	t.Helper()
	var rows []struct {
		ID    string `ch:"id"`
		Entry string `ch:"entry_page"`
		Exit  string `ch:"exit_page"`
		Views uint32 `ch:"pageviews"`
	}
	if err := s.Select(context.Background(), &rows, q); err != nil {
		t.Fatalf("visits: %v", err)
	}
	var lines []string
	for _, r := range rows {
		lines = append(lines, fmt.Sprintf("%s %s %s %d", r.ID, r.Entry, r.Exit, r.Views))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// BenchmarkInsertEventsCluster inserts batches of 10,000 realistic events (new ones each
// time: replication would drop a repeat) through the local cluster's Distributed table,
// and into one server for comparison, on this machine: the figures behind the README's
// capacity on paper.
func BenchmarkInsertEventsCluster(b *testing.B) {
	cluster, _ := storetest.Cluster(b)
	targets := map[string]store.Store{"cluster": cluster, "server": storetest.Server(b)}
	for name, s := range targets {
		b.Run(name, func(b *testing.B) {
			for i := range b.N {
				b.StopTimer()
				batch := eventtest.Realistic(10_000, uint64(i)+1000)
				b.StartTimer()
				if err := store.InsertEvents(context.Background(), s, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*10_000)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// After SyncReplicas every replica holds the events inserted before it, so that a count
// through the Distributed table, which reads any one replica of a shard, sees them all
// (an erasure decides by such counts what to delete). Fetches are stopped on every
// server while the events are inserted, so each lands on one replica only, and started
// again a second after SyncReplicas began waiting.
func TestSyncReplicasWaitsForEveryReplica(t *testing.T) {
	ctx := context.Background()
	s, c := storetest.Cluster(t)
	db := s.Info().Database
	nodes := c.Nodes()
	fetches := func(verb string) {
		for _, n := range nodes {
			query(t, n, db, "SYSTEM "+verb+" FETCHES "+db+".events_local")
		}
	}
	fetches("STOP")
	t.Cleanup(func() { fetches("START") })
	var evs []store.Event
	for v := range uint64(40) {
		e := eventtest.Pageview("sync.test", time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC), "/")
		e.VisitorID, e.SessionID = v+1, v+1
		evs = append(evs, e)
	}
	if err := store.InsertEvents(ctx, s, evs); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(time.Second, func() {
		for _, n := range nodes {
			n.Query(db, "SYSTEM START FETCHES "+db+".events_local")
		}
	})
	if err := store.SyncReplicas(ctx, s, "events"); err != nil {
		t.Fatalf("sync replicas: %v", err)
	}
	var total uint64
	for shard := 1; shard <= chcluster.Shards; shard++ {
		var counts []string
		for _, n := range nodes {
			if n.Shard == shard {
				counts = append(counts, strings.TrimSpace(query(t, n, db, "SELECT count() FROM events_local")))
			}
		}
		if counts[0] != counts[1] {
			t.Errorf("shard %d: the replicas hold %v events right after SyncReplicas; want the same", shard, counts)
		}
		n, _ := strconv.ParseUint(counts[0], 10, 64)
		total += n
	}
	if total != uint64(len(evs)) {
		t.Errorf("the shards hold %d events, want %d", total, len(evs))
	}
}
