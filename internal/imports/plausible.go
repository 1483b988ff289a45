package imports

import (
	"archive/zip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/websystems/loendur/internal/pageurl"
)

// aggregateTable is one table of Plausible's CSV export and the imported_* table that
// holds it (schema/0051_imported_aggregates.sql): its key columns and its counts. Every
// column of every Plausible version is known: a count a version lacks is stored as 0.
type aggregateTable struct {
	name     string   // "pages": the export's file name without imported_, the table's without it
	keys     []string // text keys, in order
	uintKeys []string // numeric keys (city: a GeoNames id)
	measures []string // counts, in the order of the table
	required []string // columns a file must have besides date
}

func (t aggregateTable) table() string { return "imported_" + t.name }

// columns of the imported_ table, in the order rows are built.
func (t aggregateTable) columns() []string {
	return slices.Concat([]string{"site", "import_id", "date"}, t.keys, t.uintKeys, t.measures)
}

var visitMeasures = []string{"visitors", "visits", "visit_duration", "bounces", "pageviews"}

// aggregateTables are the tables of Plausible's export, as its CSV importer reads them.
var aggregateTables = []aggregateTable{
	{name: "visitors", measures: []string{"visitors", "pageviews", "bounces", "visits", "visit_duration"}, required: []string{"visitors"}},
	{name: "sources", keys: []string{"source", "referrer", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"},
		measures: []string{"pageviews", "visitors", "visits", "visit_duration", "bounces"}, required: []string{"source", "visitors"}},
	{name: "pages", keys: []string{"hostname", "page"},
		measures: []string{"visits", "visitors", "pageviews", "exits", "time_on_page", "scroll_depth", "pageleave_visitors",
			"total_scroll_depth", "total_scroll_depth_visits", "total_time_on_page", "total_time_on_page_visits"},
		required: []string{"page", "visitors", "pageviews"}},
	{name: "entry_pages", keys: []string{"entry_page"}, measures: []string{"visitors", "entrances", "visit_duration", "bounces", "pageviews"},
		required: []string{"entry_page", "visitors", "entrances"}},
	{name: "exit_pages", keys: []string{"exit_page"}, measures: []string{"visitors", "visit_duration", "exits", "bounces", "pageviews"},
		required: []string{"exit_page", "visitors", "exits"}},
	{name: "custom_events", keys: []string{"name", "link_url", "path"}, measures: []string{"visitors", "events"}, required: []string{"name", "events"}},
	{name: "locations", keys: []string{"country", "region"}, uintKeys: []string{"city"}, measures: visitMeasures, required: []string{"country", "visitors"}},
	{name: "devices", keys: []string{"device"}, measures: visitMeasures, required: []string{"device", "visitors"}},
	{name: "browsers", keys: []string{"browser", "browser_version"}, measures: visitMeasures, required: []string{"browser", "visitors"}},
	{name: "operating_systems", keys: []string{"operating_system", "operating_system_version"}, measures: visitMeasures,
		required: []string{"operating_system", "visitors"}},
}

// ignoredTables are tables of the export that loendur has no place for yet.
var ignoredTables = []string{"custom_props"}

// plausibleName is a file of the export: TABLE_YYYYMMDD_YYYYMMDD.csv, imported_ optional.
var plausibleName = regexp.MustCompile(`^(?:imported_)?([a-z_]+?)(?:_\d{8}_\d{8})?\.csv$`)

type plausibleFormat struct{ path, name string }

// read reads every CSV of the ZIP (or the one CSV) in turn.
func (p plausibleFormat) read(ctx context.Context, r *run, w *writer) (summary, error) {
	var sum summary
	if !strings.HasSuffix(strings.ToLower(p.name), ".zip") {
		rc, err := openText(p.path)
		if err != nil {
			return sum, err
		}
		defer rc.Close()
		return sum, p.readCSV(ctx, r, w, rc, p.name, path.Base(p.name), &sum)
	}
	z, err := zip.OpenReader(p.path)
	if err != nil {
		return sum, &Error{File: p.name, Msg: "not a readable ZIP file (" + err.Error() + "): expected Plausible's CSV export"}
	}
	defer z.Close()
	seen := 0
	for _, f := range z.File {
		if f.FileInfo().IsDir() {
			continue
		}
		where := p.name + ":" + f.Name
		rc, err := f.Open()
		if err != nil {
			return sum, &Error{File: where, Msg: err.Error()}
		}
		err = p.readCSV(ctx, r, w, rc, where, path.Base(f.Name), &sum)
		rc.Close()
		if err != nil {
			return sum, err
		}
		seen++
	}
	if seen == 0 {
		return sum, &Error{File: p.name, Msg: "the ZIP holds no CSV file"}
	}
	return sum, nil
}

// readCSV reads one table's CSV. where names it in errors.
func (p plausibleFormat) readCSV(ctx context.Context, r *run, w *writer, rd io.Reader, where, base string, sum *summary) error {
	m := plausibleName.FindStringSubmatch(strings.ToLower(base))
	if m == nil {
		return &Error{File: where, Msg: "not a table of Plausible's export: names are TABLE_YYYYMMDD_YYYYMMDD.csv, e.g. imported_pages_20240101_20241231.csv"}
	}
	if slices.Contains(ignoredTables, m[1]) {
		r.im.log.Warn("import: table not imported (loendur keeps no such aggregate)", "file", where)
		return nil
	}
	i := slices.IndexFunc(aggregateTables, func(t aggregateTable) bool { return t.name == m[1] })
	if i < 0 {
		return &Error{File: where, Msg: fmt.Sprintf("unknown table %q of Plausible's export", m[1])}
	}
	t := aggregateTables[i]
	cr := csv.NewReader(rd)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return csvError(where, cr, err, "the header")
	}
	// pos maps each column of the table to its field in the file (-1: absent, 0).
	pos := map[string]int{}
	cols := t.columns()[2:]
	for f, name := range header {
		name = strings.TrimSpace(strings.TrimPrefix(name, "\ufeff"))
		if !slices.Contains(cols, name) {
			return &Error{File: where, Line: 1, Column: strconv.Itoa(f + 1), Msg: fmt.Sprintf("unknown column %q of %s (known: %s)", name, t.table(), strings.Join(cols, ", "))}
		}
		pos[name] = f
	}
	for _, need := range append([]string{"date"}, t.required...) {
		if _, ok := pos[need]; !ok {
			return &Error{File: where, Line: 1, Msg: fmt.Sprintf("column %q missing from %s", need, t.table())}
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return csvError(where, cr, err, "a row")
		}
		row, day, err := p.row(r, t, pos, rec, cr, where)
		if err != nil {
			return err
		}
		sum.add(day)
		r.progress(w != nil, sum.rows)
		if w != nil {
			if err := w.aggregate(ctx, t, row); err != nil {
				return err
			}
		}
	}
}

