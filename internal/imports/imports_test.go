package imports_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/websystems/loendur/internal/derived/derivedtest"
	"github.com/websystems/loendur/internal/imports"
	"github.com/websystems/loendur/internal/imports/importstest"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

func newImporter(t *testing.T, db store.Store) *imports.Importer {
	t.Helper()
	im, err := imports.New(imports.Options{DB: db, BatchSize: 3}) // small batches: several inserts per file
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// dayTotals are a site's figures per UTC day, from its events and the visits derived
// from them (the sessions table where written, else computed as the reports do).
func dayTotals(t *testing.T, db store.Store, site string) map[string]importstest.Day {
	t.Helper()
	var rows []struct {
		D      string `ch:"d"`
		V      uint64 `ch:"v"`
		Visits uint64 `ch:"visits"`
		PV     uint64 `ch:"pv"`
		B      uint64 `ch:"b"`
		E      uint64 `ch:"e"`
	}
	if err := db.Select(context.Background(), &rows, `SELECT toString(toDate(timestamp)) AS d,
		uniqExactIf(visitor_id, name = 'pageview') AS v, uniqExactIf(session_id, name = 'pageview') AS visits,
		countIf(name = 'pageview') AS pv, countIf(name NOT IN ('pageview', 'engagement')) AS e,
		toUInt64(0) AS b FROM events WHERE site = ? GROUP BY d ORDER BY d`, site); err != nil {
		t.Fatal(err)
	}
	out := map[string]importstest.Day{}
	for _, r := range rows {
		out[r.D] = importstest.Day{Date: r.D, Visitors: r.V, Visits: r.Visits, Pageviews: r.PV, CustomEvents: r.E}
	}
	var bounces []struct {
		D string `ch:"d"`
		B uint64 `ch:"b"`
	}
	if err := db.Select(context.Background(), &bounces, `SELECT toString(toDate(min(timestamp))) AS d, toUInt64(countIf(pv = 1)) AS b FROM (
		SELECT session_id, min(timestamp) AS timestamp, countIf(name = 'pageview') AS pv FROM events WHERE site = ? GROUP BY session_id)
		GROUP BY toDate(timestamp) ORDER BY d`, site); err != nil {
		t.Fatal(err)
	}
	for _, b := range bounces {
		d := out[b.D]
		d.Bounces = b.B
		out[b.D] = d
	}
	return out
}

func checkDays(t *testing.T, got map[string]importstest.Day, want ...importstest.Day) {
	t.Helper()
	for _, w := range want {
		g := got[w.Date]
		w.Duration, g.Duration = 0, 0
		if g != w {
			t.Errorf("%s: got %+v, want %+v", w.Date, g, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("days %v, want %d days", got, len(want))
	}
}

// Raw formats become events under ingestion's rules and land in every derived table.
func TestRawImports(t *testing.T) {
	ctx := context.Background()
	for engine, db := range storetest.Engines(t) {
		for _, tc := range []struct {
			name string
			file func(t *testing.T, site string) string
			want []importstest.Day
			src  string
		}{
			{"goatcounter", func(t *testing.T, _ string) string { return importstest.GoatCounter(t) }, importstest.GoatCounterDays, imports.GoatCounter},
			{"goatcounter-gzip", func(t *testing.T, _ string) string {
				var b bytes.Buffer
				gz := gzip.NewWriter(&b)
				gz.Write([]byte(importstest.GoatCounterText(t)))
				gz.Close()
				return importstest.Write(t, "goatcounter-export.csv.gz", b.String())
			}, importstest.GoatCounterDays, imports.GoatCounter},
			{"ga4-json", func(t *testing.T, site string) string { return importstest.GA4JSON(t, site) }, []importstest.Day{importstest.GA4Day}, imports.GA4},
			{"ga4-parquet", func(t *testing.T, site string) string { return importstest.GA4Parquet(t, site) }, []importstest.Day{importstest.GA4Day}, imports.GA4},
		} {
			t.Run(engine+"/"+tc.name, func(t *testing.T) {
				site := engine + "-" + tc.name + ".raw.test"
				im := newImporter(t, db)
				// A visitor of the visit sample on the import's first day (an engagement
				// event only, which no day total counts), whose visit its rebuild recomputes:
				// the imported visitors' hashed ids may have none in the sample.
				day, err := time.Parse(time.DateOnly, tc.want[0].Date)
				if err != nil {
					t.Fatal(err)
				}
				own := derivedtest.SampledVisitors(1, 1)[0]
				if err := store.InsertEvents(ctx, db, []store.Event{{EventID: uuid.New(), Site: site, Hostname: site,
					Name: "engagement", Pathname: "/", Timestamp: day.Add(12 * time.Hour), VisitorID: own, SessionID: own}}); err != nil {
					t.Fatal(err)
				}
				// The finalizer has written every visit before April: the import's
				// visits must go into the sessions table by its rebuild.
				derivedtest.WriteVisits(t, db, site, time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC))
				rec, err := im.Import(ctx, site, imports.File{Path: tc.file(t, site)})
				if err != nil {
					t.Fatal(err)
				}
				if rec.Source != tc.src || rec.State != "done" {
					t.Errorf("record %+v", rec)
				}
				checkDays(t, dayTotals(t, db, site), tc.want...)
				// No source identifier and no address is kept.
				var leaks []struct {
					N uint64 `ch:"n"`
				}
				if err := db.Select(ctx, &leaks, `SELECT count() AS n FROM events WHERE site = ? AND (ip != '' OR
					has(prop_values, '1111111111.1709629200') OR has(prop_values, 'a1f0c2d4') OR visitor_id = 0 OR session_id = 0)`, site); err != nil {
					t.Fatal(err)
				}
				if leaks[0].N != 0 {
					t.Errorf("%d events keep an identifier of the source or an address, or lack a visitor", leaks[0].N)
				}
				derivedtest.RequireRows(t, db, site)
				derivedtest.NoDrift(t, db, site, "after the import")
				list, err := im.List(ctx, site)
				if err != nil || len(list) != 1 || list[0].ID != rec.ID || list[0].Rows != rec.Rows || list[0].FileHash == "" {
					t.Errorf("list: %+v %v", list, err)
				}
				if from, to := list[0].Period(); from != tc.want[0].Date || to != tc.want[len(tc.want)-1].Date {
					t.Errorf("period %s to %s", from, to)
				}
			})
		}
	}
}

func count(t *testing.T, db store.Store, query string, args ...any) uint64 {
	t.Helper()
	var rows []struct {
		N uint64 `ch:"n"`
	}
	if err := db.Select(context.Background(), &rows, query, args...); err != nil {
		t.Fatal(err)
	}
	return rows[0].N
}

// siteRows counts a site's rows in events and every imported table, and its imports.
func siteRows(t *testing.T, db store.Store, site string) uint64 {
	t.Helper()
	n := count(t, db, "SELECT count() AS n FROM events WHERE site = ?", site)
	for _, table := range []string{"imported_visitors", "imported_pages", "imported_sources", "imported_entry_pages", "imported_exit_pages",
		"imported_custom_events", "imported_locations", "imported_devices", "imported_browsers", "imported_operating_systems", "imports"} {
		n += count(t, db, "SELECT count() AS n FROM "+table+" WHERE site = ?", site)
	}
	return n
}

func TestPlausibleImport(t *testing.T) {
	ctx := context.Background()
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			site := engine + ".plausible.test"
			im := newImporter(t, db)
			rec, err := im.Import(ctx, site, imports.File{Path: importstest.Plausible(t, site)})
			if err != nil {
				t.Fatal(err)
			}
			if rec.Source != imports.Plausible || rec.Rows != 31 {
				t.Errorf("record %+v, want 31 rows of plausible (every CSV row)", rec)
			}
			var days []struct {
				D   string `ch:"d"`
				V   uint64 `ch:"v"`
				PV  uint64 `ch:"pv"`
				Vis uint64 `ch:"vis"`
				B   uint64 `ch:"b"`
				Dur uint64 `ch:"dur"`
			}
			if err := db.Select(ctx, &days, `SELECT toString(date) AS d, visitors AS v, pageviews AS pv, visits AS vis, bounces AS b,
				visit_duration AS dur FROM imported_visitors WHERE site = ? ORDER BY d`, site); err != nil {
				t.Fatal(err)
			}
			for i, w := range importstest.PlausibleDays {
				if i >= len(days) || days[i].D != w.Date || days[i].V != w.Visitors || days[i].PV != w.Pageviews || days[i].Vis != w.Visits ||
					days[i].B != w.Bounces || days[i].Dur != w.Duration {
					t.Errorf("imported_visitors %+v, want %+v", days, importstest.PlausibleDays)
					break
				}
			}
			// The newest pages layout (total_scroll_depth…) and the older one (exits,
			// time_on_page) and a table without the imported_ prefix are all read.
			old := importstest.Write(t, "pages_20240203_20240203.csv", "date,hostname,page,visitors,pageviews,exits,time_on_page\n2024-02-03,"+site+",/old,3,4,2,120\n")
			if _, err := im.Import(ctx, site, imports.File{Path: old}); err != nil {
				t.Fatal(err)
			}
			if n := count(t, db, "SELECT toUInt64(sum(time_on_page + exits)) AS n FROM imported_pages WHERE site = ? AND page = '/old'", site); n != 122 {
				t.Errorf("old pages layout: %d", n)
			}
		})
	}
}

