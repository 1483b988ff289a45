package reports

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/imports"
	"github.com/websystems/loendur/internal/imports/importstest"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
	"github.com/websystems/loendur/internal/testclock"
)

func importFile(t *testing.T, db store.Store, site, path string) {
	t.Helper()
	im, err := imports.New(imports.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := im.Import(context.Background(), site, imports.File{Path: path}); err != nil {
		t.Fatal(err)
	}
}

func period(t *testing.T, loc *time.Location, from, to string) Range {
	t.Helper()
	p, err := ParsePeriod("custom", from, to, loc, time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return p.Current
}

func overviewLine(t *testing.T, r *Service, q Query) string {
	t.Helper()
	m, err := r.Overview(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("visitors %v visits %v pageviews %v bounce_rate %v visit_duration %v",
		m.Visitors.Value, m.Visits.Value, m.Pageviews.Value, m.BounceRate.Value, m.VisitDuration.Value)
}

func seriesLines(t *testing.T, r *Service, q Query) []string {
	t.Helper()
	rows, err := r.Timeseries(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return lines(rows, "date", "visitors", "visits", "pageviews", "bounce_rate", "visit_duration")
}

func dayLines(days []importstest.Day) []string {
	var out []string
	for _, d := range days {
		out = append(out, fmt.Sprintf("%s %d %d %d %v", d.Date, d.Visitors, d.Visits, d.Pageviews, percent(float64(d.Bounces), float64(d.Visits))))
	}
	return out
}

// The dashboard's figures for imported days are the source's totals, for each format,
// on both engines.
func TestImportedFiguresMatchTheSource(t *testing.T) {
	ctx := context.Background()
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			gc, ga4, pq, pl := "gc-"+engine+".import.test", "ga4-"+engine+".import.test", "pq-"+engine+".import.test", "pl-"+engine+".import.test"
			r, _ := newSite(t, db, testclock.New(time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)), "UTC", gc, ga4, pq, pl)
			importFile(t, db, gc, importstest.GoatCounter(t))
			importFile(t, db, ga4, importstest.GA4JSON(t, ga4))
			importFile(t, db, pq, importstest.GA4Parquet(t, pq))
			importFile(t, db, pl, importstest.Plausible(t, pl))

			q := Query{Site: gc, Location: time.UTC, Range: period(t, time.UTC, "2024-03-01", "2024-03-02")}
			rows, err := r.Timeseries(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			equalLines(t, "goatcounter days", lines(rows, "date", "visitors", "visits", "pageviews", "bounce_rate"), dayLines(importstest.GoatCounterDays))
			ev, err := r.Events(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			equalLines(t, "goatcounter events", lines(ev, "event", "visitors", "events"), []string{"signup-click 1 1"})

			for _, site := range []string{ga4, pq} {
				q := Query{Site: site, Location: time.UTC, Range: period(t, time.UTC, "2024-03-05", "2024-03-05")}
				d := importstest.GA4Day
				if got, want := overviewLine(t, r, q), fmt.Sprintf("visitors %d visits %d pageviews %d bounce_rate %v visit_duration %v",
					d.Visitors, d.Visits, d.Pageviews, percent(float64(d.Bounces), float64(d.Visits)), avg(190, 3)); got != want {
					t.Errorf("%s overview:\n got %s\nwant %s", site, got, want)
				}
				pages, err := r.TopPages(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				equalLines(t, site+" top pages", lines(pages, "page", "visitors", "pageviews", "time_on_page"),
					[]string{"/ 1 2 0", "/blog/post-1 1 1 0", "/pricing 1 1 5"})
				ev, err := r.Events(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				equalLines(t, site+" events", lines(ev, "event", "visitors", "events"), []string{"sign_up 1 1"})
				src, err := r.Dimension(ctx, q, "sources", FilterSource)
				if err != nil {
					t.Fatal(err)
				}
				equalLines(t, site+" sources", lines(src, "source", "visits"), []string{`"" 2`, "Bing 1"})
				loc, err := r.Dimension(ctx, q, "locations", FilterCountry)
				if err != nil {
					t.Fatal(err)
				}
				equalLines(t, site+" countries", lines(loc, "country", "visitors"), []string{"EE 1", "DE 1"})
			}

			// Plausible: aggregates, shown for days without data of our own.
			q = Query{Site: pl, Location: time.UTC, Range: period(t, time.UTC, "2024-02-01", "2024-02-02")}
			if got, want := overviewLine(t, r, q), "visitors 18 visits 21 pageviews 45 bounce_rate 33.3 visit_duration 50"; got != want {
				t.Errorf("plausible overview:\n got %s\nwant %s", got, want)
			}
			rows, err = r.Timeseries(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			equalLines(t, "plausible days", lines(rows, "date", "visitors", "visits", "pageviews", "bounce_rate"), dayLines(importstest.PlausibleDays))
			pages, err := r.TopPages(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			equalLines(t, "plausible pages", lines(pages, "page", "visitors", "pageviews", "time_on_page"),
				[]string{"/ 13 23 35.5", "/pricing 5 13 45", "/blog 4 9 30"})
			for _, c := range []struct {
				report, by string
				fields     []string
				want       []string
			}{
				{"sources", FilterSource, []string{"source", "visitors", "visits", "bounce_rate"}, []string{"Google 11 13 30.8", `"" 4 5 40`, "Newsletter 3 3 33.3"}},
				{"utm", FilterUTMCampaign, []string{"utm_campaign", "visitors"}, []string{`"" 15`, "spring 3"}},
				{"devices", FilterDevice, []string{"device", "visitors"}, []string{"desktop 15", "mobile 3"}},
				{"devices", FilterBrowser, []string{"browser", "visitors"}, []string{"Firefox 14", "Safari 4"}},
				{"locations", FilterCountry, []string{"country", "visitors"}, []string{"EE 14", "DE 4"}},
				{"entry-pages", FilterEntryPage, []string{"page", "visitors", "entries"}, []string{"/ 15 17", "/pricing 3 4"}},
			} {
				rows, err := r.Dimension(ctx, q, c.report, c.by)
				if err != nil {
					t.Fatal(err)
				}
				equalLines(t, "plausible "+c.report+" by "+c.by, lines(rows, c.fields...), c.want)
			}
			exits, err := r.ExitPages(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			equalLines(t, "plausible exit pages", lines(exits, "page", "exits", "pageviews"), []string{"/ 9 23", "/pricing 7 13", "/blog 5 9"})
			if in, err := r.IncludesImported(ctx, q, "overview"); err != nil || !in {
				t.Errorf("includes imported: %v %v", in, err)
			}
			// Hidden on request (the dashboard's toggle, ?imported=0).
			hidden := q
			hidden.HideImported = true
			if got := overviewLine(t, r, hidden); got != "visitors 0 visits 0 pageviews 0 bounce_rate 0 visit_duration 0" {
				t.Errorf("hidden: %s", got)
			}
			if in, _ := r.IncludesImported(ctx, hidden, "overview"); in {
				t.Error("hidden imported data said to be included")
			}
			// A day with data of our own shows only that: the imported 2024-02-01 gives way.
			insertEvents(t, db, []store.Event{{Site: pl, Timestamp: time.Date(2024, 2, 1, 12, 0, 0, 0, time.UTC), Name: "pageview",
				Hostname: pl, Pathname: "/native", VisitorID: 7, SessionID: 7}})
			if got, want := overviewLine(t, r, q), "visitors 9 visits 10 pageviews 21 bounce_rate 40 visit_duration 45"; got != want {
				t.Errorf("plausible with a native day:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// Round trip: a site's data exported in Plausible's format and imported into an empty
// database gives the same reports, day by day.
func TestPlausibleRoundTrip(t *testing.T) {
	ctx := context.Background()
	for engine, src := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			// An empty database: a fresh one on the server; on the embedded engine (one
			// per process) a site of its own. Its pages are on the source's host, so the
			// target is the source's parent domain.
			from, to := "a.rt-"+engine+".test", "rt-"+engine+".test"
			dst := src
			if engine == "server" {
				dst, to = storetest.Server(t), from
			}
			c := testclock.New(time.Date(2024, 3, 20, 0, 0, 0, 0, time.UTC))
			loc, _ := time.LoadLocation("Europe/Tallinn")
			rs, _ := newSite(t, src, c, "Europe/Tallinn", from)
			rd, _ := newSite(t, dst, c, "Europe/Tallinn", to)
			loadFixture(t, src, from)
			// History imported earlier from Plausible (February) leaves with the site too.
			importFile(t, src, from, importstest.Plausible(t, from))
			var zip bytes.Buffer
			if _, err := imports.Export(ctx, src, imports.ExportOptions{Site: from, Location: loc, Format: imports.FormatPlausible}, &zip); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "export.zip")
			if err := os.WriteFile(path, zip.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			importFile(t, dst, to, path)
			feb := period(t, loc, "2024-02-01", "2024-02-02")
			sq, dq := Query{Site: from, Location: loc, Range: feb}, Query{Site: to, Location: loc, Range: feb}
			equalLines(t, "imported days", seriesLines(t, rd, dq), seriesLines(t, rs, sq))
			if got, want := overviewLine(t, rd, dq), overviewLine(t, rs, sq); got != want || want != "visitors 18 visits 21 pageviews 45 bounce_rate 33.3 visit_duration 50" {
				t.Errorf("imported days' overview:\n got %s\nwant %s", got, want)
			}
			for _, c := range []struct {
				report, by string
				fields     []string
			}{
				{"sources", FilterSource, []string{"source", "visitors", "visits", "bounce_rate"}},
				{"entry-pages", FilterEntryPage, []string{"page", "visitors", "entries"}},
				{"devices", FilterBrowser, []string{"browser", "visitors"}},
			} {
				s, err := rs.Dimension(ctx, sq, c.report, c.by)
				if err != nil {
					t.Fatal(err)
				}
				dd, err := rd.Dimension(ctx, dq, c.report, c.by)
				if err != nil {
					t.Fatal(err)
				}
				equalLines(t, "imported days "+c.report+" by "+c.by, lines(dd, c.fields...), lines(s, c.fields...))
			}
			whole := period(t, loc, "2024-03-01", "2024-03-06")
			sq.Range, dq.Range = whole, whole
			equalLines(t, "days", seriesLines(t, rd, dq), seriesLines(t, rs, sq))
			for d := whole.From; !d.After(whole.To); d = d.AddDate(0, 0, 1) {
				day := period(t, loc, d.Format(dateLayout), d.Format(dateLayout))
				sq.Range, dq.Range = day, day
				if got, want := overviewLine(t, rd, dq), overviewLine(t, rs, sq); got != want {
					t.Errorf("%s overview:\n got %s\nwant %s", d.Format(dateLayout), got, want)
				}
				sp, err := rs.TopPages(ctx, sq)
				if err != nil {
					t.Fatal(err)
				}
				dp, err := rd.TopPages(ctx, dq)
				if err != nil {
					t.Fatal(err)
				}
				equalLines(t, d.Format(dateLayout)+" pages", lines(dp, "page", "visitors", "pageviews"), lines(sp, "page", "visitors", "pageviews"))
				for _, c := range []struct {
					report, by string
					fields     []string
				}{
					{"sources", FilterSource, []string{"source", "visitors", "visits", "bounce_rate", "visit_duration"}},
					{"sources", FilterReferrer, []string{"referrer", "visitors", "visits"}},
					{"utm", FilterUTMSource, []string{"utm_source", "visitors", "visits"}},
					{"entry-pages", FilterEntryPage, []string{"page", "visitors", "entries", "bounce_rate", "visit_duration"}},
					{"locations", FilterCountry, []string{"country", "visitors", "visits"}},
					{"devices", FilterDevice, []string{"device", "visitors", "visits"}},
					{"devices", FilterBrowser, []string{"browser", "visitors", "visits"}},
					{"devices", FilterOS, []string{"os", "visitors", "visits"}},
				} {
					s, err := rs.Dimension(ctx, sq, c.report, c.by)
					if err != nil {
						t.Fatal(err)
					}
					dd, err := rd.Dimension(ctx, dq, c.report, c.by)
					if err != nil {
						t.Fatal(err)
					}
					equalLines(t, d.Format(dateLayout)+" "+c.report+" by "+c.by, lines(dd, c.fields...), lines(s, c.fields...))
				}
				se, err := rs.ExitPages(ctx, sq)
				if err != nil {
					t.Fatal(err)
				}
				de, err := rd.ExitPages(ctx, dq)
				if err != nil {
					t.Fatal(err)
				}
				equalLines(t, d.Format(dateLayout)+" exit pages", lines(de, "page", "visitors", "exits"), lines(se, "page", "visitors", "exits"))
			}
		})
	}
}
