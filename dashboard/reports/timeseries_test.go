package reports

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/store/storetest"
	"github.com/websystems/loendur/internal/testclock"
)

// TestTimeseriesIntervalsAndComparison: weeks (from Monday) and months in the site's
// time zone, each bucket's unique visitors equal to the overview of the same days;
// hours that have not begun are null, not zero; the year-before comparison and none.
// On both engines, with and without a filter (the rollups and the visits).
func TestTimeseriesIntervalsAndComparison(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			site := "series-" + engine + ".test"
			now := time.Date(2024, 3, 6, 12, 0, 0, 0, time.UTC) // 14:00 in Tallinn
			r, _ := newSite(t, db, testclock.New(now), "Europe/Tallinn", site)
			loadFixture(t, db, site)
			loc, _ := time.LoadLocation("Europe/Tallinn")
			day := func(s string) time.Time { d, _ := time.ParseInLocation(dateLayout, s, loc); return d }
			rng := func(from, to string) Range { return newRange(day(from), day(to), loc) }

			for _, filters := range []string{"", "device==desktop"} {
				fs, err := ParseFilters(filters)
				if err != nil {
					t.Fatal(err)
				}
				cases := []struct {
					interval string
					rg       Range
					buckets  []Range // what each bucket must equal
				}{
					{IntervalWeek, rng("2024-02-26", "2024-03-10"), []Range{rng("2024-02-26", "2024-03-03"), rng("2024-03-04", "2024-03-10")}},
					{IntervalMonth, rng("2024-01-01", "2024-03-31"), []Range{rng("2024-01-01", "2024-01-31"), rng("2024-02-01", "2024-02-29"), rng("2024-03-01", "2024-03-31")}},
				}
				for _, c := range cases {
					q := Query{Site: site, Location: loc, Range: c.rg, Filters: fs, Interval: c.interval, Compare: CompareOff}
					rows, err := r.Timeseries(ctx, q)
					if err != nil {
						t.Fatalf("%s %q: %v", c.interval, filters, err)
					}
					if len(rows) != len(c.buckets) {
						t.Fatalf("%s %q: %d buckets, want %d", c.interval, filters, len(rows), len(c.buckets))
					}
					total := uint64(0)
					for i, b := range c.buckets {
						o, err := r.Overview(ctx, Query{Site: site, Location: loc, Range: b, Filters: fs, Compare: CompareOff})
						if err != nil {
							t.Fatal(err)
						}
						if got, want := rows[i].Get("date"), b.From.Format(dateLayout); got != want {
							t.Errorf("%s %q bucket %d is %v, want %s", c.interval, filters, i, got, want)
						}
						if got := rows[i].Get("visitors"); got != uint64(o.Visitors.Value) {
							t.Errorf("%s %q %s: %v visitors, the overview of those days says %v", c.interval, filters, b.From.Format(dateLayout), got, o.Visitors.Value)
						}
						if rows[i].Get("previous_date") != nil {
							t.Errorf("comparison off, but the row has %v", rows[i])
						}
						total += rows[i].Get("visits").(uint64)
					}
					if total == 0 {
						t.Errorf("%s %q: no visit in any bucket", c.interval, filters)
					}
				}
			}

			// Today by the hour: 00:00–14:00 have begun (15 hours), the 9 after are null.
			today := rng("2024-03-06", "2024-03-06")
			rows, err := r.Timeseries(ctx, Query{Site: site, Location: loc, Range: today})
			if err != nil {
				t.Fatal(err)
			}
			begun, future := 0, 0
			for _, row := range rows {
				if row.Get("visitors") == nil {
					future++
				} else {
					begun++
				}
			}
			if len(rows) != 24 || begun != 15 || future != 9 {
				t.Errorf("today: %d hours, %d begun, %d null; want 24, 15, 9", len(rows), begun, future)
			}

			// The same dates a year before.
			rows, err = r.Timeseries(ctx, Query{Site: site, Location: loc, Range: rng("2024-03-04", "2024-03-05"), Compare: CompareYear})
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(rows[0].Get("previous_date"), " ", rows[1].Get("previous_date")); got != "2023-03-04 2023-03-05" {
				t.Errorf("a year before: %s", got)
			}
		})
	}
}
