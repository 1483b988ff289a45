package reports

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/testenv"
	"github.com/websystems/loendur/schema"
)

// The benchmark's synthetic site: its events span benchSpan before the anchor, so the
// 12-month period is full and its comparison period holds the month or so before.
const (
	benchSite  = "bench.example"
	benchSpan  = 395 * 24 * time.Hour
	benchChunk = 10_000_000 // events per INSERT … SELECT: bounds the engine's memory
	benchStamp = "loendur-bench.json"
	benchZone  = "Europe/Tallinn"
	// benchTarget is the goal for every report (p95); the table marks misses.
	benchTarget = 300 * time.Millisecond
)

// BenchmarkReports times every report, for today, the last 30 days and the last 12
// months, without a filter and with each of three, on embedded chDB holding a site
// with LOENDUR_BENCH_EVENTS events (default 10m; 100m for the target) spread
// over 13 months. `make bench-reports` runs it at both sizes:
//
//	LOENDUR_BENCH_EVENTS=100m LOENDUR_BENCH_DIR=~/.cache/loendur/bench-reports-100m \
//	  go test -run '^$' -bench Reports -benchtime 1x -timeout 6h ./dashboard/reports
//
// Each case takes its own samples (after one warm-up run): LOENDUR_BENCH_SAMPLES runs
// (default 20), fewer when they pass LOENDUR_BENCH_CASE_SECONDS (default 20, at least
// 5 runs), and reports p95-ms and median-ms. Run it with -benchtime 1x. Each case
// reads its visits at the rate the dashboard would (SampleRate; the table marks the
// sampled ones); LOENDUR_BENCH_SAMPLE=off reads every visit.
//
// LOENDUR_BENCH_DIR keeps the loaded chDB folder between runs (see openBenchData for
// when it is rebuilt); LOENDUR_BENCH_MD names a file for the Markdown table of results.
func BenchmarkReports(b *testing.B) {
	ctx := context.Background()
	events, err := parseCount(envOr("LOENDUR_BENCH_EVENTS", "10m"))
	if err != nil {
		b.Fatal(err)
	}
	db, stamp := openBenchData(b, events)
	defer db.Close()

	reg := sites.NewRegistry(db, slog.New(slog.DiscardHandler))
	if _, err := reg.Ensure(ctx, []string{benchSite}); err != nil {
		b.Fatal(err)
	}
	// The clock stops at the anchor, so a folder loaded days ago still has a today.
	now := func() time.Time { return stamp.Anchor }
	rec := &recordingStore{Store: db}
	r, err := New(Deps{DB: rec, Sites: reg, Now: now})
	if err != nil {
		b.Fatal(err)
	}
	// As in production the finalizer writes ended visits before anyone reads them.
	start, cpu := time.Now(), cpuTime()
	n, err := r.Finalize(ctx, benchSite)
	if err != nil {
		b.Fatal(err)
	}
	took, tookCPU := time.Since(start), cpuTime()-cpu
	fmt.Printf("finalizer wrote %d visits in %v (%v of CPU)\n", n, took.Round(time.Millisecond), tookCPU.Round(time.Second))
	if stamp.Finalize == "" {
		stamp.Finalize = took.Round(time.Second).String()
		stamp.FinalizeCPU = tookCPU.Round(time.Second).String()
		stamp.Visits = n
		if err := writeStamp(stamp.dir, stamp); err != nil {
			b.Fatal(err)
		}
	}
	settleMerges(b, db)
	printTables(b, db)

	loc, err := time.LoadLocation(benchZone)
	if err != nil {
		b.Fatal(err)
	}
	// A new process's first reports include a one-time stall of the engine (about
	// 150 ms in the second report it answers, whichever it is): a server pays it once
	// in its life, so it is paid here, not in the first case's samples.
	if err := warmProcess(ctx, r, Query{Site: benchSite, Location: loc, Range: mustPeriod(b, PeriodToday, loc, now()).Current}); err != nil {
		b.Fatal(err)
	}
	res := &benchResults{}
	for _, period := range []string{PeriodToday, Period30d, Period12mo} {
		p := mustPeriod(b, period, loc, now())
		for _, filters := range []string{"", "country==EE", "source==Google", "page==/p/1"} {
			fs, err := ParseFilters(filters)
			if err != nil {
				b.Fatal(err)
			}
			q := Query{Site: benchSite, Location: loc, Range: p.Current, Filters: fs}
			for _, c := range benchCases(ctx, r) {
				if c.name == "realtime" && period != PeriodToday {
					continue // the last five minutes, whatever the period
				}
				name := c.name + "/" + period
				if filters != "" {
					name += "/" + filters
				}
				b.Run(name, func(b *testing.B) {
					// As the dashboard asks: the rate chosen for the period, then the report.
					rate := 1
					run := func() error {
						q := q
						if os.Getenv("LOENDUR_BENCH_SAMPLE") != "off" && sampleable(c.name, q.Filters) {
							var err error
							if q.Sample, err = r.SampleRate(ctx, q); err != nil {
								return err
							}
						}
						rate = max(q.Sample, 1)
						return c.run(q)
					}
					p95, median, k := sample(b, run)
					b.ReportMetric(ms(p95), "p95-ms")
					b.ReportMetric(ms(median), "median-ms")
					b.ReportMetric(float64(k), "samples")
					res.add(c.name, period, filters, benchCell{p95, median, rate})
					if os.Getenv("LOENDUR_BENCH_EXPLAIN") == "1" {
						explainCase(b, db, rec, run)
					}
				})
			}
		}
	}
	md := res.markdown(events, stamp)
	acc, err := sampleAccuracy(ctx, r, loc, now())
	if err != nil {
		b.Fatal(err)
	}
	md += acc
	fmt.Print(md)
	if path := os.Getenv("LOENDUR_BENCH_MD"); path != "" {
		if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
			b.Fatal(err)
		}
		fmt.Printf("wrote %s\n", path)
	}
}

