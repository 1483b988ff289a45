package erasure_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/derived/derivedtest"
	"github.com/websystems/loendur/internal/erasure"
	"github.com/websystems/loendur/internal/erasure/erasuretest"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

// tablesWithoutEventData is every table that holds no data about single events or
// visitors. A new table must be erasable (site plus a visitor, session or event id or an
// address), kept by a materialized view over events (recomputed), or be added here by
// someone who checked that it holds no event data.
var tablesWithoutEventData = []string{
	"schema_migrations", "sites", "salts", "users", "dashboard_sessions", "api_keys",
	"audit_log", "funnels", "sessions_progress", erasure.LedgerTable,
	"site_exclusions", "events_dropped_daily", // admin configuration; counts per site, day and reason
	// dashboard/notify: staff's mail settings, delivery progress, incidents (hour counts only)
	"notify_settings", "notify_deliveries", "notify_incidents",
	"site_privacy",                   // a site's consent mode and privacy page (internal/notice)
	"shared_links", "share_settings", // internal/shares: links to a site's reports, who may make them
	"totp_recovery_codes", // staff accounts' hashed one-time sign-in codes
	"imports",             // the record of imports: file names, hashes, periods, row counts
	derived.ClaimsTable,   // which process rebuilds a site's derived rows: sites and tokens
}

var base = erasuretest.Base

// fixture stores the erasure fixture on site (erasuretest.Events); visitor 3's event
// is a Signup with a prop.
func fixture(t *testing.T, db store.Store, site string) []store.Event {
	t.Helper()
	evs := erasuretest.Events(site)
	evs[4].Name, evs[4].PropKeys, evs[4].PropValues = "Signup", []string{"plan"}, []string{"pro"}
	erasuretest.Store(t, db, evs)
	return evs
}

func remaining(t *testing.T, db store.Store, table, site, col string) []uint64 {
	t.Helper()
	var rows []struct {
		V uint64 `ch:"v"`
	}
	if err := db.Select(context.Background(), &rows, "SELECT "+col+" AS v FROM "+table+" WHERE site = ? ORDER BY v", site); err != nil {
		t.Fatal(err)
	}
	out := []uint64{}
	for _, r := range rows {
		out = append(out, r.V)
	}
	return out
}

func TestSelectorsEraseExactlyTheirRows(t *testing.T) {
	ctx := context.Background()
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			for _, tc := range []struct {
				name         string
				sel          func(evs []store.Event) erasure.Selector
				events       uint64
				leftSessions []uint64 // session_id of the events left
				leftVisits   []uint64 // session rows left
			}{
				{"visitor", func([]store.Event) erasure.Selector {
					return erasure.Selector{Kind: erasure.KindVisitor, Visitors: []uint64{1}}
				}, 3, []uint64{21, 31}, []uint64{21, 31}},
				{"session", func([]store.Event) erasure.Selector {
					return erasure.Selector{Kind: erasure.KindSession, Sessions: []uint64{12}}
				}, 1, []uint64{11, 11, 21, 31}, []uint64{11, 21, 31}},
				{"event", func(evs []store.Event) erasure.Selector {
					return erasure.Selector{Kind: erasure.KindEvent, Events: []uuid.UUID{evs[1].EventID}}
				}, 1, []uint64{11, 12, 21, 31}, []uint64{12, 21, 31}},
				{"ip window", func([]store.Event) erasure.Selector {
					return erasure.Selector{Kind: erasure.KindIP, IP: "203.0.0.0", From: base, To: base.Add(5 * time.Hour)}
				}, 3, []uint64{21, 31}, []uint64{21, 31}},
				{"ip window and page", func([]store.Event) erasure.Selector {
					return erasure.Selector{Kind: erasure.KindIP, IP: "203.0.0.0", From: base, To: base.Add(48 * time.Hour), Page: "/b/*"}
				}, 1, []uint64{11, 12, 21, 31}, []uint64{12, 21, 31}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					site := fmt.Sprintf("%s-%s.sel.test", engine, strings.ReplaceAll(tc.name, " ", "-"))
					evs := fixture(t, db, site)
					sel := tc.sel(evs)
					sel.Site = site
					plan, err := erasure.Preview(ctx, db, sel)
					if err != nil {
						t.Fatal(err)
					}
					if plan.Events != tc.events {
						t.Fatalf("preview: %d events, want %d", plan.Events, tc.events)
					}
					res, err := erasure.Apply(ctx, db, plan, erasure.Options{RequestedBy: "dpo@example.com"})
					if err != nil {
						t.Fatal(err)
					}
					if res.Events != tc.events {
						t.Fatalf("erased %d events, want %d", res.Events, tc.events)
					}
					if got := remaining(t, db, "events", site, "session_id"); !slices.Equal(got, tc.leftSessions) {
						t.Errorf("events left (by session): %v, want %v", got, tc.leftSessions)
					}
					if got := remaining(t, db, "sessions", site, "session_id"); !slices.Equal(got, tc.leftVisits) {
						t.Errorf("visits left: %v, want %v", got, tc.leftVisits)
					}
					entries, err := erasure.Ledger(ctx, db)
					if err != nil {
						t.Fatal(err)
					}
					i := slices.IndexFunc(entries, func(e erasure.Entry) bool { return e.ID == res.ID })
					if i < 0 || entries[i].Site != site || entries[i].RowsErased != tc.events || entries[i].RequestedBy != "dpo@example.com" {
						t.Fatalf("ledger has no right entry for %s: %+v", res.ID, entries)
					}
					back, err := erasure.ParseValue(entries[i].Site, erasure.Kind(entries[i].Kind), entries[i].Selector)
					if err != nil || back.String() != sel.String() {
						t.Errorf("ledger selector reads back as %v (%v), want %v", back, err, sel)
					}
					var audit []struct {
						Actor  string `ch:"actor"`
						Detail string `ch:"detail"`
					}
					if err := db.Select(ctx, &audit, "SELECT actor, detail FROM audit_log WHERE action = ? AND target = ?", erasure.AuditAction, site); err != nil {
						t.Fatal(err)
					}
					if len(audit) != 1 || audit[0].Actor != "dpo@example.com" || !strings.Contains(audit[0].Detail, res.ID) {
						t.Errorf("audit log: %+v", audit)
					}
				})
			}
		})
	}
}

