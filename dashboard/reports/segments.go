package reports

import "time"

// segment is a piece of a time span answered from one source: the daily rollup, the
// hourly rollup, or the events themselves.
type segment struct {
	Kind     string // "day", "hour" or "raw"
	From, To time.Time
}

// segments splits [start, end) into whole UTC days, whole hours and raw edges, so a
// rollup query reads one row per page per day for most of a period. A period in a
// whole-hour time zone has no raw edges; one in e.g. Asia/Kolkata has two half hours.
func segments(start, end time.Time) []segment {
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
	if d0.Before(d1) {
		if h0.Before(d0) {
			out = append(out, segment{"hour", h0, d0})
		}
		out = append(out, segment{"day", d0, d1})
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

// ceilTo rounds t up to a multiple of d (UTC; d divides a day).
func ceilTo(t time.Time, d time.Duration) time.Time {
	f := t.Truncate(d)
	if f.Equal(t) {
		return t
	}
	return f.Add(d)
}
