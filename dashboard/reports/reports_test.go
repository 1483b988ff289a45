package reports

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
	"github.com/websystems/loendur/internal/testclock"
)

// The expected figures below are worked out by hand from testdata/events.csv; the
// comments show the arithmetic. Period: 2024-03-04..05 in Europe/Tallinn, visits S1–S5
// (S5 began at 23:30 UTC on the 3rd, which is the 4th in Tallinn; S6 is on the 6th
// there). Previous period: 2024-03-02..03, visits S7 and S8.
func TestReportsFixture(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			site := "fixture-" + engine + ".test"
			c := testclock.New(time.Date(2024, 3, 6, 12, 0, 0, 0, time.UTC))
			r, _ := newSite(t, db, c, "Europe/Tallinn", site)
			loadFixture(t, db, site)
			// The same answers whether visits are computed from events, partly written
			// to the sessions table, or all written.
			stages := []struct {
				name       string
				finalizeAt time.Time
				written    int
			}{
				{"from events", time.Time{}, 0},
				// At 09:00 UTC on the 5th, visits that ended before 08:25 are written:
				// S1, S2, S5, S7, S8, S9.
				{"partly written", time.Date(2024, 3, 5, 9, 0, 0, 0, time.UTC), 6},
				// The rest (S3, S4, S6) a day later.
				{"all written", time.Date(2024, 3, 6, 12, 0, 0, 0, time.UTC), 3},
			}
			for _, st := range stages {
				t.Run(st.name, func(t *testing.T) {
					if !st.finalizeAt.IsZero() {
						c.Set(st.finalizeAt)
						n, err := r.Finalize(context.Background(), site)
						if err != nil {
							t.Fatalf("finalize: %v", err)
						}
						if n != st.written {
							t.Errorf("finalize wrote %d visits, want %d", n, st.written)
						}
						c.Set(time.Date(2024, 3, 6, 12, 0, 0, 0, time.UTC))
					}
					checkFixture(t, r, site)
				})
			}
			t.Run("visits written twice are merged", func(t *testing.T) {
				// What two finalizers racing would leave: every visit twice.
				var rows []derived.VisitRow
				cols := derived.Visits.ColumnNames()
				if err := db.Select(context.Background(), &rows,
					"SELECT "+strings.Join(cols[1:len(cols)-1], ", ")+" FROM sessions WHERE site = ? SETTINGS output_format_json_quote_64bit_integers = 0", site); err != nil {
					t.Fatal(err)
				}
				if len(rows) != 9 {
					t.Fatalf("%d visits in the sessions table, want 9", len(rows))
				}
				values := make([][]any, len(rows))
				for i, s := range rows {
					values[i] = s.Values(site, 1)
				}
				if err := db.Insert(context.Background(), "sessions", cols, values); err != nil {
					t.Fatal(err)
				}
				if err := r.finalizer().Dedupe(context.Background(), site, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 3, 7, 0, 0, 0, 0, time.UTC)); err != nil {
					t.Fatal(err)
				}
				checkOverview(t, r, fixtureQuery(t, site, ""))
			})
			t.Run("finalize again writes nothing", func(t *testing.T) {
				if n, err := r.Finalize(context.Background(), site); err != nil || n != 0 {
					t.Errorf("second finalize: wrote %d, err %v", n, err)
				}
				checkOverview(t, r, fixtureQuery(t, site, ""))
			})
		})
	}
}