// A table added later that holds event data is found and erased without any change here.
func TestNewTableIsErasedToo(t *testing.T) {
	ctx := context.Background()
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			site := engine + ".newtable.test"
			fixture(t, db, site)
			for _, ddl := range []string{
				"CREATE TABLE IF NOT EXISTS later_by_visitor (site String, visitor_id UInt64, note String) ENGINE = MergeTree ORDER BY site",
				"CREATE TABLE IF NOT EXISTS later_by_event (site String, event_id UUID, note String) ENGINE = MergeTree ORDER BY site",
			} {
				if err := db.Exec(ctx, ddl); err != nil {
					t.Fatal(err)
				}
			}
			var evs []store.Event
			if err := db.Select(ctx, &evs, "SELECT event_id, visitor_id FROM events WHERE site = ?", site); err != nil {
				t.Fatal(err)
			}
			var byVisitor, byEvent [][]any
			for _, e := range evs {
				byVisitor = append(byVisitor, []any{site, e.VisitorID, "x"})
				byEvent = append(byEvent, []any{site, e.EventID, "x"})
			}
			if err := db.Insert(ctx, "later_by_visitor", []string{"site", "visitor_id", "note"}, byVisitor); err != nil {
				t.Fatal(err)
			}
			if err := db.Insert(ctx, "later_by_event", []string{"site", "event_id", "note"}, byEvent); err != nil {
				t.Fatal(err)
			}
			if _, err := erasure.Erase(ctx, db, erasure.Selector{Site: site, Kind: erasure.KindVisitor, Visitors: []uint64{1}}, erasure.Options{RequestedBy: "test"}); err != nil {
				t.Fatal(err)
			}
			if got := remaining(t, db, "later_by_visitor", site, "visitor_id"); !slices.Equal(got, []uint64{2, 3}) {
				t.Errorf("later_by_visitor left %v, want [2 3]", got)
			}
			var n []struct {
				N uint64 `ch:"n"`
			}
			if err := db.Select(ctx, &n, "SELECT count() AS n FROM later_by_event WHERE site = ?", site); err != nil {
				t.Fatal(err)
			}
			if n[0].N != 2 {
				t.Errorf("later_by_event left %d rows, want 2", n[0].N)
			}
		})
	}
}