// sampleAccuracy is a table of the figures the dashboard estimates from the visit
// sample beside the exact ones, for the periods and filters it samples.
func sampleAccuracy(ctx context.Context, r *Service, loc *time.Location, now time.Time) (string, error) {
	var b strings.Builder
	b.WriteString("\n| period | filter | figure | exact | sampled | error |\n|---|---|---|--:|--:|--:|\n")
	rows := 0
	for _, period := range []string{Period30d, Period12mo} {
		p, err := ParsePeriod(period, "", "", loc, now)
		if err != nil {
			return "", err
		}
		for _, filters := range []string{"", "country==EE"} {
			fs, err := ParseFilters(filters)
			if err != nil {
				return "", err
			}
			q := Query{Site: benchSite, Location: loc, Range: p.Current, Filters: fs, Compare: CompareOff}
			if q.Sample, err = r.SampleRate(ctx, q); err != nil || q.Sample == 1 {
				continue
			}
			est, err := figures(ctx, r, q)
			if err != nil {
				return "", err
			}
			q.Sample = 1
			exact, err := figures(ctx, r, q)
			if err != nil {
				return "", err
			}
			for _, f := range exact {
				i := slices.IndexFunc(est, func(x benchFigure) bool { return x.name == f.name })
				if i < 0 {
					continue
				}
				e := est[i]
				fmt.Fprintf(&b, "| %s | %s | %s | %.1f | %.1f | %+.1f %% |\n", period, cmp.Or(filters, "none"), f.name, f.value, e.value,
					100*(e.value-f.value)/f.value)
				rows++
			}
		}
	}
	if rows == 0 {
		return "\nNo period was sampled.\n", nil
	}
	return "\nSampled figures against exact ones (`?sample=off`):\n" + b.String(), nil
}

type benchFigure struct {
	name  string
	value float64
}

// figures are the overview's and the visitors of the three most visited pages.
func figures(ctx context.Context, r *Service, q Query) ([]benchFigure, error) {
	o, err := r.Overview(ctx, q)
	if err != nil {
		return nil, err
	}
	out := []benchFigure{{"visitors", o.Visitors.Value}, {"visits", o.Visits.Value}, {"pageviews", o.Pageviews.Value},
		{"bounce rate", o.BounceRate.Value}, {"visit duration", o.VisitDuration.Value}}
	pages, err := r.TopPages(ctx, q)
	if err != nil {
		return nil, err
	}
	for _, p := range []string{"/p/1", "/p/17", "/p/39"} {
		for _, row := range pages {
			if row.Get("page") == p {
				out = append(out, benchFigure{"visitors of " + p, float64(row.Get("visitors").(uint64))})
			}
		}
	}
	return out, nil
}

type benchCase struct {
	name string
	run  func(q Query) error
}

