package reports

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/testenv"
)

// BenchmarkReports times every report for the last 30 days of a site with 10 million
// events over 60 days (so the comparison period is full too) on embedded chDB:
//
//	go test -run '^$' -bench Reports -benchtime 5x -timeout 60m ./dashboard/reports
//
// LOENDUR_BENCH_DIR keeps the chDB folder between runs (loading takes minutes);
// LOENDUR_BENCH_EVENTS changes the number of events.
func BenchmarkReports(b *testing.B) {
	ctx := context.Background()
	lib := testenv.ChdbLib(b)
	dir := os.Getenv("LOENDUR_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	db, err := store.Open(ctx, "chdb://"+dir, store.Options{LibPath: lib})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := store.Migrate(ctx, db); err != nil {
		b.Fatal(err)
	}
	const site = "bench.example"
	events := uint64(10_000_000)
	if v := os.Getenv("LOENDUR_BENCH_EVENTS"); v != "" {
		fmt.Sscan(v, &events)
	}
	if err := loadBenchEvents(b, db, site, events); err != nil {
		b.Fatal(err)
	}
	reg := sites.NewRegistry(db, slog.New(slog.DiscardHandler))
	if _, err := reg.Ensure(ctx, []string{site}); err != nil {
		b.Fatal(err)
	}
	r, err := New(Deps{DB: db, Sites: reg})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	n, err := r.Finalize(ctx, site)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("finalizer wrote %d visits in %v\n", n, time.Since(start).Round(time.Millisecond))

	loc, _ := time.LoadLocation("Europe/Tallinn")
	p, err := ParsePeriod(Period30d, "", "", loc, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	query := func(filters string) Query {
		fs, err := ParseFilters(filters)
		if err != nil {
			b.Fatal(err)
		}
		return Query{Site: site, Location: loc, Range: p.Current, Filters: fs}
	}
	funnel := Funnel{Name: "bench", Steps: []Step{{StepPage, "/p/1"}, {StepPage, "/p/2*"}, {StepEvent, "Signup"}}}
	cases := []struct {
		name string
		run  func(q Query) error
	}{
		{"overview", func(q Query) error { _, err := r.Overview(ctx, q); return err }},
		{"timeseries", func(q Query) error { _, err := r.Timeseries(ctx, q); return err }},
		{"top-pages", func(q Query) error { _, err := r.TopPages(ctx, q); return err }},
		{"entry-pages", func(q Query) error { _, err := r.Dimension(ctx, q, "entry-pages", ""); return err }},
		{"exit-pages", func(q Query) error { _, err := r.ExitPages(ctx, q); return err }},
		{"scroll", func(q Query) error { _, err := r.Scroll(ctx, q, "/p/1"); return err }},
		{"funnel", func(q Query) error { _, err := r.FunnelReport(ctx, q, funnel); return err }},
		{"sources", func(q Query) error { _, err := r.Dimension(ctx, q, "sources", ""); return err }},
		{"utm", func(q Query) error { _, err := r.Dimension(ctx, q, "utm", ""); return err }},
		{"locations", func(q Query) error { _, err := r.Dimension(ctx, q, "locations", ""); return err }},
		{"locations-city", func(q Query) error { _, err := r.Dimension(ctx, q, "locations", FilterCity); return err }},
		{"devices", func(q Query) error { _, err := r.Dimension(ctx, q, "devices", ""); return err }},
		{"devices-browser", func(q Query) error { _, err := r.Dimension(ctx, q, "devices", FilterBrowser); return err }},
		{"events", func(q Query) error { _, err := r.Events(ctx, q); return err }},
		{"realtime", func(q Query) error { _, _, err := r.Realtime(ctx, q); return err }},
	}
	for _, filters := range []string{"", "country==EE", "source==Google", "page==/p/1"} {
		for _, c := range cases {
			name := c.name
			if filters != "" {
				name += "/" + filters
			}
			b.Run(name, func(b *testing.B) {
				q := query(filters)
				var times []time.Duration
				for b.Loop() {
					t := time.Now()
					if err := c.run(q); err != nil {
						b.Fatal(err)
					}
					times = append(times, time.Since(t))
				}
				slices.Sort(times)
				b.ReportMetric(float64(times[0].Microseconds())/1000, "min-ms")
				b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "median-ms")
			})
		}
	}
}

