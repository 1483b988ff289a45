package reports

import (
	"context"
	"strings"
	"time"

	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/store/literal"
)

// visitsData feeds the queries over visits (overview, timeseries, dimension, funnel).
type visitsData struct {
	Sessions sessionsData
	Where    string // filters on the visit's columns
	Views    string // what a visit counts as page views
	TZ       string
	Dims     []string // dimension.sql: the columns grouped by (trusted identifiers)
	Order    string   // dimension.sql: ORDER BY (trusted)
	Limit    int
	Steps    []string // funnel.sql: a condition on (n, p), the event name and path, per step
	Bucket   string   // timeseries.sql: the bucket key of start_time (bucketExpr, trusted)
}

func (s scope) visitsData(rg Range) visitsData {
	return visitsData{Sessions: s.sessions(rg), Where: s.Filters.sessionWhere(), Views: s.views(),
		TZ: s.Location.String(), Limit: s.limit()}
}

// views is what a visit counts as page views: all of them, or under a page filter
// only those of the matching pages.
func (s scope) views() string {
	var conds []string
	for _, f := range s.Filters {
		if f.Key == FilterPage {
			conds = append(conds, f.cond("p"))
		}
	}
	if len(conds) == 0 {
		return "pageviews"
	}
	return "arrayCount((n, p) -> n = 'pageview' AND " + strings.Join(conds, " AND ") + ", seq_names, seq_paths)"
}

// visitTotals are the sums over a set of visits.
type visitTotals struct {
	Bucket    uint32 `ch:"bucket"`
	Visitors  uint64 `ch:"n_visitors"`
	Visits    uint64 `ch:"n_visits"`
	Pageviews uint64 `ch:"n_pageviews"`
	Bounces   uint64 `ch:"n_bounces"`
	Duration  uint64 `ch:"sum_duration"`
	Engaged   uint64 `ch:"sum_engaged"`
}

func (t *visitTotals) scaleUp(s scope) {
	s.scaleUp(&t.Visitors, &t.Visits, &t.Pageviews, &t.Bounces, &t.Duration, &t.Engaged)
}

func (t visitTotals) bounceRate() float64    { return percent(float64(t.Bounces), float64(t.Visits)) }
func (t visitTotals) visitDuration() float64 { return avg(float64(t.Duration), float64(t.Visits)) }
func (t visitTotals) engagedTime() float64   { return avg(float64(t.Engaged)/1000, float64(t.Visits)) }
func (t visitTotals) viewsPerVisit() float64 {
	if t.Visits == 0 {
		return 0
	}
	return float64(int(100*float64(t.Pageviews)/float64(t.Visits)+0.5)) / 100
}

// Metric is one overview figure with the previous period's value.
type Metric struct {
	Value    float64 `json:"value"`
	Previous float64 `json:"previous"`
	// Change is the percent change from Previous (for bounce_rate: the difference in
	// percentage points); null when there is nothing to compare with.
	Change *float64 `json:"change"`
}

// OverviewMetrics are the headline figures of a period.
type OverviewMetrics struct {
	Visitors      Metric `json:"visitors"`        // unique visitors
	Visits        Metric `json:"visits"`          // visits (sessions) with a page view
	Pageviews     Metric `json:"pageviews"`       // page views of those visits
	ViewsPerVisit Metric `json:"views_per_visit"` // pageviews / visits
	BounceRate    Metric `json:"bounce_rate"`     // % of visits with a single page view
	VisitDuration Metric `json:"visit_duration"`  // seconds from a visit's first to last event, average
	EngagedTime   Metric `json:"engaged_time"`    // seconds the pages were visible per visit, average
}

func metric(cur, prev float64, points bool) Metric {
	m := Metric{Value: cur, Previous: prev}
	switch {
	case points:
		c := round1(cur - prev)
		m.Change = &c
	case prev != 0:
		c := round1(100 * (cur - prev) / prev)
		m.Change = &c
	}
	return m
}

// rows lists the metrics for CSV export.
func (o OverviewMetrics) rows() []Row {
	var out []Row
	for _, m := range []struct {
		name string
		m    Metric
	}{{"visitors", o.Visitors}, {"visits", o.Visits}, {"pageviews", o.Pageviews}, {"views_per_visit", o.ViewsPerVisit},
		{"bounce_rate", o.BounceRate}, {"visit_duration", o.VisitDuration}, {"engaged_time", o.EngagedTime}} {
		out = append(out, Row{{"metric", m.name}, {"value", m.m.Value}, {"previous", m.m.Previous}, {"change", m.m.Change}})
	}
	return out
}

