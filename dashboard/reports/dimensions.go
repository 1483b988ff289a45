package reports

import (
	"context"
	"fmt"
	"strings"

	"github.com/websystems/loendur/internal/store/literal"
)

// dimension is a breakdown of visits by some of their columns.
type dimension struct {
	key     string   // the filter key the breakdown's last column answers to
	fields  []string // row field names, one per column
	columns []string // sessions columns
}

// dimensions are the breakdowns by report and ?by=; the first of each is the default.
var dimensions = map[string][]dimension{
	"sources": {
		{FilterSource, []string{"source"}, []string{"referrer_source"}},
		{FilterReferrer, []string{"referrer"}, []string{"referrer_host"}},
	},
	"utm": {
		{FilterUTMSource, []string{"utm_source"}, []string{"utm_source"}},
		{FilterUTMMedium, []string{"utm_medium"}, []string{"utm_medium"}},
		{FilterUTMCampaign, []string{"utm_campaign"}, []string{"utm_campaign"}},
	},
	"locations": {
		{FilterCountry, []string{"country"}, []string{"country_code"}},
		{FilterRegion, []string{"country", "region"}, []string{"country_code", "region"}},
		{FilterCity, []string{"country", "region", "city"}, []string{"country_code", "region", "city"}},
	},
	"devices": {
		{FilterDevice, []string{"device"}, []string{"device"}},
		{FilterBrowser, []string{"browser"}, []string{"browser"}},
		{FilterOS, []string{"os"}, []string{"os"}},
	},
	"entry-pages": {{FilterEntryPage, []string{"page"}, []string{"entry_page"}}},
	"exit-pages":  {{FilterExitPage, []string{"page"}, []string{"exit_page"}}},
}

// lookupDimension finds the breakdown of report for ?by= (empty: the default).
func lookupDimension(report, by string) (dimension, error) {
	dims := dimensions[report]
	if by == "" {
		return dims[0], nil
	}
	var names []string
	for _, d := range dims {
		if d.key == by {
			return d, nil
		}
		names = append(names, d.key)
	}
	return dimension{}, badRequest("%s: by=%q is not a breakdown; use one of %s", report, by, strings.Join(names, ", "))
}

// dimRow is a row of dimension.sql; d0..d2 are the grouped columns.
type dimRow struct {
	D0       string `ch:"d0"`
	D1       string `ch:"d1"`
	D2       string `ch:"d2"`
	Visitors uint64 `ch:"n_visitors"`
	Visits   uint64 `ch:"n_visits"`
	Bounces  uint64 `ch:"n_bounces"`
	Duration uint64 `ch:"sum_duration"`
}

func (d dimRow) values() []string { return []string{d.D0, d.D1, d.D2} }

// breakdown groups the visits of q by dim.
func (rep *Service) breakdown(ctx context.Context, s scope, dim dimension) ([]dimRow, error) {
	rows, err := rep.dimensionRows(ctx, s, dim, s.Filters.sessionWhere(), "n_visitors DESC, n_visits DESC")
	if err != nil {
		return nil, err
	}
	return rep.addImportedDims(ctx, s, dim.key, rows)
}

// dimensionRows groups the visits of s's range that match where by dim: from the
// per-day states of each dimension value when there are no filters, else from the
// visits.
func (rep *Service) dimensionRows(ctx context.Context, s scope, dim dimension, where, order string) ([]dimRow, error) {
	var sql string
	var err error
	if data, ok := s.dimensionStats(s.Range, dim, order); ok {
		sql, err = render("dimension_stats", data)
	} else {
		data := s.visitsData(s.Range)
		data.Where = where
		data.Dims = dim.columns
		data.Order = order
		sql, err = render("dimension", data)
	}
	if err != nil {
		return nil, err
	}
	var rows []dimRow
	if err := rep.query(ctx, "dimension", &rows, sql); err != nil {
		return nil, err
	}
	for i := range rows {
		s.scaleUp(&rows[i].Visitors, &rows[i].Visits, &rows[i].Bounces, &rows[i].Duration)
	}
	return rows, nil
}