func fixtureQuery(t *testing.T, site, filters string) Query {
	t.Helper()
	loc, _ := time.LoadLocation("Europe/Tallinn")
	p, err := ParsePeriod("custom", "2024-03-04", "2024-03-05", loc, time.Date(2024, 3, 6, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	fs, err := ParseFilters(filters)
	if err != nil {
		t.Fatal(err)
	}
	return Query{Site: site, Location: loc, Range: p.Current, Filters: fs}
}

func checkFixture(t *testing.T, r *Service, site string) {
	ctx := context.Background()
	q := fixtureQuery(t, site, "")

	t.Run("overview and comparison", func(t *testing.T) { checkOverview(t, r, q) })

	t.Run("timeseries in the site's time zone", func(t *testing.T) {
		rows, err := r.Timeseries(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		// The 4th: S1, S2 and S5 (01:30 local); the 5th: S3, S4. Previous: S7 on the
		// 2nd, S8 on the 3rd.
		equalLines(t, "daily", lines(rows, "date", "visitors", "visits", "pageviews", "bounce_rate", "visit_duration",
			"previous_date", "previous_visitors", "previous_pageviews"), []string{
			"2024-03-04 3 3 7 33.3 180 2024-03-02 1 1", // (240+60+240)/3
			"2024-03-05 2 2 4 50 185 2024-03-03 1 2",   // (250+120)/2
		})
		day := fixtureQuery(t, site, "")
		day.Range = newRange(day.Range.From, day.Range.From, day.Location)
		rows, err = r.Timeseries(ctx, day)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 24 {
			t.Fatalf("hourly series has %d rows, want 24", len(rows))
		}
		var busy []string
		for _, row := range rows {
			if row.Get("visits").(uint64) > 0 {
				busy = append(busy, fmt.Sprint(row.Get("date"), " ", row.Get("visits")))
			}
		}
		equalLines(t, "busy hours of the 4th", busy, []string{
			"2024-03-04T01:00:00+02:00 1", // S5, 23:30 UTC the day before
			"2024-03-04T10:00:00+02:00 1", // S1
			"2024-03-04T11:00:00+02:00 1", // S2
		})
	})

	t.Run("top pages", func(t *testing.T) {
		rows, err := r.TopPages(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "top pages", lines(rows, "page", "visitors", "pageviews", "time_on_page", "scroll_depth"), []string{
			"/pricing 4 4 52.5 70",     // engaged (50+60+55+45)/4 s, scroll (60+80+40+100)/4
			"/ 3 3 25 60",              // S5 left home without an engagement event: (30+20)/2, (100+20)/2
			"/blog/hello 2 2 105 87.5", // (110+100)/2, (100+75)/2
			"/signup 2 2 35 65",        // (40+30)/2, (30+100)/2
		})
	})

	t.Run("entry pages", func(t *testing.T) {
		rows, err := r.Dimension(ctx, q, "entry-pages", "")
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "entry pages", lines(rows, "page", "visitors", "entries", "bounce_rate"), []string{
			"/ 3 3 0",             // S1, S3, S5
			"/blog/hello 1 1 100", // S4
			"/pricing 1 1 100",    // S2
		})
	})

	t.Run("exit pages and exit rate", func(t *testing.T) {
		rows, err := r.ExitPages(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "exit pages", lines(rows, "page", "visitors", "exits", "pageviews", "exit_rate"), []string{
			"/pricing 2 2 4 50",    // S2, S3 left from pricing, viewed 4 times
			"/signup 2 2 2 100",    // S1, S5
			"/blog/hello 1 1 2 50", // S4
		})
	})

	t.Run("scroll drop-off", func(t *testing.T) {
		rows, err := r.Scroll(ctx, q, "/pricing")
		if err != nil {
			t.Fatal(err)
		}
		// Visitors 1, 2, 3, 4 scrolled 60, 80, 40 and 100 % of pricing.
		equalLines(t, "scroll", lines(rows, "depth", "visitors", "share"), []string{
			"0 4 100", "25 4 100", "50 3 75", "75 2 50", "100 1 25",
		})
	})

	t.Run("funnel drop-off", func(t *testing.T) {
		f := Funnel{Name: "signup", Steps: []Step{{StepPage, "/"}, {StepPage, "/pricing"}, {StepEvent, "Signup"}, {StepPage, "/sign*"}}}
		rows, err := r.FunnelReport(ctx, q, f)
		if err != nil {
			t.Fatal(err)
		}
		// Home: S1, S3, S5 (S2 and S4 entered elsewhere and never saw it). Pricing after
		// home: the same three. Signup after that: S1, S5. The signup page after: S1, S5.
		equalLines(t, "funnel", lines(rows, "step", "visitors", "visits", "conversion_rate", "dropoff", "dropoff_rate"), []string{
			"1 3 3 100 0 0", "2 3 3 100 0 0", "3 2 2 66.7 1 33.3", "4 2 2 66.7 0 0",
		})
		// Order matters: signing up before seeing pricing does not count.
		f.Steps = []Step{{StepEvent, "Signup"}, {StepPage, "/"}}
		rows, err = r.FunnelReport(ctx, q, f)
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "reverse funnel", lines(rows, "step", "visitors"), []string{"1 2", "2 0"})
	})

	t.Run("sources", func(t *testing.T) {
		rows, err := r.Dimension(ctx, q, "sources", "")
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "sources", lines(rows, "source", "visitors", "visits", "bounce_rate", "visit_duration"), []string{
			`"" 2 2 0 245`,       // direct: S3, S5; (250+240)/2
			"Google 1 2 50 180",  // S1, S4 of visitor 1
			"Twitter 1 1 100 60", // S2
		})
		rows, err = r.Dimension(ctx, q, "sources", FilterReferrer)
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "referrers", lines(rows, "referrer", "visits"), []string{`"" 2`, "google.com 2", "t.co 1"})
		rows, err = r.Dimension(ctx, q, "utm", FilterUTMCampaign)
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "utm campaigns", lines(rows, "utm_campaign", "visitors", "visits"), []string{`"" 3 4`, "spring 1 1"})
	})

	t.Run("locations and devices", func(t *testing.T) {
		rows, err := r.Dimension(ctx, q, "locations", "")
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "countries", lines(rows, "country", "visitors", "visits"), []string{"EE 2 3", "DE 1 1", "FI 1 1"})
		rows, err = r.Dimension(ctx, q, "locations", FilterCity)
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "cities", lines(rows, "country", "region", "city", "visits"), []string{
			"EE Harju Tallinn 2", "DE Berlin Berlin 1", "EE Tartu Tartu 1", "FI Uusimaa Helsinki 1"})
		rows, err = r.Dimension(ctx, q, "devices", FilterBrowser)
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "browsers", lines(rows, "browser", "visitors", "visits"), []string{"Chrome 2 2", "Firefox 1 2", "Safari 1 1"})
	})

	t.Run("custom events and properties", func(t *testing.T) {
		rows, err := r.Events(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "events", lines(rows, "event", "visitors", "events"), []string{"Signup 2 2"})
		rows, err = r.Events(ctx, fixtureQuery(t, site, "event==Signup"))
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "Signup properties", lines(rows, "event", "property", "value", "visitors", "events"), []string{
			"Signup plan free 1 1", "Signup plan pro 1 1"})
		// A filter the rollups cannot answer: the same events read from events.
		rows, err = r.Events(ctx, fixtureQuery(t, site, "event==Signup;country==DE"))
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "Signup properties in Germany", lines(rows, "property", "value", "visitors"), []string{"plan free 1"})
	})

	t.Run("filters", func(t *testing.T) {
		// Visits from Google: S1 and S4 of visitor 1.
		g := fixtureQuery(t, site, "source==Google")
		totals, err := r.visitTotalsOf(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := totals, "1 2 4 1 360"; got != want {
			t.Errorf("Google visits: visitors visits pageviews bounces duration = %s, want %s", got, want)
		}
		rows, err := r.TopPages(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "pages of Google visits", lines(rows, "page", "visitors", "pageviews", "time_on_page", "scroll_depth"), []string{
			"/ 1 1 30 100", "/blog/hello 1 1 100 75", "/pricing 1 1 50 60", "/signup 1 1 40 30"})
		rows, err = r.ExitPages(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "exits of Google visits", lines(rows, "page", "exits", "pageviews", "exit_rate"), []string{
			"/blog/hello 1 1 100", "/signup 1 1 100"})
		rows, err = r.ExitPages(ctx, fixtureQuery(t, site, "page==/pricing"))
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "exit rate of pricing", lines(rows, "page", "exits", "pageviews", "exit_rate"), []string{"/pricing 2 4 50"})
		rows, err = r.ExitPages(ctx, fixtureQuery(t, site, "page==/pricing;device==desktop"))
		if err != nil {
			t.Fatal(err)
		}
		// Desktop: visitors 1 and 3; S3 left from pricing, S1 only viewed it.
		equalLines(t, "exit rate of pricing on desktop", lines(rows, "page", "exits", "pageviews", "exit_rate"), []string{"/pricing 1 2 50"})
		rows, err = r.Scroll(ctx, g, "/pricing")
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "pricing scroll of Google visits", lines(rows, "depth", "visitors", "share"), []string{
			"0 1 100", "25 1 100", "50 1 100", "75 0 0", "100 0 0"}) // visitor 1 scrolled 60 %
		rows, err = r.Events(ctx, fixtureQuery(t, site, "country==DE"))
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "events of German visits", lines(rows, "event", "visitors", "events"), []string{"Signup 1 1"})
		// Visits that read the blog: S3 and S4; page views of matching pages only.
		b := fixtureQuery(t, site, "page==/blog/*")
		totals, err = r.visitTotalsOf(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := totals, "2 2 2 1 370"; got != want {
			t.Errorf("blog visits = %s, want %s", got, want)
		}
		rows, err = r.TopPages(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "blog pages", lines(rows, "page", "visitors", "pageviews"), []string{"/blog/hello 2 2"})
		// Two filters: desktop visits that entered on home: S1 (visitor 1) and S3 (visitor 3).
		d := fixtureQuery(t, site, "device==desktop;entry_page==/")
		rows, err = r.Dimension(ctx, d, "devices", FilterOS)
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "os of desktop visits from home", lines(rows, "os", "visits"), []string{"Linux 1", "Windows 1"})
		rows, err = r.TopPages(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "pages of desktop visits from home", lines(rows, "page", "visitors", "pageviews"), []string{
			"/ 2 2", "/pricing 2 2", "/blog/hello 1 1", "/signup 1 1"})
		// Nothing matches: empty, not an error.
		rows, err = r.TopPages(ctx, fixtureQuery(t, site, "country==NO"))
		if err != nil || len(rows) != 0 {
			t.Errorf("no match: %d rows, err %v", len(rows), err)
		}
	})
}