// Overview answers the headline figures for q's range and the one before it.
func (rep *Service) Overview(ctx context.Context, q Query) (OverviewMetrics, error) {
	s, err := rep.scope(ctx, q)
	if err != nil {
		return OverviewMetrics{}, err
	}
	cur, err := rep.visitTotals(ctx, s, q.Range)
	if err != nil {
		return OverviewMetrics{}, err
	}
	var prev visitTotals
	before, compare := q.previous()
	if compare {
		if prev, err = rep.visitTotals(ctx, s, before); err != nil {
			return OverviewMetrics{}, err
		}
	}
	m := func(c, p float64, points bool) Metric {
		if !compare {
			return Metric{Value: c}
		}
		return metric(c, p, points)
	}
	return OverviewMetrics{
		Visitors:      m(float64(cur.Visitors), float64(prev.Visitors), false),
		Visits:        m(float64(cur.Visits), float64(prev.Visits), false),
		Pageviews:     m(float64(cur.Pageviews), float64(prev.Pageviews), false),
		ViewsPerVisit: m(cur.viewsPerVisit(), prev.viewsPerVisit(), false),
		BounceRate:    m(cur.bounceRate(), prev.bounceRate(), true),
		VisitDuration: m(cur.visitDuration(), prev.visitDuration(), false),
		EngagedTime:   m(cur.engagedTime(), prev.engagedTime(), false),
	}, nil
}

// visitStatsData feeds visit_stats.sql: visit figures from the mergeable visit states
// (per UTC month, day and hour), the sessions table and events.
type visitStatsData struct {
	Site     string
	Segments []segment
	Done     time.Time
	Live     string // derived.VisitSpan.Query of the visits not yet written, or ""
	TZ       string
	Bucket   string // timeseries_stats.sql: the bucket key of toDateTime(t) (bucketExpr, trusted)
	// RawBucket is Bucket's key of a visit's start_time, for the raw rows (trusted);
	// "": they are not needed by time.
	RawBucket string
	Table     string // the rollup's name without its bucket: visit_stats, visit_dim_stats, visit_page_stats
	RowWhere  string // " AND …" choosing the rollup's rows (trusted: literals only)
	Keys      []string
	RawKeys   []string // Keys computed from a visit's columns
	RawWhere  string   // " AND …" choosing visits (Filters.sessionWhere)
	Views     string   // what a visit counts as page views
	Order     string   // dimension_stats.sql: ORDER BY (trusted)
	Limit     int
}

// visitRollup is the visit rollup that answers a report under fs, the condition that
// chooses its rows and whether it has hourly rows; ok is false when no rollup does
// (several filters, a pattern, "is not", "contains", an event filter).
func visitRollup(fs Filters) (table, where string, hourly, ok bool) {
	switch {
	case len(fs) == 0:
		return derived.VisitStats.Base, "", true, true
	case len(fs) > 1 || fs[0].Op != OpIs || strings.Contains(fs[0].Value, "*"):
		return "", "", false, false
	case fs[0].Key == FilterPage:
		return derived.VisitPageStats.Base, " AND page = " + literal.Quote(fs[0].Value), false, true
	}
	col, ok := dimValueColumn[fs[0].Key]
	if !ok {
		return "", "", false, false
	}
	return derived.VisitDimStats.Base, " AND dim = " + literal.Quote(fs[0].Key) + " AND " + col + " = " + literal.Quote(fs[0].Value), false, true
}

// dimValueColumn is the visit_dim_stats column that holds each dimension's own value
// (a region's and a city's come after their country's, see derived.VisitDimensions).
var dimValueColumn = map[string]string{
	FilterEntryPage: "v0", FilterExitPage: "v0", FilterSource: "v0", FilterReferrer: "v0",
	FilterUTMSource: "v0", FilterUTMMedium: "v0", FilterUTMCampaign: "v0", FilterCountry: "v0",
	FilterRegion: "v1", FilterCity: "v2", FilterDevice: "v0", FilterBrowser: "v0", FilterOS: "v0",
}

// visitStats describes rg's visits, split into segs, for the mergeable visit states;
// false when the filters need the visits themselves, and when sampled: the visit
// sample has no rollups, whose uniq states are the cost sampling avoids.
func (s scope) visitStats(rg Range, segs []segment) (visitStatsData, bool) {
	table, where, hourly, ok := visitRollup(s.Filters)
	if !ok || s.sampled() {
		return visitStatsData{}, false
	}
	if !hourly {
		segs = withoutHours(segs)
	}
	return visitStatsData{Site: s.Site, Segments: segs, Done: s.done, Live: s.sessions(rg).Live,
		TZ: s.Location.String(), Table: table, RowWhere: where,
		RawWhere: s.Filters.sessionWhere(), Views: s.views(), Limit: s.limit()}, true
}

