package imports

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/websystems/loendur/internal/csvout"
	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/literal"
)

// Export formats.
const (
	FormatPlausible = "plausible" // a ZIP of Plausible's imported_*.csv tables: aggregates per day
	FormatCSV       = "csv"       // raw events, one row each (store.EventColumns)
	FormatParquet   = "parquet"   // raw events as Parquet
)

// ExportOptions say what to export.
type ExportOptions struct {
	Site     string
	Location *time.Location // the site's time zone: the days of Plausible's tables; nil = UTC
	Format   string
}

// exportTable is one table of the Plausible export: its header and, per column, the
// expression that computes it over a month of visits or events.
type exportTable struct {
	name   string
	events bool   // computed from events, not visits
	where  string // which rows count
	cols   []string
	exprs  []string // after date; "" = the column's name
	having string
}

var visitExprs = []string{"uniqExact(visitor_id)", "count()", "sum(end_time - start_time)", "countIf(pageviews = 1)", "sum(pageviews)"}

func visitTable(name string, keys []string, keyExprs []string) exportTable {
	return exportTable{name: name, cols: append(append([]string{}, keys...), visitMeasures...), exprs: append(keyExprs, visitExprs...)}
}

var exportTables = []exportTable{
	{name: "visitors", cols: []string{"visitors", "pageviews", "bounces", "visits", "visit_duration"},
		exprs: []string{"uniqExact(visitor_id)", "sum(pageviews)", "countIf(pageviews = 1)", "count()", "sum(end_time - start_time)"}},
	visitTable("sources", []string{"source", "referrer", "utm_source", "utm_medium", "utm_campaign"},
		[]string{"referrer_source", "referrer_host", "utm_source", "utm_medium", "utm_campaign"}),
	{name: "entry_pages", cols: []string{"entry_page", "visitors", "entrances", "visit_duration", "bounces", "pageviews"},
		exprs: []string{"entry_page", "uniqExact(visitor_id)", "count()", "sum(end_time - start_time)", "countIf(pageviews = 1)", "sum(pageviews)"}},
	{name: "exit_pages", cols: []string{"exit_page", "visitors", "exits", "visit_duration", "bounces", "pageviews"},
		exprs: []string{"exit_page", "uniqExact(visitor_id)", "count()", "sum(end_time - start_time)", "countIf(pageviews = 1)", "sum(pageviews)"}},
	visitTable("locations", []string{"country", "region", "city"}, []string{"country_code", "region", "0"}),
	visitTable("devices", []string{"device"}, []string{"device"}),
	visitTable("browsers", []string{"browser", "browser_version"}, []string{"browser", "''"}),
	visitTable("operating_systems", []string{"operating_system", "operating_system_version"}, []string{"os", "''"}),
	{name: "pages", events: true, where: "name IN ('pageview', 'engagement')",
		cols: []string{"hostname", "page", "visits", "visitors", "pageviews", "total_time_on_page", "total_time_on_page_visits", "total_scroll_depth", "total_scroll_depth_visits"},
		exprs: []string{"hostname", "pathname", "uniqExactIf(session_id, name = 'pageview')", "uniqExactIf(visitor_id, name = 'pageview')",
			"countIf(name = 'pageview')", "intDiv(sumIf(engaged_ms, name = 'engagement'), 1000)", "countIf(name = 'engagement')",
			"sumIf(scroll, name = 'engagement')", "countIf(name = 'engagement')"},
		having: "countIf(name = 'pageview') > 0"},
	{name: "custom_events", events: true, where: "name NOT IN ('pageview', 'engagement')",
		cols:  []string{"name", "link_url", "path", "visitors", "events"},
		exprs: []string{"name", "if(has(prop_keys, 'url'), prop_values[indexOf(prop_keys, 'url')], '')", "''", "uniqExact(visitor_id)", "count()"}},
}

