package reports

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
	"github.com/websystems/loendur/internal/testclock"
)

// The per-day and per-month visit states answer the overview and time series under one
// filter and the breakdowns without one. Each must give what the visits themselves
// give: the same report asked so that no rollup can answer it (the filter written
// twice, or a filter every visit passes) reads the sessions table instead. The visits
// span three months in Tallinn, some of them just after a local midnight that is
// still the day before in UTC, so a row read into the wrong day or month shows.
func TestRollupsAnswerLikeVisits(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			site := "paths-" + engine + ".test"
			c := testclock.New(time.Date(2024, 4, 20, 12, 0, 0, 0, time.UTC))
			r, _ := newSite(t, db, c, "Europe/Tallinn", site)
			insertEvents(t, db, pathEvents(site))
			if n, err := r.Finalize(ctx, site); err != nil || n != pathVisits {
				t.Fatalf("finalize wrote %d visits (want %d), err %v", n, pathVisits, err)
			}
			loc, _ := time.LoadLocation("Europe/Tallinn")
			p, err := ParsePeriod("custom", "2024-01-20", "2024-04-10", loc, c.Now())
			if err != nil {
				t.Fatal(err)
			}
			query := func(filters, interval string) Query {
				fs, err := ParseFilters(filters)
				if err != nil {
					t.Fatal(err)
				}
				return Query{Site: site, Location: loc, Range: p.Current, Filters: fs, Interval: interval}
			}
			for _, f := range []string{"country==EE", "region==FI-1", "city==Espoo", "source==Google", "source==",
				"referrer==bing.com", "utm_campaign==spring", "device==mobile", "browser==Firefox", "os==iOS",
				"entry_page==/pricing", "exit_page==/signup", "page==/pricing", "page==/docs"} {
				twice := f + ";" + f
				got, want := r.mustOverview(t, query(f, "")), r.mustOverview(t, query(twice, ""))
				if got != want {
					t.Errorf("overview %s: rollup %s, visits %s", f, got, want)
				}
				if strings.HasPrefix(got, "visitors 0") {
					t.Errorf("overview %s matched no visit: pick a value the data has", f)
				}
				for _, iv := range []string{IntervalDay, IntervalMonth} {
					equalLines(t, "timeseries "+f+" by "+iv, r.mustSeries(t, query(f, iv)), r.mustSeries(t, query(twice, iv)))
				}
			}
			for report, dims := range dimensions {
				for _, d := range dims {
					name := report + " by " + d.key
					if report == "exit-pages" {
						got, want := r.mustExits(t, query("", "")), r.mustExits(t, query("country!=ZZ", ""))
						equalLines(t, name, got, want)
						continue
					}
					got := r.mustDimension(t, query("", ""), report, d.key)
					if len(got) < 2 {
						t.Errorf("%s: %d rows, want several", name, len(got))
					}
					equalLines(t, name, got, r.mustDimension(t, query("country!=ZZ", ""), report, d.key))
				}
			}
			// A page filter chooses exit pages' rows: by its exact path from the rollup; as
			// a pattern (matching only that page here) from the visits.
			equalLines(t, "exit pages of /pricing", r.mustExits(t, query("page==/pricing", "")), r.mustExits(t, query("page==/pricing*", "")))
			equalLines(t, "top pages", r.mustPages(t, query("", "")), r.mustPages(t, query("country!=ZZ", "")))
		})
	}
}

const pathVisits = 480

