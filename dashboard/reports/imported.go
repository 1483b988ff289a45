package reports

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/websystems/loendur/internal/store/literal"
)

// Imported aggregates (Plausible's export, internal/imports: the imported_* tables) are
// added to the reports for the days of a range that have no data of loendur's own (no
// page_stats_daily row of the site that UTC day), unless the request hides them
// (?imported=0) or filters: aggregates cannot answer filters. Raw imported history
// (GoatCounter, GA4) is events like any other and needs nothing here. Visitors of
// imported days are the sum of the days' visitors, as the source counted them.
// Everything about imported aggregates in the reports is in this file.

// ImportedParam is the query parameter that hides imported data: ?imported=0.
const ImportedParam = "imported"

// hidesImported reads ?imported=.
func hidesImported(v string) bool {
	switch strings.ToLower(v) {
	case "0", "false", "no", "off", "hide":
		return true
	}
	return false
}

func (s scope) withImported() bool { return !s.HideImported && len(s.Filters) == 0 }

// importedDays is the condition on an imported table's date column: rg's days without
// native data. The native days are looked up only among the days the table has rows
// for, so a site without imports reads no page_stats_daily row (a year of a large site
// is millions of them). GLOBAL: on a cluster the day list is read here, not by the
// shards that read page_stats_daily.
func (s scope) importedDays(table string, rg Range) string {
	from, to := "toDate("+literal.Quote(rg.From.Format(dateLayout))+")", "toDate("+literal.Quote(rg.To.Format(dateLayout))+")"
	days := "site = " + literal.Quote(s.Site) + " AND date >= " + from + " AND date <= " + to
	return days + " AND date NOT IN (SELECT day FROM page_stats_daily WHERE site = " + literal.Quote(s.Site) +
		" AND day GLOBAL IN (SELECT date FROM " + table + " WHERE " + days + ") GROUP BY day)"
}

// IncludesImported says whether the report of q shows imported aggregates.
func (rep *Service) IncludesImported(ctx context.Context, q Query, report string) (bool, error) {
	if !importedReports[report] {
		return false, nil
	}
	s := scope{Query: q}
	if !s.withImported() {
		return false, nil
	}
	var rows []struct {
		N uint64 `ch:"n"`
	}
	if err := rep.query(ctx, "imported", &rows, "SELECT count() AS n FROM imported_visitors WHERE "+s.importedDays("imported_visitors", q.Range)); err != nil {
		return false, err
	}
	return len(rows) > 0 && rows[0].N > 0, nil
}

// importedReports are the reports that add imported aggregates.
var importedReports = map[string]bool{"overview": true, "timeseries": true, "top-pages": true, "entry-pages": true,
	"exit-pages": true, "sources": true, "utm": true, "locations": true, "devices": true}

const importedVisitSums = "toUInt64(sum(visitors)) AS n_visitors, toUInt64(sum(visits)) AS n_visits, toUInt64(sum(pageviews)) AS n_pageviews, " +
	"toUInt64(sum(bounces)) AS n_bounces, toUInt64(sum(visit_duration)) AS sum_duration"

// addImportedTotals adds the imported visit totals of rg to t.
func (rep *Service) addImportedTotals(ctx context.Context, s scope, rg Range, t visitTotals) (visitTotals, error) {
	if !s.withImported() {
		return t, nil
	}
	var rows []visitTotals
	if err := rep.query(ctx, "imported", &rows, "SELECT "+importedVisitSums+" FROM imported_visitors WHERE "+s.importedDays("imported_visitors", rg)); err != nil {
		return t, err
	}
	for _, r := range rows {
		t = t.plus(r)
	}
	return t, nil
}

// addImportedSeries adds the imported visit totals of rg's days to a daily series.
func (rep *Service) addImportedSeries(ctx context.Context, s scope, rg Range, got map[int64]visitTotals) error {
	if !s.withImported() || rg.Hourly() {
		return nil
	}
	// Bucket is the day's local midnight (Unix seconds), as timeseries.sql computes it.
	var rows []visitTotals
	if err := rep.query(ctx, "imported", &rows, "SELECT toUInt32(toUnixTimestamp(toDateTime(date, "+literal.Quote(s.Location.String())+
		"))) AS bucket, "+importedVisitSums+" FROM imported_visitors WHERE "+s.importedDays("imported_visitors", rg)+" GROUP BY date"); err != nil {
		return err
	}
	for _, r := range rows {
		got[int64(r.Bucket)] = got[int64(r.Bucket)].plus(r)
	}
	return nil
}

