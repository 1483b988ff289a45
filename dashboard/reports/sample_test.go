package reports

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/derived/derivedtest"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
	"github.com/websystems/loendur/internal/testclock"
)

// TestSampledReports: every report read from the visit sample equals the exact report
// of the sampled visitors alone with its counts multiplied by the rate, while its rates
// and averages stay as they are. The sampled visitors' events are stored a second time
// as another site, whose reports are read exactly. On both engines, with the visits
// computed from events and then written, with and without a filter; the sample table
// then holds exactly the sampled visitors' written visits. At the sample's own rate
// and at twice it (half of the sample, for the largest periods).
func TestSampledReports(t *testing.T) {
	rates := []int{derived.VisitSample.Rate, 2 * derived.VisitSample.Rate}
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			all := "sample-all-" + engine + ".test"
			only := map[int]string{}
			for _, rate := range rates {
				only[rate] = fmt.Sprintf("sample-only-%d-%s.test", rate, engine)
			}
			c := testclock.New(time.Date(2024, 4, 20, 12, 0, 0, 0, time.UTC))
			r, _ := newSite(t, db, c, "Europe/Tallinn", all, only[rates[0]], only[rates[1]])
			events := sampleEvents(all)
			insertEvents(t, db, events)
			for _, rate := range rates {
				var kept []store.Event
				for _, e := range events {
					if derived.VisitSample.HasAt(e.VisitorID, rate) {
						e.EventID, e.Site, e.Hostname = uuid.New(), only[rate], only[rate]
						kept = append(kept, e)
					}
				}
				if len(kept) == 0 || len(kept) == len(events) {
					t.Fatalf("%d of %d events are the sampled visitors': the fixture must have both kinds", len(kept), len(events))
				}
				insertEvents(t, db, kept)
			}
			loc, _ := time.LoadLocation("Europe/Tallinn")
			p, err := ParsePeriod("custom", "2024-01-20", "2024-04-10", loc, c.Now())
			if err != nil {
				t.Fatal(err)
			}
			for _, stage := range []string{"from events", "written"} {
				if stage == "written" {
					for _, site := range []string{all, only[rates[0]], only[rates[1]]} {
						if _, err := r.Finalize(ctx, site); err != nil {
							t.Fatal(err)
						}
					}
				}
				for _, filters := range []string{"", "country==EE", "page==/pricing"} {
					fs, err := ParseFilters(filters)
					if err != nil {
						t.Fatal(err)
					}
					for _, rate := range rates {
						sampled := Query{Site: all, Location: loc, Range: p.Current, Filters: fs, Sample: rate}
						exact := Query{Site: only[rate], Location: loc, Range: p.Current, Filters: fs}
						for _, rc := range sampleCases(ctx, r) {
							name := fmt.Sprintf("%s 1 in %d %s %s", stage, rate, rc.name, filters)
							got, err := rc.run(sampled)
							if err != nil {
								t.Fatalf("%s, sampled: %v", name, err)
							}
							want, err := rc.run(exact)
							if err != nil {
								t.Fatalf("%s, exact: %v", name, err)
							}
							// Sign-ups happen on /signup: none under the page filter, and none is what both say.
							if len(want) == 0 && (rc.name != "events" || !strings.HasPrefix(filters, "page")) {
								t.Errorf("%s: no rows: pick a case the fixture answers", name)
							}
							equalLines(t, name, rowLines(got, 1), rowLines(want, uint64(rate)))
						}
					}
				}
			}
			drift, err := derived.Drift(ctx, db, all)
			if err != nil || len(drift) > 0 {
				t.Errorf("drift %v, err %v", drift, err)
			}
			// Visits written twice (two finalizers at once) are merged in the sample too.
			cols := derived.Visits.ColumnNames()
			if err := db.Exec(ctx, "INSERT INTO sessions ("+strings.Join(cols, ", ")+") SELECT "+strings.Join(cols, ", ")+
				" FROM sessions WHERE site = ?", all); err != nil {
				t.Fatal(err)
			}
			if err := r.finalizer().Dedupe(ctx, all, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), c.Now()); err != nil {
				t.Fatal(err)
			}
			count := func(q string) uint64 {
				var n []struct {
					N uint64 `ch:"n"`
				}
				if err := db.Select(ctx, &n, q, all); err != nil || len(n) == 0 {
					t.Fatalf("%s: %v", q, err)
				}
				return n[0].N
			}
			have := count("SELECT count() AS n FROM " + derived.VisitSample.Name + " WHERE site = ?")
			want := count("SELECT count() AS n FROM sessions FINAL WHERE site = ? AND " + derived.VisitSample.Where())
			if have != want || want == 0 {
				t.Errorf("the sample holds %d visits after the merge, want the sampled visitors' %d", have, want)
			}
		})
	}
}

type sampleCase struct {
	name string
	run  func(q Query) ([]Row, error)
}