// warmProcess runs each report once.
func warmProcess(ctx context.Context, r *Service, q Query) error {
	for _, c := range benchCases(ctx, r) {
		if err := c.run(q); err != nil {
			return fmt.Errorf("warm up %s: %w", c.name, err)
		}
	}
	return nil
}

func mustPeriod(b *testing.B, period string, loc *time.Location, now time.Time) Period {
	p, err := ParsePeriod(period, "", "", loc, now)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// benchCases are the reports as the dashboard asks for them.
func benchCases(ctx context.Context, r *Service) []benchCase {
	funnel := Funnel{Name: "bench", Steps: []Step{{StepPage, "/p/1"}, {StepPage, "/p/2*"}, {StepEvent, "Signup"}}}
	return []benchCase{
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
}

// sample runs fn once to warm up, then up to LOENDUR_BENCH_SAMPLES times or until
// LOENDUR_BENCH_CASE_SECONDS have passed (at least five runs), and returns the 95th
// percentile (nearest rank), the median and the number of runs.
func sample(b *testing.B, fn func() error) (p95, median time.Duration, n int) {
	want, _ := strconv.Atoi(envOr("LOENDUR_BENCH_SAMPLES", "20"))
	secs, _ := strconv.ParseFloat(envOr("LOENDUR_BENCH_CASE_SECONDS", "20"), 64)
	budget := time.Duration(secs * float64(time.Second))
	if err := fn(); err != nil {
		b.Fatal(err)
	}
	var times []time.Duration
	begin := time.Now()
	for len(times) < max(want, 1) && (len(times) < 5 || time.Since(begin) < budget) {
		t := time.Now()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(t))
	}
	slices.Sort(times)
	rank := (95*len(times) + 99) / 100 // nearest rank: ceil(0.95 n)
	return times[rank-1], times[len(times)/2], len(times)
}

// cpuTime is the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// benchStamp describes a loaded benchmark folder; it is written before loading starts
// (Loaded empty), so an interrupted load is recognised and redone.
type benchStampData struct {
	Key      string    `json:"key"`    // what the data depends on: see dataKey
	Events   uint64    `json:"events"` // events of benchSite
	Anchor   time.Time `json:"anchor"` // the benchmark's "now": events end just before it
	Loaded   string    `json:"loaded,omitempty"`
	Load     string    `json:"load,omitempty"`     // how long loading took
	Finalize string    `json:"finalize,omitempty"` // how long the first finalizer run took
	// LoadCPU and FinalizeCPU are the process's CPU time (chDB runs in it) for the same:
	// on a shared machine they say more than the wall time.
	LoadCPU     string `json:"load_cpu,omitempty"`
	FinalizeCPU string `json:"finalize_cpu,omitempty"`
	Visits      int    `json:"visits,omitempty"` // visits it wrote
	dir         string
}

// openBenchData opens the benchmark's chDB folder, loading it first when needed.
// LOENDUR_BENCH_DIR is reused when its stamp says a finished load of the same number
// of events with the same dataKey (schema migrations, finalizer SQL, generator);
// otherwise, or with LOENDUR_BENCH_RELOAD=1, the folder is emptied and loaded again.
// Without LOENDUR_BENCH_DIR the data lives in a temporary folder.
func openBenchData(b *testing.B, events uint64) (store.Store, *benchStampData) {
	ctx := context.Background()
	lib := testenv.ChdbLib(b)
	dir := os.Getenv("LOENDUR_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	key, err := dataKey()
	if err != nil {
		b.Fatal(err)
	}
	old, err := readStamp(dir)
	if err != nil {
		b.Fatal(err)
	}
	reuse := old != nil && old.Loaded != "" && old.Key == key && old.Events == events && os.Getenv("LOENDUR_BENCH_RELOAD") != "1"
	if !reuse {
		if err := emptyBenchDir(dir, old != nil); err != nil {
			b.Fatal(err)
		}
	}
	db, err := store.Open(ctx, "chdb://"+dir, store.Options{LibPath: lib})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := store.Migrate(ctx, db); err != nil {
		b.Fatal(err)
	}
	if reuse {
		old.dir = dir
		fmt.Printf("reusing %d events in %s (loaded %s in %s, anchor %s)\n", events, dir, old.Loaded, old.Load,
			old.Anchor.Format(time.RFC3339))
		return db, old
	}
	stamp := &benchStampData{Key: key, Events: events, Anchor: benchAnchor(time.Now()), dir: dir}
	if err := writeStamp(dir, stamp); err != nil {
		b.Fatal(err)
	}
	start, cpu := time.Now(), cpuTime()
	if err := loadBenchEvents(ctx, db, benchSite, events, stamp.Anchor); err != nil {
		b.Fatal(err)
	}
	took, tookCPU := time.Since(start), cpuTime()-cpu
	fmt.Printf("loaded %d events in %v (%v of CPU)\n", events, took.Round(time.Second), tookCPU.Round(time.Second))
	stamp.Loaded = time.Now().UTC().Format(time.RFC3339)
	stamp.Load = took.Round(time.Second).String()
	stamp.LoadCPU = tookCPU.Round(time.Second).String()
	if err := writeStamp(dir, stamp); err != nil {
		b.Fatal(err)
	}
	return db, stamp
}

// benchAnchor is the latest 15:00 in benchZone not after t: "today" then always holds
// 15 hours of events, whenever the folder was loaded.
func benchAnchor(t time.Time) time.Time {
	loc, err := time.LoadLocation(benchZone)
	if err != nil {
		loc = time.UTC
	}
	l := t.In(loc)
	a := time.Date(l.Year(), l.Month(), l.Day(), 15, 0, 0, 0, loc)
	if a.After(t) {
		a = a.AddDate(0, 0, -1)
	}
	return a.UTC()
}

// dataKey hashes what the loaded events and visits depend on: the migrations that
// shape the events table, the visits table and the query the finalizer fills it with,
// and the generator. The rollups are left out on purpose: a migration that adds or
// changes one fills it from the events and visits already stored (as on an upgraded
// server), so a 100-million-event folder survives work on the rollups.
func dataKey() (string, error) {
	h := sha256.New()
	names, err := fs.Glob(schema.Files, "*.sql")
	if err != nil {
		return "", fmt.Errorf("hash schema: %w", err)
	}
	for _, name := range names {
		body, err := fs.ReadFile(schema.Files, name)
		if err != nil {
			return "", fmt.Errorf("hash schema: %w", err)
		}
		if eventsDDL.Match(body) {
			fmt.Fprintf(h, "%s %d\n", name, len(body))
			h.Write(body)
		}
	}
	migrations, err := derived.Migrations(derived.Deployment{Modern: true})
	if err != nil {
		return "", fmt.Errorf("hash derived tables: %w", err)
	}
	for _, m := range migrations {
		if m.Version == derived.Visits.Version {
			fmt.Fprintf(h, "%s\n%s\n", m.Name, strings.Join(m.Statements, ";\n"))
		}
	}
	fmt.Fprintf(h, "visits %s\n", derived.VisitSpan{}.Query())
	fmt.Fprintf(h, "generator %d %s\n", benchSpan, benchInsert)
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// eventsDDL matches a migration that creates or alters the events table.
var eventsDDL = regexp.MustCompile(`(?i)(CREATE|ALTER)\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?events\b`)

func readStamp(dir string) (*benchStampData, error) {
	body, err := os.ReadFile(filepath.Join(dir, benchStamp))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read benchmark stamp: %w", err)
	}
	var s benchStampData
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, fmt.Errorf("benchmark stamp %s: %w", filepath.Join(dir, benchStamp), err)
	}
	return &s, nil
}

func writeStamp(dir string, s *benchStampData) error {
	body, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("benchmark folder: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, benchStamp), append(body, '\n'), 0o644)
}

// emptyBenchDir clears a folder before loading: only one this benchmark made (it has
// a stamp) or an empty one, never a folder of someone else's data.
func emptyBenchDir(dir string, ours bool) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("benchmark folder: %w", err)
	}
	if !ours {
		return fmt.Errorf("benchmark folder %s holds data without %s: not removing it; pick an empty folder", dir, benchStamp)
	}
	fmt.Printf("rebuilding %s (other schema, generator or size, or LOENDUR_BENCH_RELOAD=1)\n", dir)
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("empty benchmark folder: %w", err)
		}
	}
	return nil
}