func checkOverview(t *testing.T, r *Service, q Query) {
	t.Helper()
	o, err := r.Overview(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	got := lines(o.rows(), "metric", "value", "previous", "change")
	equalLines(t, "overview", got, []string{
		"visitors 4 2 100",     // visitors 1–4; previous 3 and 5
		"visits 5 2 150",       // S1–S5; S7, S8
		"pageviews 11 3 266.7", // 3+1+3+1+3; 1+2
		"views_per_visit 2.2 1.5 46.7",
		"bounce_rate 40 50 -10",       // S2, S4 of 5; S7 of 2 (percentage points)
		"visit_duration 182 100 82",   // (240+60+250+120+240)/5; (20+180)/2
		"engaged_time 108 32.5 232.3", // (120+60+185+100+75)/5; (15+50)/2
	})
}

// visitTotalsOf is the current figures of q as "visitors visits pageviews bounces
// duration", for compact expectations.
func (rep *Service) visitTotalsOf(ctx context.Context, q Query) (string, error) {
	s, err := rep.scope(ctx, q)
	if err != nil {
		return "", err
	}
	t, err := rep.visitTotals(ctx, s, q.Range)
	if err != nil {
		return "", err
	}
	return fmt.Sprint(t.Visitors, " ", t.Visits, " ", t.Pageviews, " ", t.Bounces, " ", t.Duration), nil
}

// A site in UTC sees S5 (23:30 UTC on the 3rd) on the 3rd, outside 4–5 March.
func TestTimeZoneUTC(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			site := "utc-" + engine + ".test"
			c := testclock.New(time.Date(2024, 3, 6, 12, 0, 0, 0, time.UTC))
			r, _ := newSite(t, db, c, "UTC", site)
			loadFixture(t, db, site)
			q := fixtureQuery(t, site, "")
			q.Location = time.UTC
			q.Range = newRange(time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC), time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC), time.UTC)
			// The 4th: S1, S2; the 5th: S3, S4 and S6 (22:30). Previous: S7 on the 2nd,
			// S8 and S5 (23:30) on the 3rd.
			rows, err := r.Timeseries(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			equalLines(t, "UTC days", lines(rows, "date", "visits", "previous_date", "previous_visitors"), []string{
				"2024-03-04 2 2024-03-02 1", "2024-03-05 3 2024-03-03 2"})
		})
	}
}