// Export writes the site's data in the chosen format to w, a month (Plausible) or a
// day of events (csv, parquet) at a time, so memory does not grow with the history.
// It returns the rows written.
func Export(ctx context.Context, db store.Store, opts ExportOptions, w io.Writer) (uint64, error) {
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Format != FormatPlausible && opts.Format != FormatCSV && opts.Format != FormatParquet {
		return 0, fmt.Errorf("export format %q: plausible, csv or parquet", opts.Format)
	}
	first, last, ok, err := eventSpan(ctx, db, opts.Site)
	if err != nil {
		return 0, err
	}
	if opts.Format != FormatPlausible {
		if !ok {
			first, last = time.Unix(0, 0), time.Unix(0, 0).Add(-time.Second) // nothing to read
		}
		return exportEvents(ctx, db, opts, w, first, last)
	}
	// Aggregates imported earlier leave too, for the days without events.
	iFirst, iLast, iok, err := importedSpan(ctx, db, opts.Site, opts.Location)
	if err != nil {
		return 0, err
	}
	switch {
	case !ok:
		first, last = iFirst, iLast
	case iok:
		first, last = minTime(first, iFirst), maxTime(last, iLast)
	}
	var n uint64
	err = exportPlausible(ctx, db, opts, w, first, last, ok || iok, &n)
	return n, err
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// importedSpan is the first and last day of the site's imported aggregates, as local
// midnights in loc.
func importedSpan(ctx context.Context, db store.Store, site string, loc *time.Location) (first, last time.Time, ok bool, err error) {
	var parts []string
	for _, t := range aggregateTables {
		parts = append(parts, "SELECT date FROM "+t.table()+" WHERE site = "+literal.Quote(site))
	}
	var rows []struct {
		N     uint64 `ch:"n"`
		First string `ch:"first"`
		Last  string `ch:"last"`
	}
	if err := db.Select(ctx, &rows, "SELECT count() AS n, toString(min(date)) AS first, toString(max(date)) AS last FROM ("+strings.Join(parts, " UNION ALL ")+")"); err != nil {
		return first, last, false, fmt.Errorf("export: %w", err)
	}
	if len(rows) == 0 || rows[0].N == 0 {
		return first, last, false, nil
	}
	if first, err = time.ParseInLocation(time.DateOnly, rows[0].First, loc); err == nil {
		last, err = time.ParseInLocation(time.DateOnly, rows[0].Last, loc)
	}
	return first, last, err == nil, err
}

func eventSpan(ctx context.Context, db store.Store, site string) (first, last time.Time, ok bool, err error) {
	var rows []struct {
		N     uint64    `ch:"n"`
		First time.Time `ch:"first"`
		Last  time.Time `ch:"last"`
	}
	if err := db.Select(ctx, &rows, "SELECT count() AS n, min(timestamp) AS first, max(timestamp) AS last FROM events WHERE site = ?", site); err != nil {
		return first, last, false, fmt.Errorf("export: %w", err)
	}
	if len(rows) == 0 || rows[0].N == 0 {
		return first, last, false, nil
	}
	return rows[0].First.UTC(), rows[0].Last.UTC(), true, nil
}

// exportPlausible writes one CSV per table into a ZIP, each computed a local month at a
// time (visits by the day they started, in the site's time zone).
func exportPlausible(ctx context.Context, db store.Store, opts ExportOptions, w io.Writer, first, last time.Time, any bool, n *uint64) error {
	zw := zip.NewWriter(w)
	from, to := first.In(opts.Location), last.In(opts.Location)
	start := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, opts.Location)
	suffix := from.Format("20060102") + "_" + to.Format("20060102")
	if !any {
		suffix = "00010101_00010101"
	}
	for _, t := range exportTables {
		f, err := zw.Create("imported_" + t.name + "_" + suffix + ".csv")
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		cw := csvout.NewWriter(f)
		if err := cw.WriteStrings(append([]string{"date"}, t.cols...)); err != nil {
			return err
		}
		for m := start; any && !m.After(to); m = m.AddDate(0, 1, 0) {
			var rows []struct {
				Cells []string `ch:"cells"`
			}
			if err := db.Select(ctx, &rows, t.query(opts.Site, opts.Location, m, m.AddDate(0, 1, 0))); err != nil {
				return fmt.Errorf("export %s: %w", t.name, err)
			}
			var imported []struct {
				Cells []string `ch:"cells"`
			}
			if err := db.Select(ctx, &imported, t.importedQuery(opts.Site, opts.Location, m, m.AddDate(0, 1, 0))); err != nil {
				return fmt.Errorf("export imported %s: %w", t.name, err)
			}
			for _, r := range append(rows, imported...) {
				if err := cw.Write(cellValues(r.Cells, len(t.cols)-countKeys(t))...); err != nil {
					return err
				}
				*n++
			}
		}
		if err := cw.Flush(); err != nil {
			return err
		}
	}
	return zw.Close()
}