// settleMerges waits (up to ten minutes) until the engine has no merge running, as a
// server that has been up for a while: right after loading and finalizing, tables
// hold hundreds of fresh parts that a running server would have merged long before.
func settleMerges(b *testing.B, db store.Store) {
	start := time.Now()
	quiet := 0
	for quiet < 3 && time.Since(start) < 10*time.Minute {
		var rows []struct {
			N uint64 `ch:"n"`
		}
		if err := db.Select(context.Background(), &rows, "SELECT count() AS n FROM system.merges"); err != nil {
			b.Fatal(err)
		}
		if len(rows) > 0 && rows[0].N > 0 {
			quiet = 0
		} else {
			quiet++
		}
		time.Sleep(time.Second)
	}
	fmt.Printf("waited %v for background merges\n", time.Since(start).Round(time.Second))
}

// printTables shows the rows and parts of each table, so a run shows what reports read.
func printTables(b *testing.B, db store.Store) {
	var rows []struct {
		Table string `ch:"table"`
		Rows  uint64 `ch:"rows"`
		Parts uint64 `ch:"parts"`
		Bytes uint64 `ch:"bytes"`
	}
	err := db.Select(context.Background(), &rows, `SELECT table, sum(rows) AS rows, count() AS parts,
		sum(bytes_on_disk) AS bytes FROM system.parts WHERE active AND database = currentDatabase()
		GROUP BY table ORDER BY rows DESC`)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range rows {
		fmt.Printf("table %-24s %12d rows %5d parts %8.1f MiB\n", r.Table, r.Rows, r.Parts, float64(r.Bytes)/(1<<20))
	}
}