// sampleCases are the reports a sample answers, as rows (the overview's metrics too).
func sampleCases(ctx context.Context, r *Service) []sampleCase {
	funnel := Funnel{Name: "f", Steps: []Step{{StepPage, "/"}, {StepPage, "/pricing"}, {StepEvent, "Signup"}}}
	dim := func(report, by string) sampleCase {
		return sampleCase{report + " by " + by, func(q Query) ([]Row, error) { return r.Dimension(ctx, q, report, by) }}
	}
	return []sampleCase{
		{"overview", func(q Query) ([]Row, error) { o, err := r.Overview(ctx, q); return o.rows(), err }},
		{"timeseries", func(q Query) ([]Row, error) { return r.Timeseries(ctx, q) }},
		{"monthly", func(q Query) ([]Row, error) { q.Interval = IntervalMonth; return r.Timeseries(ctx, q) }},
		{"top pages", func(q Query) ([]Row, error) { return r.TopPages(ctx, q) }},
		{"exit pages", func(q Query) ([]Row, error) { return r.ExitPages(ctx, q) }},
		{"scroll", func(q Query) ([]Row, error) { return r.Scroll(ctx, q, "/pricing") }},
		{"funnel", func(q Query) ([]Row, error) { return r.FunnelReport(ctx, q, funnel) }},
		{"events", func(q Query) ([]Row, error) {
			q.Filters = append(slices.Clone(q.Filters), Filter{Key: FilterDevice, Op: OpIsNot, Value: "none"})
			return r.Events(ctx, q)
		}},
		dim("entry-pages", FilterEntryPage), dim("sources", FilterSource), dim("utm", FilterUTMCampaign),
		dim("locations", FilterCity), dim("devices", FilterBrowser),
	}
}

// rowLines renders each row's fields as name=value, counts multiplied by k (the
// overview's counts are the metrics visitors, visits and pageviews), sorted: rows that
// tie may come in another order.
func rowLines(rows []Row, k uint64) []string {
	counts := map[string]bool{"visitors": true, "visits": true, "pageviews": true}
	out := make([]string, len(rows))
	for i, row := range rows {
		metric, _ := row.Get("metric").(string)
		var f []string
		for _, fd := range row {
			v := fd.Value
			switch n := v.(type) {
			case uint64:
				v = n * k
			case float64:
				if counts[metric] && (fd.Name == "value" || fd.Name == "previous") {
					v = n * float64(k)
				}
			case *float64:
				if n != nil {
					v = *n
				}
			}
			f = append(f, fmt.Sprintf("%s=%v", fd.Name, v))
		}
		out[i] = strings.Join(f, " ")
	}
	slices.Sort(out)
	return out
}

// sampleEvents are pathEvents with a sign-up after each view of /signup, a third of
// their visitors (every third number) given ids the visit sample holds.
func sampleEvents(site string) []store.Event {
	var out []store.Event
	sampled := derivedtest.SampledVisitors(200, 1)
	for _, e := range pathEvents(site) {
		if e.VisitorID%3 == 0 {
			e.VisitorID = sampled[e.VisitorID%200]
		} else if derived.VisitSample.Has(e.VisitorID) {
			e.VisitorID += 1_000_000 // out of the sample: none of these is in it
		}
		out = append(out, e)
		if e.Name == "pageview" && e.Pathname == "/signup" {
			s := e
			s.EventID, s.Name, s.Timestamp = uuid.New(), "Signup", e.Timestamp.Add(5*time.Second)
			s.ReferrerSource, s.ReferrerHost, s.UTMSource, s.UTMMedium, s.UTMCampaign = "", "", "", "", ""
			out = append(out, s)
		}
	}
	return out
}

// A period's rate follows its written visits: every visit up to the threshold, then one
// visitor in 32, halved again each time the sample would still hold more than
// sampledVisits of them, down to 1 in 1,024.
func TestSampleRateFollowsThePeriodsVisits(t *testing.T) {
	cases := []struct {
		visits uint64
		want   int
	}{
		{DefaultSampleAbove, 1},
		{DefaultSampleAbove + 1, 32},
		{32 * sampledVisits, 32},
		{32*sampledVisits + 32, 64},
		{128*sampledVisits + 128, 256},
		{1_000_000_000, derived.VisitSample.MaxRate},
	}
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			c := testclock.New(time.Date(2024, 4, 20, 12, 0, 0, 0, time.UTC))
			var domains []string
			for i := range cases {
				domains = append(domains, fmt.Sprintf("rate-%d-%s.test", i, engine))
			}
			r, _ := newSite(t, db, c, "UTC", domains...)
			for i, tc := range cases {
				// Two days of the period and one before it, which must not count.
				q := fmt.Sprintf(`INSERT INTO visit_stats_daily (site, day, visits)
					SELECT '%s', toDate(arrayJoin(['2024-04-01', '2024-04-02', '2024-03-01'])) AS d,
						if(d = toDate('2024-04-01'), toUInt64(%d), toUInt64(%d))`, domains[i], tc.visits-tc.visits/2, tc.visits/2)
				if err := db.Exec(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			p, err := ParsePeriod("custom", "2024-04-01", "2024-04-10", time.UTC, c.Now())
			if err != nil {
				t.Fatal(err)
			}
			for i, tc := range cases {
				got, err := r.SampleRate(ctx, Query{Site: domains[i], Location: time.UTC, Range: p.Current})
				if err != nil {
					t.Fatal(err)
				}
				if got != tc.want {
					t.Errorf("%d visits in the period: rate %d, want %d", tc.visits, got, tc.want)
				}
			}
		})
	}
}