func countKeys(t exportTable) int {
	for i, c := range t.cols {
		if strings.Contains("|visitors|visits|", "|"+c+"|") {
			return i
		}
	}
	return len(t.cols)
}

// cellValues keeps the date and keys as text and writes the counts (the last measures
// cells) as numbers, so the CSV writer never mistakes a number for text.
func cellValues(cells []string, measures int) []any {
	out := make([]any, len(cells))
	for i, c := range cells {
		if i >= len(cells)-measures {
			var v uint64
			fmt.Sscan(c, &v)
			out[i] = v
		} else {
			out[i] = c
		}
	}
	return out
}

// query renders the table's month [from, to) as rows of text cells.
func (t exportTable) query(site string, loc *time.Location, from, to time.Time) string {
	tz := literal.Quote(loc.String())
	cells := []string{}
	for i, e := range t.exprs {
		if e == "" {
			e = t.cols[i]
		}
		cells = append(cells, "toString("+e+")")
	}
	var src, day string
	if t.events {
		day = "toDate(timestamp, " + tz + ")"
		src = "events WHERE site = " + literal.Quote(site) + " AND timestamp >= " + literal.DateTime(from) + " AND timestamp < " + literal.DateTime(to)
		if t.where != "" {
			src += " AND " + t.where
		}
	} else {
		day = "toDate(start_time, " + tz + ")"
		span := derived.VisitSpan{Site: site, From: from.Add(-derived.MaxVisitLength), To: to.Add(derived.MaxVisitLength),
			EndFrom: time.Unix(1, 0), StartFrom: from, StartTo: to}
		src = "(" + span.Query() + ") WHERE pageviews > 0"
	}
	keys := len(t.cols) - (len(t.cols) - countKeys(t))
	group := []string{"d"}
	for i := range keys {
		group = append(group, fmt.Sprintf("k%d", i))
	}
	sel := []string{day + " AS d"}
	for i := range keys {
		sel = append(sel, cells[i]+fmt.Sprintf(" AS k%d", i))
	}
	list := []string{"toString(d)"}
	for i := range keys {
		list = append(list, fmt.Sprintf("k%d", i))
	}
	list = append(list, cells[keys:]...)
	q := "SELECT [" + strings.Join(list, ", ") + "] AS cells FROM (SELECT " + strings.Join(sel, ", ") + ", * FROM " + src + ") GROUP BY " + strings.Join(group, ", ")
	if t.having != "" {
		q += " HAVING " + t.having
	}
	return q + " ORDER BY " + strings.Join(group, ", ")
}

// importedQuery renders the rows of the table's imported aggregates of the month
// [from, to) on the days without events (those leave as computed from the events).
func (t exportTable) importedQuery(site string, loc *time.Location, from, to time.Time) string {
	cells := []string{"toString(date)"}
	for _, c := range t.cols {
		cells = append(cells, "toString("+c+")")
	}
	q := literal.Quote(site)
	return "SELECT [" + strings.Join(cells, ", ") + "] AS cells FROM imported_" + t.name + " WHERE site = " + q +
		" AND date >= toDate(" + literal.Quote(from.Format(time.DateOnly)) + ") AND date < toDate(" + literal.Quote(to.Format(time.DateOnly)) + ")" +
		" AND date NOT IN (SELECT toDate(timestamp, " + literal.Quote(loc.String()) + ") AS d FROM events WHERE site = " + q +
		" AND timestamp >= " + literal.DateTime(from) + " AND timestamp < " + literal.DateTime(to) + " GROUP BY d) ORDER BY date"
}

// exportRow is an event as the Parquet export writes it.
type exportRow struct {
	EventID        string    `parquet:"event_id"`
	Site           string    `parquet:"site"`
	Timestamp      time.Time `parquet:"timestamp,timestamp(microsecond)"`
	Name           string    `parquet:"name"`
	Hostname       string    `parquet:"hostname"`
	Pathname       string    `parquet:"pathname"`
	ReferrerHost   string    `parquet:"referrer_host"`
	ReferrerSource string    `parquet:"referrer_source"`
	UTMSource      string    `parquet:"utm_source"`
	UTMMedium      string    `parquet:"utm_medium"`
	UTMCampaign    string    `parquet:"utm_campaign"`
	UTMTerm        string    `parquet:"utm_term"`
	UTMContent     string    `parquet:"utm_content"`
	CountryCode    string    `parquet:"country_code"`
	Region         string    `parquet:"region"`
	City           string    `parquet:"city"`
	Browser        string    `parquet:"browser"`
	BrowserVersion string    `parquet:"browser_version"`
	OS             string    `parquet:"os"`
	OSVersion      string    `parquet:"os_version"`
	Device         string    `parquet:"device"`
	Width          int32     `parquet:"width"`
	VisitorID      uint64    `parquet:"visitor_id"`
	SessionID      uint64    `parquet:"session_id"`
	IP             string    `parquet:"ip"`
	EngagedMS      int64     `parquet:"engaged_ms"`
	Scroll         int32     `parquet:"scroll"`
	PropKeys       []string  `parquet:"prop_keys,list"`
	PropValues     []string  `parquet:"prop_values,list"`
}