// parseCount reads an event count: 10000000, 10m or 100M.
func parseCount(s string) (uint64, error) {
	mult := uint64(1)
	switch {
	case strings.HasSuffix(strings.ToLower(s), "m"):
		mult, s = 1_000_000, s[:len(s)-1]
	case strings.HasSuffix(strings.ToLower(s), "k"):
		mult, s = 1_000, s[:len(s)-1]
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("LOENDUR_BENCH_EVENTS=%q: want a count such as 10000000, 10m or 100m", s)
	}
	return n * mult, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// benchResults collects p95 and median per report, period and filter for the table.
type benchResults struct {
	cells map[[3]string]benchCell
	order []string // reports in the order run
}

// benchCell is one case's timing and the rate its visits were read at.
type benchCell struct {
	p95, median time.Duration
	rate        int
}

func (r *benchResults) add(report, period, filters string, c benchCell) {
	if r.cells == nil {
		r.cells = map[[3]string]benchCell{}
	}
	if !slices.Contains(r.order, report) {
		r.order = append(r.order, report)
	}
	r.cells[[3]string{report, period, filters}] = c
}

// markdown is the results as a table for BENCHMARKS.md: one row per report and filter,
// one column per period, each cell "p95 (median)" in ms, misses of the target in bold.
func (r *benchResults) markdown(events uint64, s *benchStampData) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%d events (%s), load %s (CPU %s), finalizer %s (CPU %s, %d visits), anchor %s.\n", events, s.dir,
		s.Load, s.LoadCPU, s.Finalize, s.FinalizeCPU, s.Visits, s.Anchor.Format(time.RFC3339))
	fmt.Fprintf(&b, "p95 (median) in ms; **bold**: p95 over %v; ˢN: estimated from 1 in N visitors (the visit sample).\n\n", benchTarget)
	periods := []string{PeriodToday, Period30d, Period12mo}
	b.WriteString("| report | filter | today | 30 days | 12 months |\n|---|---|--:|--:|--:|\n")
	over, total := 0, 0
	for _, report := range r.order {
		for _, filters := range []string{"", "country==EE", "source==Google", "page==/p/1"} {
			name := filters
			if name == "" {
				name = "none"
			}
			fmt.Fprintf(&b, "| %s | %s |", report, name)
			for _, p := range periods {
				c, ok := r.cells[[3]string{report, p, filters}]
				if !ok {
					b.WriteString(" – |")
					continue
				}
				total++
				cell := fmt.Sprintf("%.0f (%.0f)", ms(c.p95), ms(c.median))
				if c.rate > 1 {
					cell += fmt.Sprintf(" ˢ%d", c.rate)
				}
				if c.p95 > benchTarget {
					over++
					cell = "**" + cell + "**"
				}
				fmt.Fprintf(&b, " %s |", cell)
			}
			b.WriteString("\n")
		}
	}
	fmt.Fprintf(&b, "\n%d of %d cases over %v at p95.\n", over, total, benchTarget)
	return b.String()
}

