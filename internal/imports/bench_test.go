package imports_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/imports"
	"github.com/websystems/loendur/internal/store/storetest"
)

// BenchmarkImportGA4 imports LOENDUR_BENCH_IMPORT_ROWS rows (default 1m; "10m" for
// make bench-import) of a generated GA4 BigQuery export (gzipped newline-delimited
// JSON, 30 days) into the test ClickHouse server, and reports the time, rows per
// second and the process's peak resident memory (VmHWM), which must not grow with the
// file. The file is generated once into LOENDUR_BENCH_DIR (default
// ~/.cache/loendur/bench-import), outside the repository.
func BenchmarkImportGA4(b *testing.B) {
	rows := benchRows(b)
	path := ga4BenchFile(b, rows)
	db := storetest.Server(b)
	im, err := imports.New(imports.Options{DB: db})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		rec, err := im.Import(context.Background(), "bench.example", imports.File{Path: path})
		if err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		b.ReportMetric(float64(rec.Rows)/took.Seconds(), "rows/s")
		b.Logf("run %d: imported %d events of %d rows in %v", i, rec.Rows, rows, took.Round(time.Second))
		b.StopTimer()
		if _, err := im.Delete(context.Background(), "bench.example", rec.ID); err != nil { // the same file again next time
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	if rss := peakRSS(b); rss > 0 {
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
	}
}

func benchRows(b *testing.B) int {
	v := strings.ToLower(os.Getenv("LOENDUR_BENCH_IMPORT_ROWS"))
	mult := 1
	switch {
	case strings.HasSuffix(v, "m"):
		v, mult = strings.TrimSuffix(v, "m"), 1_000_000
	case strings.HasSuffix(v, "k"):
		v, mult = strings.TrimSuffix(v, "k"), 1_000
	}
	if v == "" {
		return 1_000_000
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("LOENDUR_BENCH_IMPORT_ROWS=%q: a number, e.g. 10m", os.Getenv("LOENDUR_BENCH_IMPORT_ROWS"))
	}
	return n * mult
}

// ga4BenchFile generates rows of GA4's export once: visitors of a day each reading a
// few pages (page_view, user_engagement, now and then a custom event), over 30 days.
func ga4BenchFile(b *testing.B, rows int) string {
	dir := os.Getenv("LOENDUR_BENCH_DIR")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			b.Fatal(err)
		}
		dir = filepath.Join(home, ".cache", "loendur", "bench-import")
	}
	path := filepath.Join(dir, fmt.Sprintf("ga4-%d.json.gz", rows))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	f, err := os.Create(path + ".part")
	if err != nil {
		b.Fatal(err)
	}
	gz, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	w := bufio.NewWriterSize(gz, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	pages := []string{"/", "/pricing", "/docs", "/blog/a", "/blog/b", "/blog/c", "/about", "/contact", "/signup", "/features"}
	countries := []string{"Estonia", "Germany", "United States", "France", "Finland", "Sweden"}
	first := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	perDay := max(rows/30, 1)
	for i := 0; i < rows; {
		day := first.AddDate(0, 0, min(i/perDay, 29))
		user := rng.IntN(max(perDay/6, 1))
		session := day.Unix() + int64(rng.IntN(86000))
		t := time.Unix(session, 0).UTC()
		for v := 0; v < 1+rng.IntN(5) && i < rows; v++ {
			page := pages[rng.IntN(len(pages))]
			name, extra := "page_view", `{"key":"page_referrer","value":{"string_value":"https://www.google.com/"}}`
			switch v % 3 {
			case 1:
				name, extra = "user_engagement", `{"key":"engagement_time_msec","value":{"int_value":"`+strconv.Itoa(rng.IntN(60000))+`"}}`
			case 2:
				if rng.IntN(4) == 0 {
					name, extra = "sign_up", `{"key":"method","value":{"string_value":"email"}}`
				}
			}
			fmt.Fprintf(w, `{"event_date":"%s","event_timestamp":"%d","event_name":"%s","event_params":[{"key":"page_location","value":{"string_value":"https://www.bench.example%s"}},{"key":"ga_session_id","value":{"int_value":"%d"}},%s],"user_pseudo_id":"%d.%d","device":{"category":"desktop","operating_system":"Windows","operating_system_version":"Windows 10","web_info":{"browser":"Chrome","browser_version":"122.0.1"}},"geo":{"country":"%s","region":"","city":""},"platform":"WEB"}`+"\n",
				t.Format("20060102"), t.UnixMicro(), name, page, session, extra, user, day.Unix(), countries[user%len(countries)])
			t = t.Add(time.Duration(5+rng.IntN(120)) * time.Second)
			i++
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(path+".part", path); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %d GA4 rows into %s in %v", rows, path, time.Since(start).Round(time.Second))
	return path
}

// peakRSS is the process's peak resident memory in bytes (Linux: VmHWM).
func peakRSS(b *testing.B) int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