// Every table is the events table, a derived table (internal/derived: a definition
// with its migration, its query and its rebuild), or on the list of tables without
// event data: a new table that holds events or figures computed from them cannot slip
// past erasure, retention and replay unnoticed. Each derived table is where those paths
// find it (erasable visits, recomputed rollups). A fresh database, so that tables other
// tests add do not count.
func TestEveryTableIsCovered(t *testing.T) {
	db := storetest.Server(t)
	cat, err := erasure.Discover(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	var all, erasable, rollups []string
	for _, e := range cat.Erasable {
		erasable = append(erasable, e.Name)
	}
	for _, r := range cat.Rollups {
		rollups = append(rollups, r.Target.Name)
	}
	var imported []string
	for _, table := range cat.Imported {
		imported = append(imported, table.Name)
		// Imported aggregates hold counts per day, never a visitor: nothing to erase,
		// and a date that retention ages them by.
		for _, key := range []string{"visitor_id", "session_id", "event_id", "ip"} {
			if table.Has(key) {
				t.Errorf("imported table %s has %s: aggregates must hold no visitor", table.Name, key)
			}
		}
		if table.TimeColumn() == "" {
			t.Errorf("imported table %s has no date for retention", table.Name)
		}
	}
	if len(imported) < 10 {
		t.Errorf("imported aggregate tables %v: want every table of Plausible's export", imported)
	}
	all = append(append(append(append(all, erasable...), rollups...), imported...), cat.Other...)
	for _, name := range all {
		if name != erasure.EventsTable && !slices.Contains(derived.Names(), name) && !slices.Contains(tablesWithoutEventData, name) && !slices.Contains(imported, name) {
			t.Errorf("table %s is neither the events table nor a derived table (add its definition to internal/derived: migration, query, rebuild) nor listed as holding no event data", name)
		}
	}
	for _, name := range derived.Names() {
		if !slices.Contains(all, name) {
			t.Errorf("derived table %s is not in the database", name)
		}
	}
	for _, want := range []string{"events", derived.Visits.Name} {
		if !slices.Contains(erasable, want) {
			t.Errorf("%s not erasable: %v", want, erasable)
		}
	}
	for _, d := range derived.All() {
		if !slices.Contains(rollups, d.Name()) {
			t.Errorf("%s not a recomputed rollup: %v", d.Name(), rollups)
		}
	}
}

// Rollups kept by materialized views lose the erased visitor too.
func TestRollupsAreRecomputed(t *testing.T) {
	ctx := context.Background()
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			site := engine + ".rollup.test"
			fixture(t, db, site)
			stats := func() (visitors, pageviews, signups uint64) {
				var rows []struct {
					V uint64 `ch:"v"`
					P uint64 `ch:"p"`
				}
				if err := db.Select(ctx, &rows, `SELECT toUInt64(uniqIfMerge(visitors)) AS v, toUInt64(sum(pageviews)) AS p
					FROM page_stats_hourly WHERE site = ?`, site); err != nil {
					t.Fatal(err)
				}
				var ev []struct {
					N uint64 `ch:"n"`
				}
				if err := db.Select(ctx, &ev, `SELECT toUInt64(sum(events)) AS n FROM event_stats_daily WHERE site = ? AND prop_key = ''`, site); err != nil {
					t.Fatal(err)
				}
				return rows[0].V, rows[0].P, ev[0].N
			}
			visits := func() (n uint64) {
				var rows []struct {
					N uint64 `ch:"n"`
				}
				if err := db.Select(ctx, &rows, `SELECT toUInt64(sum(visits)) AS n FROM visit_stats_daily WHERE site = ?`, site); err != nil {
					t.Fatal(err)
				}
				return rows[0].N
			}
			if n := visits(); n != 4 {
				t.Fatalf("before: %d visits in visit_stats_daily, want 4", n)
			}
			if v, p, s := stats(); v != 2 || p != 4 || s != 1 {
				t.Fatalf("before: %d visitors, %d pageviews, %d signups; want 2, 4, 1", v, p, s)
			}
			if _, err := erasure.Erase(ctx, db, erasure.Selector{Site: site, Kind: erasure.KindVisitor, Visitors: []uint64{1}}, erasure.Options{RequestedBy: "test"}); err != nil {
				t.Fatal(err)
			}
			if v, p, s := stats(); v != 1 || p != 1 || s != 1 {
				t.Errorf("after erasing visitor 1: %d visitors, %d pageviews, %d signups; want 1, 1, 1", v, p, s)
			}
			if n := visits(); n != 2 {
				t.Errorf("after erasing visitor 1: %d visits in visit_stats_daily, want 2", n)
			}
			if _, err := erasure.Erase(ctx, db, erasure.Selector{Site: site, Kind: erasure.KindVisitor, Visitors: []uint64{3}}, erasure.Options{RequestedBy: "test"}); err != nil {
				t.Fatal(err)
			}
			if _, _, s := stats(); s != 0 {
				t.Errorf("after erasing visitor 3: %d signups, want 0", s)
			}
		})
	}
}