// dimensionStats describes the breakdown of rg's visits by dim for the per-day visit
// states of each dimension value; false under filters (they need the visits) and when
// sampled.
func (s scope) dimensionStats(rg Range, dim dimension, order string) (visitStatsData, bool) {
	rowWhere, rawWhere, ok := exitPagesOnly(s.Filters, dim)
	if !ok || s.sampled() {
		return visitStatsData{}, false
	}
	data := visitStatsData{Site: s.Site, Segments: withoutHours(segmentsUpTo(rg.Start, rg.End, upToMonth)), Done: s.done,
		Live: s.sessions(rg).Live, TZ: s.Location.String(), Table: derived.VisitDimStats.Base,
		RowWhere: " AND dim = " + literal.Quote(dim.key) + rowWhere, RawWhere: rawWhere, Keys: []string{"v0", "v1", "v2"},
		Views: "pageviews", Order: order, Limit: s.limit()}
	data.RawKeys = append(data.RawKeys, dim.columns...)
	for len(data.RawKeys) < 3 {
		data.RawKeys = append(data.RawKeys, "''")
	}
	return data, true
}

// exitPagesOnly reads the filters of a breakdown for the per-dimension states: none,
// or (for exit pages, where a page filter chooses the rows, see ExitPages) pages by
// their exact path. ok is false when the visits themselves are needed.
func exitPagesOnly(fs Filters, dim dimension) (rowWhere, rawWhere string, ok bool) {
	if len(fs) == 0 {
		return "", "", true
	}
	if dim.key != FilterExitPage {
		return "", "", false
	}
	for _, f := range fs {
		if f.Key != FilterPage || f.Op != OpIs || strings.Contains(f.Value, "*") {
			return "", "", false
		}
	}
	return fs.pageWhere("v0"), fs.pageWhere("exit_page"), true
}

// seriesSegments splits rg into segments that each lie within one bucket of the
// interval in loc, so every rollup row a bucket reads is wholly its own.
func seriesSegments(rg Range, interval string, loc *time.Location) []segment {
	if interval == IntervalHour {
		return segmentsUpTo(rg.Start, rg.End, upToHour)
	}
	var segs []segment
	for b := rg.Start; b.Before(rg.End); {
		next := nextBucket(b, interval, loc)
		if next.After(rg.End) {
			next = rg.End
		}
		segs = append(segs, segmentsUpTo(b, next, upToMonth)...)
		b = next
	}
	return coalesce(segs)
}

// nextBucket is the start of the local day, week (Monday) or month after t's.
func nextBucket(t time.Time, interval string, loc *time.Location) time.Time {
	l := t.In(loc)
	switch interval {
	case IntervalWeek:
		return time.Date(l.Year(), l.Month(), l.Day()+7-(int(l.Weekday())+6)%7, 0, 0, 0, 0, loc)
	case IntervalMonth:
		return time.Date(l.Year(), l.Month()+1, 1, 0, 0, 0, 0, loc)
	default:
		return time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc)
	}
}

// wholeHours says whether every bucket of rg's time series (local hours or days)
// begins on a whole UTC hour, as the hourly visit states need (not so in e.g.
// Asia/Kolkata).
func wholeHours(rg Range) bool {
	for d := rg.From; !d.After(rg.To); d = d.AddDate(0, 0, 1) {
		if d.Unix()%3600 != 0 {
			return false
		}
	}
	return rg.End.Unix()%3600 == 0
}

func (rep *Service) visitTotals(ctx context.Context, s scope, rg Range) (visitTotals, error) {
	var sql string
	var err error
	if data, ok := s.visitStats(rg, segmentsUpTo(rg.Start, rg.End, upToMonth)); ok {
		sql, err = render("overview_stats", data)
	} else {
		sql, err = render("overview", s.visitsData(rg))
	}
	if err != nil {
		return visitTotals{}, err
	}
	var rows []visitTotals
	if err := rep.query(ctx, "overview", &rows, sql); err != nil {
		return visitTotals{}, err
	}
	if len(rows) == 0 {
		rows = append(rows, visitTotals{})
	}
	rows[0].scaleUp(s)
	return rep.addImportedTotals(ctx, s, rg, rows[0])
}