// Dimension answers the sources, utm, locations, devices and entry-pages reports:
// visitors, visits, bounce rate and visit duration per value, most visitors first.
func (rep *Service) Dimension(ctx context.Context, q Query, report, by string) ([]Row, error) {
	if _, ok := dimensions[report]; !ok || report == "exit-pages" {
		return nil, fmt.Errorf("no dimension report %q", report)
	}
	dim, err := lookupDimension(report, by)
	if err != nil {
		return nil, err
	}
	s, err := rep.scope(ctx, q)
	if err != nil {
		return nil, err
	}
	rows, err := rep.breakdown(ctx, s, dim)
	if err != nil {
		return nil, err
	}
	out := make([]Row, 0, len(rows))
	for _, d := range rows {
		row := make(Row, 0, len(dim.fields)+4)
		for i, f := range dim.fields {
			row = append(row, Field{f, d.values()[i]})
		}
		visits := "visits"
		if report == "entry-pages" {
			visits = "entries"
		}
		row = append(row, Field{"visitors", d.Visitors}, Field{visits, d.Visits},
			Field{"bounce_rate", percent(float64(d.Bounces), float64(d.Visits))},
			Field{"visit_duration", avg(float64(d.Duration), float64(d.Visits))})
		out = append(out, row)
	}
	return out, nil
}

// ExitPages answers the pages visits ended on: exits, the page's views and the exit
// rate (exits ÷ views), most exits first. A page filter selects the rows (the exit
// rate of those pages over all visits) rather than the visits.
func (rep *Service) ExitPages(ctx context.Context, q Query) ([]Row, error) {
	s, err := rep.scope(ctx, q)
	if err != nil {
		return nil, err
	}
	var rows []exitRow
	if s.Filters.onlyPages() && !s.sampled() {
		rows, err = rep.exitsAndViews(ctx, s)
	} else {
		rows, err = rep.exitsOfVisits(ctx, s)
	}
	if err == nil {
		rows, err = rep.addImportedExits(ctx, s, rows)
	}
	if err != nil {
		return nil, err
	}
	out := make([]Row, 0, len(rows))
	for _, e := range rows {
		v := max(e.Pageviews, e.Exits) // a visit that began in the period may end on a view just after it
		out = append(out, Row{{"page", e.Page}, {"visitors", e.Visitors}, {"exits", e.Exits},
			{"pageviews", v}, {"exit_rate", percent(float64(e.Exits), float64(v))}})
	}
	return out, nil
}

type exitRow struct {
	Page      string `ch:"page"`
	Visitors  uint64 `ch:"n_visitors"`
	Exits     uint64 `ch:"n_exits"`
	Pageviews uint64 `ch:"n_pageviews"`
}

// exitsAndViews counts exits from the sessions table's exit_page and views from the
// page rollups: two cheap queries.
func (rep *Service) exitsAndViews(ctx context.Context, s scope) ([]exitRow, error) {
	exits, err := rep.dimensionRows(ctx, s, dimensions["exit-pages"][0], s.Filters.pageWhere("exit_page"), "n_visits DESC, n_visitors DESC")
	if err != nil {
		return nil, err
	}
	if len(exits) == 0 {
		return nil, nil
	}
	paths := make([]string, len(exits))
	for i, e := range exits {
		paths[i] = e.D0
	}
	in := " IN " + literal.StringList(paths)
	sql, err := render("page_views", struct{ Stats statsData }{s.pageStats(func(col string) string { return col + in })})
	if err != nil {
		return nil, err
	}
	var pages []struct {
		Page      string `ch:"page"`
		Pageviews uint64 `ch:"n_pageviews"`
	}
	if err := rep.query(ctx, "page_views", &pages, sql); err != nil {
		return nil, err
	}
	views := make(map[string]uint64, len(pages))
	for _, p := range pages {
		s.scaleUp(&p.Pageviews)
		views[p.Page] = p.Pageviews
	}
	out := make([]exitRow, len(exits))
	for i, e := range exits {
		out[i] = exitRow{Page: e.D0, Visitors: e.Visitors, Exits: e.Visits, Pageviews: views[e.D0]}
	}
	return out, nil
}

// exitsOfVisits counts exits and views within the visits that match the filters, in
// one pass over their page views: also for a sampled report, which has no rollups to
// make exitsAndViews cheap.
func (rep *Service) exitsOfVisits(ctx context.Context, s scope) ([]exitRow, error) {
	sql, err := render("exit_visits", visitRowsData{Sessions: s.sessions(s.Range),
		Where: s.Filters.Without(FilterPage).sessionWhere(), PageWhere: s.Filters.pageWhere("path"), Limit: s.limit()})
	if err != nil {
		return nil, err
	}
	var rows []exitRow
	if err := rep.query(ctx, "exit_visits", &rows, sql); err != nil {
		return nil, err
	}
	for i := range rows {
		s.scaleUp(&rows[i].Visitors, &rows[i].Exits, &rows[i].Pageviews)
	}
	return rows, nil
}
