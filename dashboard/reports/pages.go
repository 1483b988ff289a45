package reports

import (
	"context"
	"strings"
	"time"

	"github.com/websystems/loendur/internal/store/literal"
)

// stats plans where the page or event rows of rg come from: the rollups when every
// filter is on a column they keep (where), events otherwise.
func (s scope) stats(rg Range, where string, rollupable bool, eventsMatchEvent bool) (statsData, error) {
	d := statsData{Site: s.Site, Where: where}
	if rollupable {
		d.Segments = segments(rg.Start, rg.End)
		return d, nil
	}
	raw, err := s.eventFilter(rg, eventsMatchEvent)
	if err != nil {
		return statsData{}, err
	}
	d.RawWhere = raw
	d.Segments = []segment{{"raw", rg.Start, rg.End}}
	return d, nil
}

// pageStats plans the page rows of the query's range under its filters: from the
// rollups when the only filters are on the page (a column they keep) and the report is
// not sampled, else from the matching visits. extra, when set, renders a further
// condition on the path column it is given.
func (s scope) pageStats(extra func(col string) string) statsData {
	cond := func(col string) string {
		if extra != nil {
			return s.Filters.pageWhere(col) + " AND " + extra(col)
		}
		return s.Filters.pageWhere(col)
	}
	if s.Filters.onlyPages() && !s.sampled() {
		return statsData{Site: s.Site, Segments: segmentsUpTo(s.Range.Start, s.Range.End, upToMonth), Where: cond("pathname")}
	}
	return statsData{Site: s.Site, Visits: &visitRowsData{Sessions: s.sessions(s.Range),
		Where: s.Filters.Without(FilterPage).sessionWhere(), PageWhere: cond("pathname")}}
}

// visitRowsData feeds page_visits.sql, event_visits.sql and exit_visits.sql: rows of
// the visits that match Where, restricted to the pages PageWhere matches.
type visitRowsData struct {
	Sessions  sessionsData
	Where     string // conditions on the visit
	PageWhere string // conditions on the page path (pathname, p or path; see the file)
	Limit     int
}

// pageRow is a row of top_pages.sql.
type pageRow struct {
	Page        string `ch:"page"`
	Visitors    uint64 `ch:"n_visitors"`
	Pageviews   uint64 `ch:"n_pageviews"`
	Engagements uint64 `ch:"n_engagements"`
	Engaged     uint64 `ch:"sum_engaged"`
	Scroll      uint64 `ch:"sum_scroll"`
}

func (rep *Service) pageRows(ctx context.Context, s scope, limit int) ([]pageRow, error) {
	sql, err := render("top_pages", struct {
		Stats statsData
		Limit int
	}{s.pageStats(nil), limit})
	if err != nil {
		return nil, err
	}
	var rows []pageRow
	if err := rep.query(ctx, "top_pages", &rows, sql); err != nil {
		return nil, err
	}
	for i := range rows {
		r := &rows[i]
		s.scaleUp(&r.Visitors, &r.Pageviews, &r.Engagements, &r.Engaged, &r.Scroll)
	}
	return rows, nil
}

// TopPages answers the most visited pages: visitors, page views, average time on page
// and average scroll depth (both from engagement events, sent when a page is left).
func (rep *Service) TopPages(ctx context.Context, q Query) ([]Row, error) {
	s, err := rep.scope(ctx, q)
	if err != nil {
		return nil, err
	}
	rows, err := rep.pageRows(ctx, s, s.limit())
	if err == nil {
		rows, err = rep.addImportedPages(ctx, s, rows)
	}
	if err != nil {
		return nil, err
	}
	out := make([]Row, 0, len(rows))
	for _, p := range rows {
		out = append(out, Row{{"page", p.Page}, {"visitors", p.Visitors}, {"pageviews", p.Pageviews},
			{"time_on_page", avg(float64(p.Engaged)/1000, float64(p.Engagements))},
			{"scroll_depth", avg(float64(p.Scroll), float64(p.Engagements))}})
	}
	return out, nil
}

// ScrollDepths are the thresholds of the scroll report.
var ScrollDepths = []int{25, 50, 75, 100}