// row checks one record and builds the table's row.
func (p plausibleFormat) row(r *run, t aggregateTable, pos map[string]int, rec []string, cr *csv.Reader, where string) ([]any, time.Time, error) {
	bad := func(col, msg string) error {
		line, _ := cr.FieldPos(pos[col])
		return &Error{File: where, Line: int64(line), Column: col, Msg: msg}
	}
	field := func(col string) (string, bool) {
		f, ok := pos[col]
		if !ok {
			return "", false
		}
		return strings.TrimSpace(rec[f]), true
	}
	d, _ := field("date")
	day, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return nil, day, bad("date", fmt.Sprintf("%q is not a date (YYYY-MM-DD)", d))
	}
	row := []any{r.site, r.rec.ID, day}
	for _, k := range t.keys {
		v, _ := field(k)
		if k == "hostname" && v != "" && !pageurl.BelongsTo(v, r.site) {
			return nil, day, bad(k, fmt.Sprintf("host %q is not the site %s or a subdomain of it: an export of another site?", v, r.site))
		}
		row = append(row, v)
	}
	for _, k := range slices.Concat(t.uintKeys, t.measures) {
		v, ok := field(k)
		n := uint64(0)
		if ok && v != "" && v != `\N` {
			if n, err = strconv.ParseUint(v, 10, 64); err != nil {
				// Plausible writes averages such as scroll_depth as whole numbers, but
				// a float from another tool is rounded rather than refused.
				f, ferr := strconv.ParseFloat(v, 64)
				if ferr != nil || f < 0 {
					return nil, day, bad(k, fmt.Sprintf("%q is not a count", v))
				}
				n = uint64(f + 0.5)
			}
		}
		row = append(row, n)
	}
	return row, day, nil
}

// csvError names the line of a CSV reading error.
func csvError(where string, cr *csv.Reader, err error, what string) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &Error{File: where, Line: int64(pe.Line), Column: strconv.Itoa(pe.Column), Msg: pe.Err.Error()}
	}
	if errors.Is(err, io.EOF) {
		return &Error{File: where, Line: 1, Msg: "empty file: " + what + " is missing"}
	}
	line, _ := cr.FieldPos(0)
	return &Error{File: where, Line: int64(line), Msg: "cannot read " + what + ": " + err.Error() + " (a truncated file?)"}
}