// Realtime counts the visitors of the last five minutes at the page of their latest event.
func TestRealtime(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			site := "live-" + engine + ".test"
			now := time.Now().UTC().Truncate(time.Second)
			c := testclock.New(now)
			r, _ := newSite(t, db, c, "Europe/Tallinn", site)
			ev := func(ago time.Duration, visitor uint64, path string) store.Event {
				return store.Event{Site: site, Timestamp: now.Add(-ago), Name: "pageview", Pathname: path,
					VisitorID: visitor, SessionID: visitor * 10, CountryCode: "EE", Device: "desktop"}
			}
			insertEvents(t, db, []store.Event{
				ev(10*time.Minute, 9, "/gone"), // left before the window
				ev(4*time.Minute, 7, "/live"),
				ev(1*time.Minute, 7, "/other"), // visitor 7 moved on
				ev(2*time.Minute, 8, "/live"),
				ev(3*time.Minute, 10, "/live"),
			})
			n, rows, err := r.Realtime(context.Background(), Query{Site: site})
			if err != nil {
				t.Fatal(err)
			}
			if n != 3 {
				t.Errorf("realtime visitors = %d, want 3", n)
			}
			equalLines(t, "current pages", lines(rows, "page", "visitors"), []string{"/live 2", "/other 1"})
		})
	}
}