// A bad file is refused with its file, line and column named, and nothing of it is
// stored: not even the rows before the bad one.
func TestBadInput(t *testing.T) {
	ctx := context.Background()
	gc := importstest.GoatCounterText(t)
	for engine, db := range storetest.Engines(t) {
		site := engine + ".bad.test"
		ga4 := importstest.GA4JSONText(t, site)
		plausible := importstest.PlausibleFiles(t, site)
		withFile := func(name, text string) map[string]string {
			out := map[string]string{}
			for k, v := range plausible {
				out[k] = v
			}
			out[name] = text
			return out
		}
		for _, tc := range []struct {
			name string
			file func(t *testing.T) string
			want []string // substrings of the error
		}{
			{"truncated zip", func(t *testing.T) string {
				b, _ := os.ReadFile(importstest.Plausible(t, site))
				return importstest.Write(t, "export.zip", string(b[:len(b)/2]))
			}, []string{"export.zip", "not a readable ZIP"}},
			{"unknown plausible column", func(t *testing.T) string {
				return importstest.Zip(t, "export.zip", withFile("imported_devices_20240201_20240202.csv", "date,device,visitors,colour\n2024-02-01,Desktop,1,red\n"))
			}, []string{"export.zip:imported_devices_20240201_20240202.csv", "line 1, column 4", `unknown column "colour"`}},
			{"unparsable plausible count", func(t *testing.T) string {
				return importstest.Zip(t, "export.zip", withFile("imported_visitors_20240201_20240202.csv",
					"date,visitors,pageviews,bounces,visits,visit_duration\n2024-02-01,10,25,4,12,600\n2024-02-02,eight,20,3,9,450\n"))
			}, []string{"imported_visitors_20240201_20240202.csv", "line 3, column visitors", `"eight" is not a count`}},
			{"plausible site mismatch", func(t *testing.T) string {
				return importstest.Zip(t, "export.zip", withFile("imported_pages_20240201_20240202.csv",
					"date,hostname,page,visitors,pageviews\n2024-02-01,other.example,/,1,1\n"))
			}, []string{"line 2, column hostname", "other.example", "another site"}},
			{"goatcounter bad date", func(t *testing.T) string {
				return importstest.Write(t, "gc.csv", gc+"/late,Late,false,,Firefox 1,Linux,zz,0,,h,,EE,true,yesterday\n")
			}, []string{"gc.csv", "line 10, column Date", `"yesterday"`}},
			{"goatcounter site mismatch", func(t *testing.T) string {
				return importstest.Write(t, "gc.csv", gc+"other.example/pricing,Pricing,false,,Firefox 1,Linux,zz,0,,h,,EE,true,2024-03-02T10:00:00Z\n")
			}, []string{"gc.csv", "line 10, column Path", "other.example", "another site"}},
			{"goatcounter unknown column", func(t *testing.T) string {
				return importstest.Write(t, "gc.csv", strings.Replace(gc, "FirstVisit", "Colour", 1))
			}, []string{"gc.csv", "line 1, column 13", `unknown column "Colour"`}},
			{"goatcounter version 1", func(t *testing.T) string {
				return importstest.Write(t, "gc.csv", strings.Replace(gc, "2Path", "1Path", 1))
			}, []string{"gc.csv", "line 1, column 1", "version"}},
			{"goatcounter truncated", func(t *testing.T) string {
				return importstest.Write(t, "gc.csv", gc[:len(gc)-40]+"\"unterminated\n")
			}, []string{"gc.csv", "line 9"}},
			{"truncated gzip", func(t *testing.T) string {
				var b bytes.Buffer
				gz := gzip.NewWriter(&b)
				gz.Write([]byte(gc))
				gz.Close()
				return importstest.Write(t, "gc.csv.gz", b.String()[:b.Len()-30])
			}, []string{"gc.csv.gz", "truncated"}},
			{"ga4 unknown column", func(t *testing.T) string {
				return importstest.Write(t, "events.json", ga4+`{"event_date":"20240305","event_timestamp":"1709650000000000","event_name":"page_view","user_pseudo_id":"x","colour":"red"}`+"\n")
			}, []string{"events.json", "line 9, column colour", "unknown column"}},
			{"ga4 site mismatch", func(t *testing.T) string {
				return importstest.Write(t, "events.json", strings.ReplaceAll(ga4, "www."+site, "www.other.example"))
			}, []string{"events.json", "line 2, column event_params.page_location", "other.example"}},
			{"ga4 broken line", func(t *testing.T) string {
				return importstest.Write(t, "events.json", ga4[:len(ga4)-100])
			}, []string{"events.json", "line 8", "truncated"}},
			{"ga4 parquet truncated", func(t *testing.T) string {
				b, _ := os.ReadFile(importstest.GA4Parquet(t, site))
				return importstest.Write(t, "events.parquet", string(b[:len(b)-20]))
			}, []string{"events.parquet", "Parquet"}},
			{"not a known format", func(t *testing.T) string {
				return importstest.Write(t, "notes.txt", "hello\n")
			}, []string{"notes.txt", "not a file loendur can import"}},
		} {
			t.Run(engine+"/"+tc.name, func(t *testing.T) {
				im := newImporter(t, db)
				_, err := im.Import(ctx, site, imports.File{Path: tc.file(t)})
				var ie *imports.Error
				if !errors.As(err, &ie) {
					t.Fatalf("error %v (%T), want an *imports.Error", err, err)
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				if n := siteRows(t, db, site); n != 0 {
					t.Errorf("%d rows stored after a refused import", n)
				}
			})
		}
	}
}

// The same file twice changes nothing; deleting an import removes what it brought,
// from events and every derived table, or from the imported tables.
func TestDuplicateAndDelete(t *testing.T) {
	ctx := context.Background()
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			site := engine + ".dup.test"
			im := newImporter(t, db)
			derivedtest.WriteVisits(t, db, site, time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC))
			gc, pl := importstest.GoatCounter(t), importstest.Plausible(t, site)
			first, err := im.Import(ctx, site, imports.File{Path: gc})
			if err != nil {
				t.Fatal(err)
			}
			plRec, err := im.Import(ctx, site, imports.File{Path: pl})
			if err != nil {
				t.Fatal(err)
			}
			before := siteRows(t, db, site)
			again, err := im.Import(ctx, site, imports.File{Path: gc, Name: "renamed.csv"})
			if !errors.Is(err, imports.ErrDuplicate) || again.ID != first.ID {
				t.Fatalf("second import: %v, %+v", err, again)
			}
			if after := siteRows(t, db, site); after != before {
				t.Errorf("rows %d after the second import, %d before", after, before)
			}
			if _, err := im.Delete(ctx, site, first.ID); err != nil {
				t.Fatal(err)
			}
			if n := count(t, db, "SELECT count() AS n FROM events WHERE site = ?", site); n != 0 {
				t.Errorf("%d events left after delete", n)
			}
			derivedtest.NoDrift(t, db, site, "after delete")
			for _, table := range []string{"sessions", "page_stats_daily", "visit_stats_daily", "event_stats_daily"} {
				if n := count(t, db, "SELECT count() AS n FROM "+table+" WHERE site = ?", site); n != 0 {
					t.Errorf("%d rows left in %s", n, table)
				}
			}
			if _, err := im.Delete(ctx, site, plRec.ID); err != nil {
				t.Fatal(err)
			}
			if n := count(t, db, "SELECT toUInt64(sum(visitors)) AS n FROM imported_visitors WHERE site = ?", site); n != 0 {
				t.Errorf("imported visitors left: %d", n)
			}
			if list, err := im.List(ctx, site); err != nil || len(list) != 0 {
				t.Errorf("list after delete: %+v %v", list, err)
			}
			// Deleted, the file may come in again.
			if _, err := im.Import(ctx, site, imports.File{Path: gc}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A write that fails half-way (here: the caller gives up while rows are going in) is
// undone: nothing of the file stays, and the file can be imported again.
func TestFailedWriteIsUndone(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			site := engine + ".undo.test"
			var csv strings.Builder
			csv.WriteString("date,visitors,pageviews\n")
			day := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
			for i := range 3000 {
				fmt.Fprintf(&csv, "%s,%d,%d\n", day.AddDate(0, 0, i).Format(time.DateOnly), 1+i%7, 2+i%5)
			}
			path := importstest.Write(t, "imported_visitors_19900101_19980317.csv", csv.String())
			im, err := imports.New(imports.Options{DB: db, BatchSize: 100})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			_, err = im.Import(ctx, site, imports.File{Path: path, Progress: func(stage string, rows uint64) {
				if stage == "writing" && rows >= 1000 {
					cancel() // 10 batches are in
				}
			}})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("import: %v, want it cancelled", err)
			}
			if n := count(t, db, "SELECT count() AS n FROM imported_visitors WHERE site = ?", site); n != 0 {
				t.Errorf("%d rows left of a failed import", n)
			}
			if list, err := im.List(ctx, site); err != nil && !errors.Is(err, context.Canceled) || len(list) != 0 {
				t.Errorf("imports listed: %+v %v", list, err)
			}
			rec, err := im.Import(context.Background(), site, imports.File{Path: path})
			if err != nil || rec.Rows != 3000 {
				t.Fatalf("import again: %+v %v", rec, err)
			}
		})
	}
}