func (t visitTotals) plus(o visitTotals) visitTotals {
	t.Visitors += o.Visitors
	t.Visits += o.Visits
	t.Pageviews += o.Pageviews
	t.Bounces += o.Bounces
	t.Duration += o.Duration
	return t
}

// importedDimension is where a breakdown's imported rows come from: the table and the
// expressions of its grouped columns (d0, d1, d2).
type importedDimension struct {
	table  string
	cols   []string
	visits string // the column counting visits
}

var importedDimensions = map[string]importedDimension{
	FilterSource:      {"imported_sources", []string{"source"}, "visits"},
	FilterReferrer:    {"imported_sources", []string{"referrer"}, "visits"},
	FilterUTMSource:   {"imported_sources", []string{"utm_source"}, "visits"},
	FilterUTMMedium:   {"imported_sources", []string{"utm_medium"}, "visits"},
	FilterUTMCampaign: {"imported_sources", []string{"utm_campaign"}, "visits"},
	FilterCountry:     {"imported_locations", []string{"country"}, "visits"},
	FilterRegion:      {"imported_locations", []string{"country", "region"}, "visits"},
	FilterDevice:      {"imported_devices", []string{"lower(device)"}, "visits"},
	FilterBrowser:     {"imported_browsers", []string{"browser"}, "visits"},
	FilterOS:          {"imported_operating_systems", []string{"operating_system"}, "visits"},
	FilterEntryPage:   {"imported_entry_pages", []string{"entry_page"}, "entrances"},
	FilterExitPage:    {"imported_exit_pages", []string{"exit_page"}, "exits"},
}

// addImportedDims merges the imported rows of a breakdown into rows, ordered as
// dimension.sql orders them and cut to the limit again.
func (rep *Service) addImportedDims(ctx context.Context, s scope, key string, rows []dimRow) ([]dimRow, error) {
	d, ok := importedDimensions[key]
	if !s.withImported() || !ok {
		return rows, nil
	}
	sel := make([]string, 0, 3)
	for i := range 3 {
		col := "''"
		if i < len(d.cols) {
			col = d.cols[i]
		}
		sel = append(sel, col+" AS d"+string(rune('0'+i)))
	}
	var imp []dimRow
	q := "SELECT " + strings.Join(sel, ", ") + ", toUInt64(sum(visitors)) AS n_visitors, toUInt64(sum(" + d.visits + ")) AS n_visits, " +
		"toUInt64(sum(bounces)) AS n_bounces, toUInt64(sum(visit_duration)) AS sum_duration FROM " + d.table +
		" WHERE " + s.importedDays(d.table, s.Range) + " GROUP BY d0, d1, d2"
	if err := rep.query(ctx, "imported", &imp, q); err != nil {
		return nil, err
	}
	if len(imp) == 0 {
		return rows, nil
	}
	at := map[[3]string]int{}
	for i, r := range rows {
		at[[3]string{r.D0, r.D1, r.D2}] = i
	}
	for _, r := range imp {
		k := [3]string{r.D0, r.D1, r.D2}
		if i, ok := at[k]; ok {
			rows[i].Visitors += r.Visitors
			rows[i].Visits += r.Visits
			rows[i].Bounces += r.Bounces
			rows[i].Duration += r.Duration
			continue
		}
		at[k] = len(rows)
		rows = append(rows, r)
	}
	// As dimension.sql orders: most visitors, most visits, then the values.
	slices.SortStableFunc(rows, func(a, b dimRow) int {
		return cmp.Or(cmp.Compare(b.Visitors, a.Visitors), cmp.Compare(b.Visits, a.Visits),
			cmp.Compare(a.D0, b.D0), cmp.Compare(a.D1, b.D1), cmp.Compare(a.D2, b.D2))
	})
	return rows[:min(len(rows), s.limit())], nil
}

