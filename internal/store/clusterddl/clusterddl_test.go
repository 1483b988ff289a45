package clusterddl

import (
	"reflect"
	"strings"
	"testing"
)

var c = Cluster{Name: "ck", Database: "db"}

func TestRenderShardsTablesWithVisitors(t *testing.T) {
	l := Layout{}
	if got := withDedupWindow("\nORDER BY x\nSETTINGS index_granularity = 8192"); got != "\nORDER BY x\nSETTINGS replicated_deduplication_window = 10000, index_granularity = 8192" {
		t.Errorf("dedup window into a SETTINGS clause: %q", got)
	}
	create := "CREATE TABLE IF NOT EXISTS hits (\n    site String,\n    visitor_id UInt64,\n    t DateTime('UTC')\n) ENGINE = MergeTree\nPARTITION BY toYYYYMM(t)\nORDER BY (site, t)"
	l.Learn(create)
	if l["hits"] != VisitorKey {
		t.Fatalf("a table with visitor_id is sharded by it; layout %v", l)
	}
	got, err := c.Render(create, l)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"CREATE TABLE IF NOT EXISTS db.hits_local ON CLUSTER ck (\n    site String,\n    visitor_id UInt64,\n    t DateTime('UTC')\n) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/db/hits_local', '{replica}')\nPARTITION BY toYYYYMM(t)\nORDER BY (site, t)\nSETTINGS replicated_deduplication_window = 10000",
		"CREATE TABLE IF NOT EXISTS db.hits ON CLUSTER ck AS db.hits_local ENGINE = Distributed(ck, db, hits_local, visitor_id)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestRenderReplicatesSharedTables(t *testing.T) {
	create := "CREATE TABLE IF NOT EXISTS sites (\n    domain String,\n    version UInt64\n) ENGINE = ReplacingMergeTree(version)\nORDER BY domain"
	l := Layout{}
	l.Learn(create)
	got, err := c.Render(create, l)
	if err != nil {
		t.Fatal(err)
	}
	want := "CREATE TABLE IF NOT EXISTS db.sites ON CLUSTER ck (\n    domain String,\n    version UInt64\n) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/db/sites', '{shard}-{replica}', version)\nORDER BY domain"
	if len(got) != 1 || got[0] != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestRenderViewsAltersDropsInserts(t *testing.T) {
	l := Layout{"events": VisitorKey, "stats": "rand()"}
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"CREATE MATERIALIZED VIEW IF NOT EXISTS stats_mv TO stats AS\nSELECT site, count() AS n\nFROM events\nARRAY JOIN arrayMap(x -> x, tags) AS tag\nWHERE name IN (SELECT name FROM names)\nGROUP BY site",
			[]string{"CREATE MATERIALIZED VIEW IF NOT EXISTS db.stats_mv ON CLUSTER ck TO db.stats_local AS SELECT site, count() AS n\nFROM db.events_local\nARRAY JOIN arrayMap(x -> x, tags) AS tag\nWHERE name IN (SELECT name FROM db.names)\nGROUP BY site"}},
		{"ALTER TABLE events ADD COLUMN time_us UInt64 DEFAULT 0",
			[]string{"ALTER TABLE events ADD COLUMN time_us UInt64 DEFAULT 0", // the store runs it on each shard
				"DROP TABLE IF EXISTS db.events ON CLUSTER ck",
				"CREATE TABLE IF NOT EXISTS db.events ON CLUSTER ck AS db.events_local ENGINE = Distributed(ck, db, events_local, visitor_id)"}},
		{"ALTER TABLE `events` DELETE WHERE visitor_id = ?",
			[]string{"ALTER TABLE `events` DELETE WHERE visitor_id = ?"}},
		{"ALTER TABLE salts DROP PARTITION '2025-01-01'",
			[]string{"ALTER TABLE salts DROP PARTITION '2025-01-01'"}},
		{"DROP TABLE IF EXISTS events", []string{"DROP TABLE IF EXISTS db.events ON CLUSTER ck", "DROP TABLE IF EXISTS db.events_local ON CLUSTER ck"}},
		{"INSERT INTO stats (site, n) SELECT site, count() FROM events GROUP BY site",
			[]string{"INSERT INTO stats (site, n) SELECT site, count() FROM events GROUP BY site"}},
	} {
		got, err := c.Render(tc.in, l)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\ngot  %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestRenderRefusesWhatItDoesNotKnow(t *testing.T) {
	for _, stmt := range []string{
		"RENAME TABLE a TO b",
		"CREATE MATERIALIZED VIEW v ENGINE = MergeTree ORDER BY x AS SELECT x FROM events", // no TO table
		"OPTIMIZE TABLE events FINAL",
	} {
		if _, err := c.Render(stmt, Layout{}); err == nil || !strings.Contains(err.Error(), "no cluster rendering") {
			t.Errorf("%s: want a refusal, got %v", stmt, err)
		}
	}
}

func TestMutationAndOnShards(t *testing.T) {
	if table, ok := Mutation("ALTER TABLE events DELETE WHERE 1"); !ok || table != "events" {
		t.Errorf("delete: %q %v", table, ok)
	}
	if _, ok := Mutation("ALTER TABLE salts DROP PARTITION 1"); ok {
		t.Error("DROP PARTITION is no mutation")
	}
	if _, ok := OnShards("ALTER TABLE db.events_local ON CLUSTER ck DELETE WHERE 1"); ok {
		t.Error("a rendered statement is not rendered again")
	}
	// A merge runs where the rows are: on each shard's local table, not the Distributed one.
	if table, ok := OnShards("OPTIMIZE TABLE sessions PARTITION 202403 FINAL"); !ok || table != "sessions" {
		t.Errorf("optimize: %q %v", table, ok)
	}
	for stmt, want := range map[string]string{
		"OPTIMIZE TABLE sessions PARTITION 202403 FINAL": "OPTIMIZE TABLE db.sessions_local PARTITION 202403 FINAL",
		"optimize table salts":                           "OPTIMIZE TABLE db.salts",
		"ALTER TABLE sessions DELETE WHERE site = 'a'":   "ALTER TABLE db.sessions_local DELETE WHERE site = 'a'",
	} {
		got, _, err := c.OnServer(stmt, Layout{"sessions": VisitorKey})
		if err != nil || got != want {
			t.Errorf("%s: %q (%v), want %q", stmt, got, err, want)
		}
	}
	if !ColumnChange("ALTER TABLE events ADD COLUMN x UInt8") || !ColumnChange("alter table events modify column x UInt16") {
		t.Error("adding or modifying a column is a column change")
	}
	if ColumnChange("ALTER TABLE events DELETE WHERE 1") || ColumnChange("ALTER TABLE salts DROP PARTITION 1") {
		t.Error("a delete or a dropped partition is no column change")
	}
}