// pathEvents are pathVisits visits of one to four page views (and an engagement event
// after each), starting every 4 h 7 min from 19 January: every hour of the local day
// comes round, so some visits start just after a local midnight.
func pathEvents(site string) []store.Event {
	paths := []string{"/", "/pricing", "/docs", "/signup", "/blog/a", "/blog/b"}
	places := [][3]string{{"EE", "EE-37", "Tallinn"}, {"EE", "EE-79", "Tartu"}, {"FI", "FI-1", "Espoo"}, {"FI", "FI-1", "Helsinki"}, {"", "", ""}}
	sources := [][2]string{{"Google", "google.com"}, {"", ""}, {"Bing", "bing.com"}, {"Google", "google.com"}}
	devices := [][3]string{{"desktop", "Firefox", "Linux"}, {"mobile", "Safari", "iOS"}, {"mobile", "Chrome", "Android"}, {"tablet", "Safari", "iOS"}}
	start := time.Date(2024, 1, 19, 0, 3, 0, 0, time.UTC)
	var out []store.Event
	for i := range pathVisits {
		at := start.Add(time.Duration(i) * (4*time.Hour + 7*time.Minute))
		place, src, dev := places[i%5], sources[i%4], devices[(i/3)%4]
		views := 1 + (i*7)%4
		for k := range views {
			page := paths[(i+k*k+k)%len(paths)]
			ev := store.Event{EventID: uuid.New(), Site: site, Timestamp: at.Add(time.Duration(k) * 40 * time.Second),
				Name: "pageview", Hostname: site, Pathname: page,
				CountryCode: place[0], Region: place[1], City: place[2], Device: dev[0], Browser: dev[1], OS: dev[2],
				VisitorID: uint64(1000 + i%170), SessionID: uint64(1 + i), IP: "203.0.0.0"}
			if k == 0 {
				ev.ReferrerSource, ev.ReferrerHost = src[0], src[1]
				if i%6 == 0 {
					ev.UTMSource, ev.UTMMedium, ev.UTMCampaign = "news", "email", []string{"spring", "summer"}[i%12/6]
				}
			}
			eng := ev
			eng.EventID, eng.Name, eng.Timestamp = uuid.New(), "engagement", ev.Timestamp.Add(30*time.Second)
			eng.ReferrerSource, eng.ReferrerHost, eng.UTMSource, eng.UTMMedium, eng.UTMCampaign = "", "", "", "", ""
			eng.EngagedMS, eng.Scroll = uint32(1000+i*37%9000), uint8(i*13%101)
			out = append(out, ev, eng)
		}
	}
	return out
}

func (rep *Service) mustOverview(t *testing.T, q Query) string {
	t.Helper()
	o, err := rep.Overview(context.Background(), q)
	if err != nil {
		t.Fatalf("overview %s: %v", q.Filters, err)
	}
	return strings.Join(lines(o.rows(), "metric", "value"), ", ")
}

func (rep *Service) mustSeries(t *testing.T, q Query) []string {
	t.Helper()
	rows, err := rep.Timeseries(context.Background(), q)
	if err != nil {
		t.Fatalf("timeseries %s: %v", q.Filters, err)
	}
	return lines(rows, "date", "visitors", "visits", "pageviews", "bounce_rate", "visit_duration")
}

func (rep *Service) mustDimension(t *testing.T, q Query, report, by string) []string {
	t.Helper()
	rows, err := rep.Dimension(context.Background(), q, report, by)
	if err != nil {
		t.Fatalf("%s by %s: %v", report, by, err)
	}
	var out []string
	for _, row := range rows {
		var vals []string
		for _, f := range row {
			vals = append(vals, fmt.Sprint(f.Value))
		}
		out = append(out, strings.Join(vals, " "))
	}
	return out
}

func (rep *Service) mustExits(t *testing.T, q Query) []string {
	t.Helper()
	rows, err := rep.ExitPages(context.Background(), q)
	if err != nil {
		t.Fatalf("exit pages: %v", err)
	}
	return lines(rows, "page", "visitors", "exits")
}

func (rep *Service) mustPages(t *testing.T, q Query) []string {
	t.Helper()
	rows, err := rep.TopPages(context.Background(), q)
	if err != nil {
		t.Fatalf("top pages: %v", err)
	}
	return lines(rows, "page", "visitors", "pageviews")
}