func TestExport(t *testing.T) {
	ctx := context.Background()
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			site := engine + ".export.test"
			evs := fixture(t, db, site)
			sel := erasure.Selector{Site: site, Kind: erasure.KindVisitor, Visitors: []uint64{3}}
			var js bytes.Buffer
			if n, err := erasure.Export(ctx, db, sel, "json", &js); err != nil || n != 1 {
				t.Fatalf("json export: %d, %v", n, err)
			}
			var got []map[string]any
			if err := json.Unmarshal(js.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got[0]["event_id"] != evs[4].EventID.String() || got[0]["name"] != "Signup" || got[0]["visitor_id"] != "3" ||
				fmt.Sprint(got[0]["prop_values"]) != "[pro]" || got[0]["timestamp"] != evs[4].Timestamp.Format(time.RFC3339) {
				t.Errorf("json export: %v", got[0])
			}
			var cs bytes.Buffer
			if n, err := erasure.Export(ctx, db, erasure.Selector{Site: site, Kind: erasure.KindVisitor, Visitors: []uint64{1}}, "csv", &cs); err != nil || n != 3 {
				t.Fatalf("csv export: %d, %v", n, err)
			}
			recs, err := csv.NewReader(&cs).ReadAll()
			if err != nil || len(recs) != 4 || !slices.Equal(recs[0], store.EventColumns) {
				t.Fatalf("csv: %v, %v", recs, err)
			}
			if recs[1][0] != evs[0].EventID.String() || recs[3][5] != "/a" {
				t.Errorf("csv rows: %v", recs[1:])
			}
		})
	}
}

// sampledVisitor is a visitor of the visit sample (derived.VisitSample), so that the
// sample too has a visit to recompute.
var sampledVisitor = derivedtest.SampledVisitors(1, 1)[0]

// Erasing one page view of a visit leaves the visit, recomputed from its other events:
// two page views, the exit page before the erased one, and visit states that agree.
// Every derived table agrees with its definition after each erasure.
func TestPartialErasureRecomputesTheVisit(t *testing.T) {
	ctx := context.Background()
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			site := engine + ".partial.test"
			var evs []store.Event
			for i, page := range []string{"/a", "/b", "/c"} {
				at := base.Add(time.Duration(i) * time.Minute)
				evs = append(evs, store.Event{EventID: uuid.New(), Site: site, Timestamp: at,
					Name: "pageview", Hostname: site, Pathname: page, VisitorID: sampledVisitor, SessionID: 70, IP: "203.0.0.0"})
			}
			signup := store.Event{EventID: uuid.New(), Site: site, Timestamp: base.Add(90 * time.Second), Name: "Signup",
				Hostname: site, Pathname: "/b", VisitorID: sampledVisitor, SessionID: 70, IP: "203.0.0.0"}
			if err := store.InsertEvents(ctx, db, append(slices.Clone(evs), signup)); err != nil {
				t.Fatal(err)
			}
			derivedtest.Finalize(t, db, site, base.Add(2*time.Hour))
			derivedtest.RequireRows(t, db, site)
			visit := func() (n, views uint64, exit string) {
				var rows []struct {
					N     uint64 `ch:"n"`
					Views uint64 `ch:"v"`
					Exit  string `ch:"exit"`
				}
				if err := db.Select(ctx, &rows, `SELECT count() AS n, toUInt64(sum(pageviews)) AS v, any(exit_page) AS exit
					FROM sessions FINAL WHERE site = ?`, site); err != nil {
					t.Fatal(err)
				}
				return rows[0].N, rows[0].Views, rows[0].Exit
			}
			if n, v, exit := visit(); n != 1 || v != 3 || exit != "/c" {
				t.Fatalf("before: %d visits, %d page views, exit %q; want 1, 3, /c", n, v, exit)
			}
			derivedtest.NoDrift(t, db, site, "before")
			if _, err := erasure.Erase(ctx, db, erasure.Selector{Site: site, Kind: erasure.KindEvent, Events: []uuid.UUID{evs[2].EventID}},
				erasure.Options{RequestedBy: "test"}); err != nil {
				t.Fatal(err)
			}
			if n, v, exit := visit(); n != 1 || v != 2 || exit != "/b" {
				t.Errorf("after erasing /c: %d visits, %d page views, exit %q; want 1, 2, /b", n, v, exit)
			}
			var stats []struct {
				Visits uint64 `ch:"v"`
				Views  uint64 `ch:"w"`
			}
			if err := db.Select(ctx, &stats, `SELECT toUInt64(sum(visits)) AS v, toUInt64(sum(views)) AS w FROM visit_stats_daily WHERE site = ?`, site); err != nil {
				t.Fatal(err)
			}
			if stats[0].Visits != 1 || stats[0].Views != 2 {
				t.Errorf("visit states after the erasure: %d visits of %d page views, want 1 of 2", stats[0].Visits, stats[0].Views)
			}
			derivedtest.NoDrift(t, db, site, "after erasing /c")
			if _, err := erasure.Erase(ctx, db, erasure.Selector{Site: site, Kind: erasure.KindEvent, Events: []uuid.UUID{signup.EventID}},
				erasure.Options{RequestedBy: "test"}); err != nil {
				t.Fatal(err)
			}
			derivedtest.NoDrift(t, db, site, "after erasing the custom event")
		})
	}
}