func toExportRow(e *store.Event) exportRow {
	return exportRow{EventID: e.EventID.String(), Site: e.Site, Timestamp: e.Timestamp.UTC(), Name: e.Name, Hostname: e.Hostname,
		Pathname: e.Pathname, ReferrerHost: e.ReferrerHost, ReferrerSource: e.ReferrerSource, UTMSource: e.UTMSource,
		UTMMedium: e.UTMMedium, UTMCampaign: e.UTMCampaign, UTMTerm: e.UTMTerm, UTMContent: e.UTMContent,
		CountryCode: e.CountryCode, Region: e.Region, City: e.City, Browser: e.Browser, BrowserVersion: e.BrowserVersion,
		OS: e.OS, OSVersion: e.OSVersion, Device: e.Device, Width: int32(e.Width), VisitorID: e.VisitorID, SessionID: e.SessionID,
		IP: e.IP, EngagedMS: int64(e.EngagedMS), Scroll: int32(e.Scroll), PropKeys: e.PropKeys, PropValues: e.PropValues}
}

// exportChunk bounds the events read at once.
const exportChunk = 6 * time.Hour

// exportEvents writes the site's events, ordered by time, a few hours at a time (each
// a row group of the Parquet file).
func exportEvents(ctx context.Context, db store.Store, opts ExportOptions, w io.Writer, first, last time.Time) (uint64, error) {
	var n uint64
	var cw *csvout.Writer
	var pw *parquet.GenericWriter[exportRow]
	if opts.Format == FormatCSV {
		cw = csvout.NewWriter(w)
		if err := cw.WriteStrings(store.EventColumns); err != nil {
			return 0, err
		}
	} else {
		pw = parquet.NewGenericWriter[exportRow](w, parquet.Compression(&parquet.Zstd))
	}
	q := "SELECT " + strings.Join(store.EventColumns, ", ") + " FROM events WHERE site = ? AND timestamp >= ? AND timestamp < ? ORDER BY timestamp, time_us, event_id"
	for from := first.Truncate(exportChunk); !from.After(last); from = from.Add(exportChunk) {
		var rows []store.Event
		if err := db.Select(ctx, &rows, q, opts.Site, from, from.Add(exportChunk)); err != nil {
			return n, fmt.Errorf("export events: %w", err)
		}
		if len(rows) == 0 {
			continue
		}
		if cw != nil {
			for i := range rows {
				if err := cw.Write(eventCells(&rows[i])...); err != nil {
					return n, err
				}
			}
		} else {
			out := make([]exportRow, len(rows))
			for i := range rows {
				out[i] = toExportRow(&rows[i])
			}
			if _, err := pw.Write(out); err != nil {
				return n, fmt.Errorf("write parquet: %w", err)
			}
			if err := pw.Flush(); err != nil {
				return n, fmt.Errorf("write parquet: %w", err)
			}
		}
		n += uint64(len(rows))
	}
	if cw != nil {
		return n, cw.Flush()
	}
	if err := pw.Close(); err != nil {
		return n, fmt.Errorf("write parquet: %w", err)
	}
	return n, nil
}

// eventCells are an event's cells as the CSV shows them: ids and times as text,
// counts as numbers, properties as JSON lists.
func eventCells(e *store.Event) []any {
	vals := store.EventValues(e)
	for i, v := range vals {
		switch x := v.(type) {
		case fmt.Stringer:
			if t, ok := v.(time.Time); ok {
				vals[i] = t.UTC().Format(time.RFC3339)
			} else {
				vals[i] = x.String()
			}
		case uint64:
			vals[i] = fmt.Sprint(x) // 64-bit ids: text, as spreadsheets lose their precision
		}
	}
	return vals
}
