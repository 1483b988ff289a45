package reports

import (
	"slices"
	"strings"
	"time"

	"github.com/websystems/loendur/internal/store/literal"
)

// segment is a piece of a time span answered from one source: the monthly, daily or
// hourly rollup, or the events (visits) themselves.
type segment struct {
	Kind     string // "month", "day", "hour" or "raw"
	From, To time.Time
}

// Coarsest segment a span may be split into: a time series bucket must hold every
// rollup row it reads whole, so an hourly series reads no day.
const (
	upToHour  = 1
	upToDay   = 2
	upToMonth = 3
)

// segments splits [start, end) into whole UTC days, whole hours and raw edges, so a
// rollup query reads one row per page per day for most of a period. A period in a
// whole-hour time zone has no raw edges; one in e.g. Asia/Kolkata has two half hours.
func segments(start, end time.Time) []segment { return segmentsUpTo(start, end, upToDay) }

// segmentsUpTo is segments with whole UTC months (upToMonth) or without whole days
// (upToHour).
func segmentsUpTo(start, end time.Time, coarsest int) []segment {
	start, end = start.UTC(), end.UTC()
	if !start.Before(end) {
		return nil
	}
	h0 := ceilTo(start, time.Hour)
	h1 := end.Truncate(time.Hour)
	if !h0.Before(h1) {
		return []segment{{"raw", start, end}}
	}
	var out []segment
	if start.Before(h0) {
		out = append(out, segment{"raw", start, h0})
	}
	d0 := ceilTo(h0, 24*time.Hour)
	d1 := h1.Truncate(24 * time.Hour)
	if coarsest >= upToDay && d0.Before(d1) {
		if h0.Before(d0) {
			out = append(out, segment{"hour", h0, d0})
		}
		out = append(out, daysAndMonths(d0, d1, coarsest)...)
		if d1.Before(h1) {
			out = append(out, segment{"hour", d1, h1})
		}
	} else {
		out = append(out, segment{"hour", h0, h1})
	}
	if h1.Before(end) {
		out = append(out, segment{"raw", h1, end})
	}
	return out
}

// daysAndMonths splits whole UTC days [d0, d1) into days and, when allowed, the whole
// months among them.
func daysAndMonths(d0, d1 time.Time, coarsest int) []segment {
	m0 := firstOfMonth(d0)
	if !m0.Equal(d0) {
		m0 = m0.AddDate(0, 1, 0)
	}
	m1 := firstOfMonth(d1)
	if coarsest < upToMonth || !m0.Before(m1) {
		return []segment{{"day", d0, d1}}
	}
	var out []segment
	if d0.Before(m0) {
		out = append(out, segment{"day", d0, m0})
	}
	out = append(out, segment{"month", m0, m1})
	if m1.Before(d1) {
		out = append(out, segment{"day", m1, d1})
	}
	return out
}

func firstOfMonth(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// withoutHours makes hour segments raw, for rollups kept by day and month only.
func withoutHours(segs []segment) []segment {
	out := make([]segment, len(segs))
	for i, s := range segs {
		if s.Kind == "hour" {
			s.Kind = "raw"
		}
		out[i] = s
	}
	return coalesce(out)
}

// coalesce joins neighbouring segments of one kind.
func coalesce(segs []segment) []segment {
	var out []segment
	for _, s := range segs {
		if n := len(out); n > 0 && out[n-1].Kind == s.Kind && out[n-1].To.Equal(s.From) {
			out[n-1].To = s.To
			continue
		}
		out = append(out, s)
	}
	return out
}

// ceilTo rounds t up to a multiple of d (UTC; d divides a day).
func ceilTo(t time.Time, d time.Duration) time.Time {
	f := t.Truncate(d)
	if f.Equal(t) {
		return t
	}
	return f.Add(d)
}

// kindSpans are the segments of one kind.
type kindSpans struct {
	Kind  string
	Spans []segment
}

// byKind groups segments by kind, in the order each kind first appears: a query reads
// each rollup once for all its spans.
func byKind(segs []segment) []kindSpans {
	var out []kindSpans
	for _, s := range segs {
		i := slices.IndexFunc(out, func(k kindSpans) bool { return k.Kind == s.Kind })
		if i < 0 {
			out = append(out, kindSpans{Kind: s.Kind})
			i = len(out) - 1
		}
		out[i].Spans = append(out[i].Spans, s)
	}
	return out
}

// spans is the condition that col lies in one of the segments: a Date column (day,
// month) compares with dates, any other with times.
func spans(segs []segment, col string) string {
	parts := make([]string, len(segs))
	for i, s := range segs {
		from, to := literal.DateTime(s.From), literal.DateTime(s.To)
		if col == "day" || col == "month" {
			from, to = literal.Date(s.From), literal.Date(s.To)
		}
		parts[i] = "(" + col + " >= " + from + " AND " + col + " < " + to + ")"
	}
	return strings.Join(parts, " OR ")
}