// Scroll answers how far down page the visitors who viewed it scrolled: the share of
// them that reached 25, 50, 75 and 100 %, after a first row for depth 0 (everyone).
func (rep *Service) Scroll(ctx context.Context, q Query, page string) ([]Row, error) {
	s, err := rep.scope(ctx, q)
	if err != nil {
		return nil, err
	}
	stats := s.pageStats(func(col string) string { return matchPath(col, page) })
	sql, err := render("scroll", struct{ Stats statsData }{stats})
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Visitors uint64 `ch:"n_visitors"`
		R25      uint64 `ch:"n_25"`
		R50      uint64 `ch:"n_50"`
		R75      uint64 `ch:"n_75"`
		R100     uint64 `ch:"n_100"`
	}
	if err := rep.query(ctx, "scroll", &rows, sql); err != nil {
		return nil, err
	}
	var v, r25, r50, r75, r100 uint64
	if len(rows) > 0 {
		v, r25, r50, r75, r100 = rows[0].Visitors, rows[0].R25, rows[0].R50, rows[0].R75, rows[0].R100
	}
	s.scaleUp(&v, &r25, &r50, &r75, &r100)
	out := []Row{{{"depth", 0}, {"visitors", v}, {"share", percent(float64(v), float64(v))}}}
	for i, n := range []uint64{r25, r50, r75, r100} {
		// A visitor counted as scrolling whose page view fell just outside the period
		// must not push a share over 100 %.
		n = min(n, v)
		out = append(out, Row{{"depth", ScrollDepths[i]}, {"visitors", n}, {"share", percent(float64(n), float64(v))}})
	}
	return out, nil
}

// Events answers the custom events: visitors and count per event name, or, when the
// filters name an event, per property key and value of that event.
func (rep *Service) Events(ctx context.Context, q Query) ([]Row, error) {
	s, err := rep.scope(ctx, q)
	if err != nil {
		return nil, err
	}
	event, props := s.Filters.Get(FilterEvent)
	var stats statsData
	rest := s.Filters.Without(FilterEvent)
	if !sampleable("events", s.Filters) {
		s.Sample = 0
	}
	switch {
	case len(rest) == 0:
		where := " AND prop_key = ''"
		if props {
			where = " AND name = " + literal.Quote(event) + " AND prop_key != ''"
		}
		stats, err = s.stats(s.Range, where, true, true)
	case !props:
		// Counts of events by name: from the matching visits' sequences.
		stats = statsData{Site: s.Site, Visits: &visitRowsData{Sessions: s.sessions(s.Range),
			Where: rest.Without(FilterPage).sessionWhere(), PageWhere: s.Filters.pageWhere("p")}}
	default:
		// Properties are only in events.
		stats, err = s.stats(s.Range, " AND prop_key != ''", false, true)
	}
	if err != nil {
		return nil, err
	}
	sql, err := render("events", struct {
		Stats statsData
		Props bool
		Limit int
	}{stats, props, s.limit()})
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Event    string `ch:"event"`
		Property string `ch:"d_property"`
		Value    string `ch:"d_value"`
		Visitors uint64 `ch:"n_visitors"`
		Count    uint64 `ch:"n_count"`
	}
	if err := rep.query(ctx, "events", &rows, sql); err != nil {
		return nil, err
	}
	out := make([]Row, 0, len(rows))
	for _, e := range rows {
		s.scaleUp(&e.Visitors, &e.Count)
		if props {
			out = append(out, Row{{"event", e.Event}, {"property", e.Property}, {"value", e.Value},
				{"visitors", e.Visitors}, {"events", e.Count}})
		} else {
			out = append(out, Row{{"event", e.Event}, {"visitors", e.Visitors}, {"events", e.Count}})
		}
	}
	return out, nil
}

// RealtimeWindow is how far back "now" reaches in the realtime report.
const RealtimeWindow = 5 * time.Minute

// Realtime answers the visitors of the last five minutes and the page each is on now
// (that of their latest event). Filters apply; the period does not.
func (rep *Service) Realtime(ctx context.Context, q Query) (visitors uint64, rows []Row, err error) {
	s, err := rep.scope(ctx, q)
	if err != nil {
		return 0, nil, err
	}
	s.Sample = 0 // five minutes of events (sampleable)
	now := rep.now().UTC()
	window := Range{Start: now.Add(-RealtimeWindow), End: now.Add(time.Second)}
	// A page filter asks who is on that page now: it applies to each visitor's latest
	// page, not to the events before it (which would count someone who has moved on).
	pages := s
	pages.Filters = s.Filters.Without(FilterPage)
	where, err := pages.eventFilter(window, false)
	if err != nil {
		return 0, nil, err
	}
	sql, err := render("realtime", struct {
		Site     string
		From, To time.Time
		Where    string
		Having   string
	}{s.Site, window.Start, window.End, where, strings.TrimPrefix(s.Filters.pageWhere("page"), " AND ")})
	if err != nil {
		return 0, nil, err
	}
	var current []struct {
		Page     string `ch:"page"`
		Visitors uint64 `ch:"n_visitors"`
	}
	if err := rep.query(ctx, "realtime", &current, sql); err != nil {
		return 0, nil, err
	}
	rows = make([]Row, 0, len(current))
	for i, p := range current {
		visitors += p.Visitors
		if i < s.limit() {
			rows = append(rows, Row{{"page", p.Page}, {"visitors", p.Visitors}})
		}
	}
	return visitors, rows, nil
}
