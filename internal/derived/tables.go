package derived

import "slices"

// Source tables of the derived data.
const (
	EventsTable   = "events"
	SessionsTable = "sessions"
)

// scrollReached is the uniq state of visitors whose engagement with a page reached pct %.
func scrollReached(pct string) Measure {
	return Measure{"reached_" + pct, "AggregateFunction(uniqIf, UInt64, UInt8)",
		"uniqIfState(visitor_id, name = 'engagement' AND scroll >= " + pct + ")"}
}

// PageStats are page views and engagement per page. Top pages, exit rates and scroll
// drop-off read them for the whole hours and days of a period, events only for its
// ragged edges. Visitors are uniq sketches (hashes of visitor ids, no way back to one).
var PageStats = Rollup{
	Base: "page_stats", Source: EventsTable, Time: "timestamp", Version: 22,
	Keys:  []Column{{"pathname", "String"}},
	Where: "name IN ('pageview', 'engagement')",
	Measures: []Measure{
		{"visitors", "AggregateFunction(uniqIf, UInt64, UInt8)", "uniqIfState(visitor_id, name = 'pageview')"},
		{"pageviews", "UInt64", "toUInt64(countIf(name = 'pageview'))"},
		{"engagements", "UInt64", "toUInt64(countIf(name = 'engagement'))"},
		{"engaged_total", "UInt64", "toUInt64(sumIf(engaged_ms, name = 'engagement'))"},
		{"scroll_total", "UInt64", "toUInt64(sumIf(scroll, name = 'engagement'))"},
		scrollReached("25"), scrollReached("50"), scrollReached("75"), scrollReached("100"),
	},
	Buckets: []Bucket{Hourly, Daily},
	Later:   []LaterBucket{{Monthly, 83}},
}

// EventStats are custom events per name and per property key and value. The row with
// prop_key = ” counts the events themselves; each property pair adds a row.
var EventStats = Rollup{
	Base: "event_stats", Source: EventsTable, Time: "timestamp", Version: 23,
	Keys:      []Column{{"name", "String"}, {"prop_key", "String"}, {"prop_value", "String"}},
	KeyExprs:  []string{"", "tupleElement(prop, 1)", "tupleElement(prop, 2)"},
	ArrayJoin: "arrayMap((k, v) -> tuple(k, v), arrayConcat([''], prop_keys), arrayConcat([''], prop_values)) AS prop",
	Where:     "name NOT IN ('pageview', 'engagement')",
	Measures: []Measure{
		{"visitors", "AggregateFunction(uniq, UInt64)", "uniqState(visitor_id)"},
		{"events", "UInt64", "toUInt64(count())"},
	},
	Buckets: []Bucket{Hourly, Daily},
}

// visitMeasures are the figures of a set of visits: mergeable uniq states of visitors
// and sums, so the overview and time series of a month or a year merge a row per day
// or month instead of reading every visit.
var visitMeasures = []Measure{
	{"visitors", "AggregateFunction(uniq, UInt64)", "uniqState(visitor_id)"},
	{"visits", "UInt64", "toUInt64(count())"},
	{"views", "UInt64", "toUInt64(sum(pageviews))"}, // not "pageviews": the alias would hide the column
	{"bounces", "UInt64", "toUInt64(countIf(pageviews = 1))"},
	{"duration", "UInt64", "toUInt64(sum(end_time - start_time))"},
	{"engaged", "UInt64", "toUInt64(sum(engaged_ms))"},
}

// withViews is visitMeasures with views computed by expr instead.
func withViews(expr string) []Measure {
	out := slices.Clone(visitMeasures)
	for i := range out {
		if out[i].Name == "views" {
			out[i].Expr = expr
		}
	}
	return out
}

// VisitStats are the visits of the sessions table by the UTC hour, day and month they
// started. Kept by a materialized view on the sessions table, which the finalizer
// appends to.
var VisitStats = Rollup{
	Base: "visit_stats", Source: SessionsTable, Time: "start_time", Version: 25,
	Where:    "pageviews > 0",
	Measures: visitMeasures,
	Buckets:  []Bucket{Hourly, Daily},
	Later:    []LaterBucket{{Monthly, 82}},
}

// VisitDimensions are the visit columns a visit is broken down and filtered by, as
// (dimension, v0, v1, v2): a location is the country, region and city together, so a
// city is told from one of the same name elsewhere. The names are the reports' filter
// keys.
const VisitDimensions = `[('entry_page', entry_page, '', ''), ('exit_page', exit_page, '', ''),
		('source', referrer_source, '', ''), ('referrer', referrer_host, '', ''),
		('utm_source', utm_source, '', ''), ('utm_medium', utm_medium, '', ''), ('utm_campaign', utm_campaign, '', ''),
		('country', country_code, '', ''), ('region', country_code, region, ''), ('city', country_code, region, city),
		('device', device, '', ''), ('browser', browser, '', ''), ('os', os, '', '')] AS dim_row`

// VisitDimStats are VisitStats per value of each visit dimension: the breakdowns of
// visits (sources, locations, devices, entry and exit pages) and the overview under
// one such filter, per UTC day and month. No hourly rows: a day has as many as it has
// cities and pages, so the ragged edges of a period read the visits themselves.
var VisitDimStats = Rollup{
	Base: "visit_dim_stats", Source: SessionsTable, Time: "start_time", Version: 80,
	Keys:        []Column{{"dim", "String"}, {"v0", "String"}, {"v1", "String"}, {"v2", "String"}},
	KeyExprs:    []string{"tupleElement(dim_row, 1)", "tupleElement(dim_row, 2)", "tupleElement(dim_row, 3)", "tupleElement(dim_row, 4)"},
	ArrayJoin:   VisitDimensions,
	Where:       "pageviews > 0",
	Measures:    visitMeasures,
	Buckets:     []Bucket{Daily, Monthly},
	LeadKeys:    1,
	Granularity: 1024,
}

// VisitPageStats are the visits that viewed each page (a visit counts once per page it
// viewed), with the views of that page: the overview and time series under a page
// filter.
var VisitPageStats = Rollup{
	Base: "visit_page_stats", Source: SessionsTable, Time: "start_time", Version: 81,
	Keys:        []Column{{"page", "String"}},
	KeyExprs:    []string{"visited"},
	ArrayJoin:   "arrayDistinct(arrayFilter((p, n) -> n = 'pageview', seq_paths, seq_names)) AS visited",
	Where:       "pageviews > 0",
	Measures:    withViews("toUInt64(sum(arrayCount((n, p) -> n = 'pageview' AND p = visited, seq_names, seq_paths)))"),
	Buckets:     []Bucket{Daily, Monthly},
	LeadKeys:    1,
	Granularity: 1024,
}

// Rollups is every rollup definition. A table derived from events or visits that is
// not here has no rebuild, and the coverage test (internal/erasure) fails.
var Rollups = []Rollup{PageStats, EventStats, VisitStats, VisitDimStats, VisitPageStats}