// addImportedPages merges imported page rows (imported_pages) into top pages.
func (rep *Service) addImportedPages(ctx context.Context, s scope, rows []pageRow) ([]pageRow, error) {
	if !s.withImported() {
		return rows, nil
	}
	var imp []pageRow
	// Time on page: Plausible's newer exports have total_time_on_page (seconds) over
	// total_time_on_page_visits; older ones time_on_page (seconds, over pageviews).
	q := `SELECT page, toUInt64(sum(visitors)) AS n_visitors, toUInt64(sum(pageviews)) AS n_pageviews,
		toUInt64(sum(if(total_time_on_page_visits > 0, total_time_on_page_visits, if(time_on_page > 0, pageviews, 0)))) AS n_engagements,
		toUInt64(sum(if(total_time_on_page_visits > 0, total_time_on_page, time_on_page)) * 1000) AS sum_engaged,
		toUInt64(sum(if(total_scroll_depth_visits > 0, total_scroll_depth * if(total_time_on_page_visits > 0, total_time_on_page_visits, pageviews) / total_scroll_depth_visits, 0))) AS sum_scroll
		FROM imported_pages WHERE ` + s.importedDays("imported_pages", s.Range) + ` GROUP BY page`
	if err := rep.query(ctx, "imported", &imp, q); err != nil {
		return nil, err
	}
	at := map[string]int{}
	for i, r := range rows {
		at[r.Page] = i
	}
	for _, r := range imp {
		if i, ok := at[r.Page]; ok {
			p := &rows[i]
			p.Visitors, p.Pageviews, p.Engagements, p.Engaged, p.Scroll = p.Visitors+r.Visitors, p.Pageviews+r.Pageviews,
				p.Engagements+r.Engagements, p.Engaged+r.Engaged, p.Scroll+r.Scroll
			continue
		}
		at[r.Page] = len(rows)
		rows = append(rows, r)
	}
	slices.SortStableFunc(rows, func(a, b pageRow) int {
		return cmp.Or(cmp.Compare(b.Visitors, a.Visitors), cmp.Compare(b.Pageviews, a.Pageviews), cmp.Compare(a.Page, b.Page))
	})
	return rows[:min(len(rows), s.limit())], nil
}

// addImportedExits merges imported exit pages into exit rows: exits from
// imported_exit_pages, the page's views from imported_pages.
func (rep *Service) addImportedExits(ctx context.Context, s scope, rows []exitRow) ([]exitRow, error) {
	if !s.withImported() {
		return rows, nil
	}
	var imp []exitRow
	if err := rep.query(ctx, "imported", &imp, `SELECT exit_page AS page, toUInt64(sum(visitors)) AS n_visitors,
		toUInt64(sum(exits)) AS n_exits FROM imported_exit_pages WHERE `+s.importedDays("imported_exit_pages", s.Range)+` GROUP BY page`); err != nil {
		return nil, err
	}
	if len(imp) == 0 {
		return rows, nil
	}
	var views []pageRow
	if err := rep.query(ctx, "imported", &views, `SELECT page, toUInt64(sum(pageviews)) AS n_pageviews
		FROM imported_pages WHERE `+s.importedDays("imported_pages", s.Range)+` GROUP BY page`); err != nil {
		return nil, err
	}
	viewsOf := map[string]uint64{}
	for _, v := range views {
		viewsOf[v.Page] = v.Pageviews
	}
	for i := range imp {
		imp[i].Pageviews = viewsOf[imp[i].Page]
	}
	at := map[string]int{}
	for i, r := range rows {
		at[r.Page] = i
	}
	for _, r := range imp {
		if i, ok := at[r.Page]; ok {
			rows[i].Visitors += r.Visitors
			rows[i].Exits += r.Exits
			rows[i].Pageviews += r.Pageviews
			continue
		}
		at[r.Page] = len(rows)
		rows = append(rows, r)
	}
	slices.SortStableFunc(rows, func(a, b exitRow) int {
		return cmp.Or(cmp.Compare(b.Exits, a.Exits), cmp.Compare(b.Visitors, a.Visitors), cmp.Compare(a.Page, b.Page))
	})
	return rows[:min(len(rows), s.limit())], nil
}