// Timeseries answers the visits of q's range by q's interval (hour, day, week or
// month), every bucket present: zero when it had no visit, null when it has not begun
// yet (the rest of today), each beside the bucket at the same position in the range
// compared with (unless comparison is off).
func (rep *Service) Timeseries(ctx context.Context, q Query) ([]Row, error) {
	s, err := rep.scope(ctx, q)
	if err != nil {
		return nil, err
	}
	iv := q.interval()
	cur, err := rep.series(ctx, s, q.Range, iv)
	if err != nil {
		return nil, err
	}
	before, compare := q.previous()
	var prev []bucket
	if compare {
		if prev, err = rep.series(ctx, s, before, iv); err != nil {
			return nil, err
		}
	}
	now := rep.now()
	out := make([]Row, len(cur))
	for i, c := range cur {
		row := Row{{"date", c.label}}
		row = append(row, c.fields("", c.start.After(now))...)
		if compare {
			var p bucket
			if i < len(prev) {
				p = prev[i]
			}
			row = append(row, Field{"previous_date", p.label})
			row = append(row, p.fields("previous_", p.label == "")...)
		}
		out[i] = row
	}
	return out, nil
}

type bucket struct {
	label string
	start time.Time
	visitTotals
}

// fields are the figures of a bucket, each name after prefix; null when future.
func (b bucket) fields(prefix string, future bool) []Field {
	f := []Field{{"visitors", b.Visitors}, {"visits", b.Visits}, {"pageviews", b.Pageviews},
		{"views_per_visit", b.viewsPerVisit()}, {"bounce_rate", b.bounceRate()}, {"visit_duration", b.visitDuration()}}
	for i := range f {
		f[i].Name = prefix + f[i].Name
		if future {
			f[i].Value = nil
		}
	}
	return f
}

// bucketExpr is the SQL of a bucket's key for a time column: Unix seconds of the local
// hour or day, or the day number (days since 1970-01-01) of the local Monday or first
// of the month. Built from constants and a quoted zone only.
func bucketExpr(interval, col, tz string) string {
	zone := literal.Quote(tz)
	switch interval {
	case IntervalHour:
		return "toUInt32(toUnixTimestamp(toStartOfHour(" + col + ", " + zone + ")))"
	case IntervalWeek:
		return "toUInt32(toMonday(" + col + ", " + zone + "))"
	case IntervalMonth:
		return "toUInt32(toStartOfMonth(" + col + ", " + zone + "))"
	default:
		return "toUInt32(toUnixTimestamp(toStartOfDay(" + col + ", " + zone + ")))"
	}
}

// dayNumber is the day number of a local date, as bucketExpr gives for weeks and months.
func dayNumber(d time.Time) int64 {
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// series runs timeseries.sql and fills the buckets of rg that had no visit.
func (rep *Service) series(ctx context.Context, s scope, rg Range, interval string) ([]bucket, error) {
	var sql string
	var err error
	if data, ok := s.visitStats(rg, seriesSegments(rg, interval, s.Location)); ok && wholeHours(rg) {
		data.Bucket = bucketExpr(interval, "toDateTime(t)", data.TZ)
		data.RawBucket = bucketExpr(interval, "start_time", data.TZ)
		sql, err = render("timeseries_stats", data)
	} else {
		data := s.visitsData(rg)
		data.Bucket = bucketExpr(interval, "start_time", data.TZ)
		sql, err = render("timeseries", data)
	}
	if err != nil {
		return nil, err
	}
	var rows []visitTotals
	if err := rep.query(ctx, "timeseries", &rows, sql); err != nil {
		return nil, err
	}
	got := make(map[int64]visitTotals, len(rows))
	for _, row := range rows {
		row.scaleUp(s)
		got[int64(row.Bucket)] = row
	}
	if err := rep.addImportedSeries(ctx, s, rg, got); err != nil {
		return nil, err
	}
	var out []bucket
	switch interval {
	case IntervalHour:
		for t := rg.Start; t.Before(rg.End); t = t.Add(time.Hour) {
			out = append(out, bucket{t.In(s.Location).Format(time.RFC3339), t, got[t.Unix()]})
		}
	case IntervalWeek, IntervalMonth:
		first := rg.From.AddDate(0, 0, -((int(rg.From.Weekday()) + 6) % 7))
		step := func(d time.Time) time.Time { return d.AddDate(0, 0, 7) }
		if interval == IntervalMonth {
			first = time.Date(rg.From.Year(), rg.From.Month(), 1, 0, 0, 0, 0, rg.From.Location())
			step = func(d time.Time) time.Time { return d.AddDate(0, 1, 0) }
		}
		for d := first; !d.After(rg.To); d = step(d) {
			out = append(out, bucket{d.Format(dateLayout), d, got[dayNumber(d)]})
		}
	default:
		for d := rg.From; !d.After(rg.To); d = d.AddDate(0, 0, 1) {
			out = append(out, bucket{d.Format(dateLayout), d, got[d.Unix()]})
		}
	}
	return out, nil
}
