package store

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/websystems/loendur/internal/derived/derivedtest"
)

// A database made by the previous release (testdata/release-schema is its schema/)
// keeps its events and figures through the upgrade: old events get time_us from their
// timestamp, the rollups and written visits keep their rows, the rollups added since
// (visit states, monthly rows, visit dimensions) are filled from the events and visits
// already written, the visit sample is filled from the visits already written, and
// new events store their sub-second order.
func TestUpgradeFromPreviousRelease(t *testing.T) {
	ctx := context.Background()
	s := openTestServer(t, "")
	if _, err := migrate(ctx, s, os.DirFS("testdata/release-schema"), false); err != nil {
		t.Fatalf("migrate to the previous release: %v", err)
	}
	for _, q := range []string{
		// INSERT … SELECT: a clickhouse-go Exec sends no data block, which 18.16 needs for VALUES.
		`INSERT INTO events (event_id, site, timestamp, name, pathname, visitor_id, session_id)
			SELECT toUUID(concat('00000000-0000-0000-0000-00000000000', toString(n))), 'up.test',
				toDateTime(['2024-03-04 10:00:00', '2024-03-04 10:00:00', '2024-03-04 10:00:05'][n], 'UTC'),
				'pageview', ['/a', '/b', '/c'][n], toUInt64(1), toUInt64(1)
			FROM (SELECT arrayJoin([1, 2, 3]) AS n)`,
		`INSERT INTO sessions (site, session_id, visitor_id, start_time, end_time, pageviews, events, entry_page, exit_page, version)
			SELECT 'up.test', toUInt64(1), toUInt64(1), toDateTime('2024-03-04 10:00:00', 'UTC'), toDateTime('2024-03-04 10:00:05', 'UTC'),
				toUInt32(3), toUInt32(3), '/a', '/c', toUInt64(1)`,
		// A visit of a visitor the visit sample holds, on a site of its own.
		fmt.Sprintf(`INSERT INTO sessions (site, session_id, visitor_id, start_time, end_time, pageviews, events, entry_page, exit_page, version)
			SELECT 'sampled.test', toUInt64(2), toUInt64(%d), toDateTime('2024-03-05 10:00:00', 'UTC'), toDateTime('2024-03-05 10:00:00', 'UTC'),
				toUInt32(1), toUInt32(1), '/s', '/s', toUInt64(1)`, derivedtest.SampledVisitors(1, 2)[0]),
	} {
		if err := s.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	applied, err := Migrate(ctx, s)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	if !slices.Contains(applied, "0024_event_order.sql") || !slices.Contains(applied, "0025_visit_stats.derived") ||
		slices.Contains(applied, "0021_sessions.derived") {
		t.Errorf("upgrade applied %v (the sessions tables, now rendered by internal/derived, were made by 0021_sessions.sql already)", applied)
	}
	var visits []struct {
		N    uint64 `ch:"n"`
		Exit string `ch:"exit"`
	}
	if err := s.Select(ctx, &visits, "SELECT count() AS n, any(exit_page) AS exit FROM sessions WHERE site = 'up.test'"); err != nil {
		t.Fatal(err)
	}
	if len(visits) != 1 || visits[0].N != 1 || visits[0].Exit != "/c" {
		t.Errorf("written visits after the upgrade: %+v, want the one visit exiting on /c", visits)
	}
	var sample []struct {
		N     uint64 `ch:"n"`
		First uint64 `ch:"first"`
	}
	if err := s.Select(ctx, &sample, `SELECT (SELECT count() FROM visit_sample WHERE site = 'sampled.test') AS n,
		(SELECT count() FROM system.tables WHERE database = currentDatabase() AND name LIKE 'sessions_sample%') AS first`); err != nil {
		t.Fatal(err)
	}
	if sample[0].N != 1 || sample[0].First != 0 {
		t.Errorf("after the upgrade the visit sample holds %d of the sampled visitor's 1 visit, and %d tables of its first layout are left",
			sample[0].N, sample[0].First)
	}
	var events []struct {
		Path string `ch:"pathname"`
		US   uint64 `ch:"time_us"`
	}
	if err := s.Select(ctx, &events, "SELECT pathname, time_us FROM events WHERE site = 'up.test' ORDER BY time_us, event_id"); err != nil {
		t.Fatal(err)
	}
	t0 := uint64(time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC).Unix()) * 1e6
	if len(events) != 3 || events[0].US != t0 || events[1].US != t0 || events[2].US != t0+5e6 || events[0].Path != "/a" || events[2].Path != "/c" {
		t.Errorf("old events after the upgrade: %+v", events)
	}
	var figures []struct {
		Pageviews uint64 `ch:"p"`
		Visits    uint64 `ch:"v"`
		Views     uint64 `ch:"w"`
		Visitors  uint64 `ch:"u"`
	}
	if err := s.Select(ctx, &figures, `SELECT
		(SELECT toUInt64(sum(pageviews)) FROM page_stats_daily WHERE site = 'up.test') AS p,
		(SELECT toUInt64(sum(visits)) FROM visit_stats_daily WHERE site = 'up.test') AS v,
		(SELECT toUInt64(sum(views)) FROM visit_stats_hourly WHERE site = 'up.test') AS w,
		(SELECT toUInt64(uniqMerge(visitors)) FROM visit_stats_daily WHERE site = 'up.test') AS u`); err != nil {
		t.Fatal(err)
	}
	if f := figures[0]; f.Pageviews != 3 || f.Visits != 1 || f.Views != 3 || f.Visitors != 1 {
		t.Errorf("figures after the upgrade: %+v; want 3 page views, 1 visit of 3 views, 1 visitor", f)
	}
	// The rollups added since (by month, by visit dimension) are filled from the events
	// and visits already stored.
	var added []struct {
		Pageviews uint64 `ch:"p"`
		Visits    uint64 `ch:"v"`
		Exits     uint64 `ch:"x"`
	}
	if err := s.Select(ctx, &added, `SELECT
		(SELECT toUInt64(sum(pageviews)) FROM page_stats_monthly WHERE site = 'up.test' AND month = '2024-03-01') AS p,
		(SELECT toUInt64(sum(visits)) FROM visit_stats_monthly WHERE site = 'up.test') AS v,
		(SELECT toUInt64(sum(visits)) FROM visit_dim_stats_daily WHERE site = 'up.test' AND dim = 'exit_page' AND v0 = '/c') AS x`); err != nil {
		t.Fatal(err)
	}
	if a := added[0]; a.Pageviews != 3 || a.Visits != 1 || a.Exits != 1 {
		t.Errorf("rollups added by the upgrade: %+v; want 3 page views in March, 1 visit, 1 exit on /c", a)
	}
	if again, err := Migrate(ctx, s); err != nil || len(again) != 0 {
		t.Errorf("migrating again applied %v (%v)", again, err)
	}
	if err := s.Select(ctx, &figures, `SELECT toUInt64(0) AS p, toUInt64(sum(visits)) AS v, toUInt64(0) AS w, toUInt64(0) AS u FROM visit_stats_daily WHERE site = 'up.test'`); err != nil || figures[0].Visits != 1 {
		t.Errorf("visit states after migrating again: %+v (%v)", figures, err)
	}
	at := time.Date(2024, 3, 4, 11, 0, 0, 250_000_000, time.UTC)
	if err := InsertEvents(ctx, s, []Event{{EventID: uuid.New(), Site: "up.test", Timestamp: at, Name: "pageview", Pathname: "/d"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Select(ctx, &events, "SELECT pathname, time_us FROM events WHERE site = 'up.test' AND pathname = '/d'"); err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].US != uint64(at.UnixMicro()) {
		t.Errorf("new event: %+v, want time_us %d", events, at.UnixMicro())
	}
}
