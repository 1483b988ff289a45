package derived

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

// VisitStats are the visits of the sessions table by the UTC hour and day they started:
// mergeable uniq states of visitors and sums, so the overview and time series of a
// month or a year merge a row per day instead of reading every visit. Kept by a
// materialized view on the sessions table, which the finalizer appends to.
var VisitStats = Rollup{
	Base: "visit_stats", Source: SessionsTable, Time: "start_time", Version: 25,
	Where: "pageviews > 0",
	Measures: []Measure{
		{"visitors", "AggregateFunction(uniq, UInt64)", "uniqState(visitor_id)"},
		{"visits", "UInt64", "toUInt64(count())"},
		{"views", "UInt64", "toUInt64(sum(pageviews))"}, // not "pageviews": the alias would hide the column
		{"bounces", "UInt64", "toUInt64(countIf(pageviews = 1))"},
		{"duration", "UInt64", "toUInt64(sum(end_time - start_time))"},
		{"engaged", "UInt64", "toUInt64(sum(engaged_ms))"},
	},
	Buckets: []Bucket{Hourly, Daily},
}

// Rollups is every rollup definition. A table derived from events or visits that is
// not here has no rebuild, and the coverage test (internal/erasure) fails.
var Rollups = []Rollup{PageStats, EventStats, VisitStats}