// loadBenchEvents fills the events of site with n synthetic events over the last 60
// days, generated inside ClickHouse (far faster than sending rows from Go; INSERT …
// SELECT through Exec is fine on chDB). Visits: two thirds read three pages, each page
// view followed by its engagement event, a quarter of those sign up (a custom event
// with a plan property); the other third are three single-page visits. Pages: 40
// popular ones and 2 000 blog posts; 10 countries, 3 devices, 5 browsers; a referrer
// on the first page view of most visits, UTM tags on a tenth.
func loadBenchEvents(b *testing.B, db store.Store, site string, n uint64) error {
	ctx := context.Background()
	var have []struct {
		N uint64 `ch:"n"`
	}
	if err := db.Select(ctx, &have, "SELECT count() AS n FROM events WHERE site = ?", site); err != nil {
		return err
	}
	if len(have) > 0 && have[0].N >= n {
		fmt.Printf("reusing %d events of %s\n", have[0].N, site)
		return nil
	}
	start := time.Now()
	err := db.Exec(ctx, `INSERT INTO events (event_id, site, timestamp, name, hostname, pathname, referrer_host,
		referrer_source, utm_source, utm_medium, utm_campaign, country_code, region, city, browser, os, device, width,
		visitor_id, session_id, ip, engaged_ms, scroll, prop_keys, prop_values)
	SELECT generateUUIDv4(number) AS event_id, ? AS site,
		toDateTime(toUInt32(now()) - toUInt32(cityHash64(s, vpart, 't') % (60 * 86400)) + k * 40, 'UTC') AS timestamp,
		if(NOT split AND k = 5 AND cityHash64(s, 'c') % 4 = 0, 'Signup', if(k % 2 = 0, 'pageview', 'engagement')) AS name,
		site AS hostname,
		if(cityHash64(s, intDiv(k, 2), 'p') % 5 < 4, concat('/p/', toString(cityHash64(s, intDiv(k, 2), 'q') % 40)),
			concat('/blog/', toString(cityHash64(s, intDiv(k, 2), 'q') % 2000))) AS pathname,
		if(first, ['', '', 'google.com', 'bing.com', 'facebook.com', 't.co', 'news.ycombinator.com', 'duckduckgo.com'][cityHash64(s, vpart, 'r') % 8 + 1], '') AS referrer_host,
		if(first, ['', '', 'Google', 'Bing', 'Facebook', 'Twitter', 'Hacker News', 'DuckDuckGo'][cityHash64(s, vpart, 'r') % 8 + 1], '') AS referrer_source,
		if(first AND cityHash64(s, vpart, 'u') % 10 = 0, ['newsletter', 'twitter', 'partner'][cityHash64(s, 'u2') % 3 + 1], '') AS utm_source,
		if(utm_source != '', ['email', 'social', 'cpc'][cityHash64(s, 'u2') % 3 + 1], '') AS utm_medium,
		if(utm_source != '', concat('campaign', toString(cityHash64(s, 'u3') % 20)), '') AS utm_campaign,
		['EE', 'FI', 'DE', 'US', 'GB', 'FR', 'SE', 'LV', 'LT', 'PL'][v % 10 + 1] AS country_code,
		concat(country_code, '-', toString(v % 7)) AS region,
		concat('City', toString(v % 97)) AS city,
		['Chrome', 'Firefox', 'Safari', 'Edge', 'Samsung Internet'][cityHash64(v, 'b') % 5 + 1] AS browser,
		['Windows', 'macOS', 'Linux', 'Android', 'iOS'][cityHash64(v, 'o') % 5 + 1] AS os,
		['desktop', 'mobile', 'tablet'][cityHash64(v, 'd') % 3 + 1] AS device,
		toUInt16(360 + cityHash64(v, 'w') % 1600) AS width,
		v AS visitor_id, cityHash64(s, vpart) AS session_id, '203.0.0.0' AS ip,
		toUInt32(if(name = 'engagement', cityHash64(number, 'e') % 180000, 0)) AS engaged_ms,
		toUInt8(if(name = 'engagement', cityHash64(number, 'sc') % 101, 0)) AS scroll,
		if(name = 'Signup', ['plan'], []) AS prop_keys,
		if(name = 'Signup', [['free', 'pro'][cityHash64(s, 'pl') % 2 + 1]], []) AS prop_values
	FROM (
		SELECT number, intDiv(number, 6) AS s, number % 6 AS k,
			cityHash64(s, 'split') % 3 = 0 AS split,
			if(split, intDiv(k, 2), 0) AS vpart,
			if(split, k % 2 = 0, k = 0) AS first,
			cityHash64(intDiv(s, 3), vpart) % 1000000000 AS v
		FROM numbers(?)
	)`, site, n)
	if err != nil {
		return fmt.Errorf("load %d events: %w", n, err)
	}
	fmt.Printf("loaded %d events in %v\n", n, time.Since(start).Round(time.Second))
	return nil
}