// loadBenchEvents fills the events of site with n synthetic events over benchSpan
// before anchor, generated inside ClickHouse (far faster than sending rows from Go;
// INSERT … SELECT through Exec is fine on chDB), benchChunk events per statement.
func loadBenchEvents(ctx context.Context, db store.Store, site string, n uint64, anchor time.Time) error {
	for from := uint64(0); from < n; from += benchChunk {
		count := min(benchChunk, n-from)
		start := time.Now()
		if err := db.Exec(ctx, benchInsert, site, uint32(anchor.Unix()), uint32(benchSpan/time.Second), from, count); err != nil {
			return fmt.Errorf("load events %d to %d: %w", from, from+count, err)
		}
		fmt.Printf("loaded events %d to %d in %v\n", from, from+count, time.Since(start).Round(time.Second))
	}
	return nil
}

// benchInsert generates events number from … from+count (numbers() keeps chunks
// disjoint, so the chunks of one load make the same data as a single statement).
// Visits: two thirds read three pages, each page view followed by its engagement
// event, a quarter of those sign up (a custom event with a plan property); the other
// third are three single-page visits. Visit starts are uniform over the span, each
// visitor (a third of a group of visits) at unrelated times. Pages: 40 popular ones
// and 2 000 blog posts; 10 countries, 3 devices, 5 browsers; a referrer on the first
// page view of most visits, UTM tags on a tenth. Arguments: site, anchor (Unix
// seconds), span (seconds), first number, count.
const benchInsert = `INSERT INTO events (event_id, site, timestamp, name, hostname, pathname, referrer_host,
		referrer_source, utm_source, utm_medium, utm_campaign, country_code, region, city, browser, os, device, width,
		visitor_id, session_id, ip, engaged_ms, scroll, prop_keys, prop_values)
	SELECT generateUUIDv4(number) AS event_id, site_ AS site,
		toDateTime(anchor_ - 300 - toUInt32(cityHash64(s, vpart, 't') % span_) + k * 40, 'UTC') AS timestamp,
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
		SELECT number, ? AS site_, toUInt32(?) AS anchor_, toUInt32(?) AS span_,
			intDiv(number, 6) AS s, number % 6 AS k,
			cityHash64(s, 'split') % 3 = 0 AS split,
			if(split, intDiv(k, 2), 0) AS vpart,
			if(split, k % 2 = 0, k = 0) AS first,
			cityHash64(intDiv(s, 3), vpart) % 1000000000 AS v
		FROM numbers(?, ?)
	)`

// recordingStore keeps the SELECTs of one report run, for explainCase.
type recordingStore struct {
	store.Store
	mu      sync.Mutex
	on      bool
	queries []string
}

func (s *recordingStore) Select(ctx context.Context, dest any, query string, args ...any) error {
	s.mu.Lock()
	if s.on {
		s.queries = append(s.queries, query)
	}
	s.mu.Unlock()
	return s.Store.Select(ctx, dest, query, args...)
}

// explainCase runs a report once more and prints, for each of its queries, the time it
// takes alone and what EXPLAIN ESTIMATE says it reads (table, parts, rows, marks), so
// a slow case shows its cause (LOENDUR_BENCH_EXPLAIN=1).
func explainCase(b *testing.B, db store.Store, rec *recordingStore, run func() error) {
	rec.mu.Lock()
	rec.on, rec.queries = true, nil
	rec.mu.Unlock()
	err := run()
	rec.mu.Lock()
	rec.on = false
	queries := rec.queries
	rec.mu.Unlock()
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range queries {
		name, _, _ := strings.Cut(strings.TrimPrefix(q, "-- "), "\n")
		var rows []struct {
			Table string `ch:"table"`
			Parts uint64 `ch:"parts"`
			Rows  uint64 `ch:"rows"`
			Marks uint64 `ch:"marks"`
		}
		start := time.Now()
		if err := db.Select(context.Background(), &rows, q); err == nil {
			rows = rows[:0]
		}
		took := time.Since(start)
		if err := db.Select(context.Background(), &rows, "EXPLAIN ESTIMATE "+q); err != nil {
			fmt.Printf("  %-60s %7.0f ms  (explain: %v)\n", name, ms(took), err)
			continue
		}
		var parts []string
		for _, r := range rows {
			parts = append(parts, fmt.Sprintf("%s %d rows/%d parts", r.Table, r.Rows, r.Parts))
		}
		fmt.Printf("  %-60s %7.0f ms  reads %s\n", name, ms(took), strings.Join(parts, ", "))
	}
}
