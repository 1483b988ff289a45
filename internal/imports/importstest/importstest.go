// Package importstest holds the import fixtures, written by hand from each format's
// public documentation (no real data): GoatCounter's CSV export (version 2), a day of
// GA4's BigQuery export (newline-delimited JSON, and the same rows as Parquet), and
// Plausible's CSV export (one CSV per table, zipped here). Each comes with the totals
// the source tool shows for it, which the dashboard must show after an import.
package importstest

import (
	"archive/zip"
	"embed"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

//go:embed testdata
var files embed.FS

// Day is what the source shows for one day.
type Day struct {
	Date                                 string
	Visitors, Visits, Pageviews, Bounces uint64
	CustomEvents                         uint64
	Duration                             uint64 // seconds, summed over visits (0: not known to the source)
}

// GoatCounterDays are the days of the GoatCounter fixture: a bot hit is not counted,
// a visitor's hits more than 30 minutes apart are two visits, the event is an event.
var GoatCounterDays = []Day{
	{Date: "2024-03-01", Visitors: 2, Visits: 3, Pageviews: 4, Bounces: 2, CustomEvents: 1},
	{Date: "2024-03-02", Visitors: 1, Visits: 1, Pageviews: 2, Bounces: 0},
}

// GA4Day is the GA4 fixture's day (session_start and scroll rows are not hits).
var GA4Day = Day{Date: "2024-03-05", Visitors: 2, Visits: 3, Pageviews: 4, Bounces: 2, CustomEvents: 1}

// PlausibleDays are imported_visitors of the Plausible fixture.
var PlausibleDays = []Day{
	{Date: "2024-02-01", Visitors: 10, Visits: 12, Pageviews: 25, Bounces: 4, Duration: 600},
	{Date: "2024-02-02", Visitors: 8, Visits: 9, Pageviews: 20, Bounces: 3, Duration: 450},
}

// fixtureHost is the host of the fixtures' page URLs; copies put the test's site there.
const fixtureHost = "www.example.com"

func read(t testing.TB, name string) string {
	t.Helper()
	b, err := files.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Write writes content into a file named name in a fresh temporary folder.
func Write(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// GoatCounterText is the GoatCounter fixture (it names no host of the site).
func GoatCounterText(t testing.TB) string { return read(t, "goatcounter-export.csv") }

// GoatCounter is a copy of the GoatCounter fixture.
func GoatCounter(t testing.TB) string { return Write(t, "goatcounter-export.csv", GoatCounterText(t)) }

// GA4JSONText is the GA4 fixture with its pages on www.SITE.
func GA4JSONText(t testing.TB, site string) string {
	return strings.ReplaceAll(read(t, "events_20240305.json"), fixtureHost, "www."+site)
}

// GA4JSON is a copy of the GA4 fixture with its pages on www.SITE.
func GA4JSON(t testing.TB, site string) string {
	return Write(t, "events_20240305.json", GA4JSONText(t, site))
}

// PlausibleFiles are the CSVs of the Plausible fixture (base name → text), pages on www.SITE.
func PlausibleFiles(t testing.TB, site string) map[string]string {
	t.Helper()
	entries, err := files.ReadDir("testdata/plausible")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		out[e.Name()] = strings.ReplaceAll(read(t, "plausible/"+e.Name()), fixtureHost, "www."+site)
	}
	return out
}

// Zip writes files (name → text) into a ZIP named name.
func Zip(t testing.TB, name string, files map[string]string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for n, text := range files {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(text))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// Plausible is the Plausible fixture as the ZIP Plausible's export downloads.
func Plausible(t testing.TB, site string) string {
	return Zip(t, "plausible-export-"+site+".zip", PlausibleFiles(t, site))
}

// GA4Row is a row of GA4's BigQuery export in the Parquet layout BigQuery writes
// (repeated records as repeated groups), with more columns than loendur reads.
type GA4Row struct {
	EventDate      string  `parquet:"event_date,optional" json:"event_date"`
	EventTimestamp int64   `parquet:"event_timestamp,optional" json:"event_timestamp,string"`
	EventName      string  `parquet:"event_name,optional" json:"event_name"`
	EventParams    []Param `parquet:"event_params" json:"event_params"`
	UserPseudoID   string  `parquet:"user_pseudo_id,optional" json:"user_pseudo_id"`
	StreamID       string  `parquet:"stream_id,optional" json:"stream_id"`
	Platform       string  `parquet:"platform,optional" json:"platform"`
	Device         *struct {
		Category               string `parquet:"category,optional" json:"category"`
		OperatingSystem        string `parquet:"operating_system,optional" json:"operating_system"`
		OperatingSystemVersion string `parquet:"operating_system_version,optional" json:"operating_system_version"`
		Language               string `parquet:"language,optional" json:"language"`
		WebInfo                *struct {
			Browser        string `parquet:"browser,optional" json:"browser"`
			BrowserVersion string `parquet:"browser_version,optional" json:"browser_version"`
			Hostname       string `parquet:"hostname,optional" json:"hostname"`
		} `parquet:"web_info,optional" json:"web_info"`
	} `parquet:"device,optional" json:"device"`
	Geo *struct {
		Continent string `parquet:"continent,optional" json:"continent"`
		Country   string `parquet:"country,optional" json:"country"`
		Region    string `parquet:"region,optional" json:"region"`
		City      string `parquet:"city,optional" json:"city"`
	} `parquet:"geo,optional" json:"geo"`
}

// Param is one of event_params.
type Param struct {
	Key   string `parquet:"key,optional" json:"key"`
	Value *struct {
		StringValue *string      `parquet:"string_value,optional" json:"string_value"`
		IntValue    *json.Number `parquet:"-" json:"int_value"`
		Int         *int64       `parquet:"int_value,optional" json:"-"`
		FloatValue  *float64     `parquet:"float_value,optional" json:"float_value"`
		DoubleValue *float64     `parquet:"double_value,optional" json:"double_value"`
	} `parquet:"value,optional" json:"value"`
}

// GA4Rows are the rows of the GA4 fixture, pages on www.SITE.
func GA4Rows(t testing.TB, site string) []GA4Row {
	t.Helper()
	var rows []GA4Row
	for _, line := range strings.Split(strings.TrimSpace(GA4JSONText(t, site)), "\n") {
		var r GA4Row
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		for _, p := range r.EventParams {
			if p.Value != nil && p.Value.IntValue != nil {
				n, err := p.Value.IntValue.Int64()
				if err != nil {
					t.Fatal(err)
				}
				p.Value.Int = &n
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// WriteGA4Parquet writes rows as a Parquet file named events_20240305.parquet.
func WriteGA4Parquet(t testing.TB, rows []GA4Row) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events_20240305.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[GA4Row](f)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// GA4Parquet is the GA4 fixture as Parquet, pages on www.SITE.
func GA4Parquet(t testing.TB, site string) string { return WriteGA4Parquet(t, GA4Rows(t, site)) }
