package reports

import (
	"time"

	"github.com/websystems/loendur/internal/httperr"
)

// Period names accepted in ?period=. The aliases (today, thismonth) are what the UI sends.
const (
	PeriodDay       = "day"
	PeriodToday     = "today"
	PeriodYesterday = "yesterday"
	Period7d        = "7d"
	Period30d       = "30d"
	PeriodMonth     = "month"
	PeriodThisMonth = "thismonth"
	PeriodLastMonth = "lastmonth"
	Period12mo      = "12mo"
	PeriodCustom    = "custom"

	// MaxCustomDays bounds a custom range: a little over the longest retention.
	MaxCustomDays = 3 * 366
)

const dateLayout = "2006-01-02"

// Range is a span of whole days in a site's time zone: From and To are local dates,
// both included. Start and End are the instants it covers, End excluded.
type Range struct {
	From, To   time.Time // local midnight of the first and of the last day
	Start, End time.Time // UTC instants: Start = From, End = the midnight after To
}

// Days is the number of calendar days in the range.
func (r Range) Days() int {
	return int(dateOnly(r.To).Sub(dateOnly(r.From)).Hours()/24+0.5) + 1
}

// Hourly says whether the range's time series is by hour (a single day) or by day.
func (r Range) Hourly() bool { return r.Days() == 1 }

// dateOnly drops the zone so day arithmetic is immune to DST changes.
func dateOnly(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func newRange(from, to time.Time, loc *time.Location) Range {
	f := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, loc)
	t := time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, loc)
	end := time.Date(to.Year(), to.Month(), to.Day()+1, 0, 0, 0, 0, loc)
	return Range{From: f, To: t, Start: f.UTC(), End: end.UTC()}
}

// Previous is the range of the same number of days that ends the day before r.
func (r Range) Previous() Range {
	n := r.Days()
	loc := r.From.Location()
	to := r.From.AddDate(0, 0, -1)
	from := r.From.AddDate(0, 0, -n)
	return newRange(from, to, loc)
}

// YearBefore is the same dates a year earlier (29 February becomes 1 March).
func (r Range) YearBefore() Range {
	return newRange(r.From.AddDate(-1, 0, 0), r.To.AddDate(-1, 0, 0), r.From.Location())
}

// Comparisons of ?compare=: what the period is compared with.
const (
	ComparePrevious = "previous" // the same number of days just before (the default)
	CompareYear     = "year"     // the same dates a year earlier
	CompareOff      = "off"      // nothing: no previous figures, no change
)

// Intervals of a time series (?interval=): the length of its buckets.
const (
	IntervalHour  = "hour"
	IntervalDay   = "day"
	IntervalWeek  = "week" // weeks start on Monday
	IntervalMonth = "month"
)

// DefaultInterval is the bucket a range is shown in unless asked otherwise: hours
// for one day, months beyond about two months, days in between.
func (r Range) DefaultInterval() string {
	switch n := r.Days(); {
	case n == 1:
		return IntervalHour
	case n > 62:
		return IntervalMonth
	default:
		return IntervalDay
	}
}

// Intervals lists the buckets that make sense for r: hours for one day only, weeks
// from two weeks, months from two months, days up to about 13 months.
func (r Range) Intervals() []string {
	n := r.Days()
	if n == 1 {
		return []string{IntervalHour}
	}
	var out []string
	if n <= 400 {
		out = append(out, IntervalDay)
	}
	if n >= 14 {
		out = append(out, IntervalWeek)
	}
	if n >= 60 {
		out = append(out, IntervalMonth)
	}
	return out
}

// Period is a parsed ?period= with its current and comparison ranges.
type Period struct {
	Name     string
	Location *time.Location
	Current  Range
	Previous Range
}

// badRequest is an error caused by the request: the API answers it with 400 and
// this message.
func badRequest(format string, args ...any) error {
	return httperr.Invalid(format, args...)
}

// ParsePeriod turns ?period=&from=&to= into ranges in loc, as of now.
func ParsePeriod(name, from, to string, loc *time.Location, now time.Time) (Period, error) {
	local := now.In(loc)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	var cur Range
	switch name {
	case "", PeriodDay, PeriodToday:
		name = PeriodDay
		cur = newRange(today, today, loc)
	case PeriodYesterday:
		y := today.AddDate(0, 0, -1)
		cur = newRange(y, y, loc)
	case Period7d:
		cur = newRange(today.AddDate(0, 0, -6), today, loc)
	case Period30d:
		cur = newRange(today.AddDate(0, 0, -29), today, loc)
	case PeriodMonth, PeriodThisMonth:
		name = PeriodMonth
		cur = newRange(time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, loc), today, loc)
	case PeriodLastMonth:
		first := time.Date(today.Year(), today.Month()-1, 1, 0, 0, 0, 0, loc)
		cur = newRange(first, first.AddDate(0, 1, -1), loc)
	case Period12mo:
		cur = newRange(time.Date(today.Year(), today.Month()-11, 1, 0, 0, 0, 0, loc), today, loc)
	case PeriodCustom:
		f, err := parseDate("from", from, loc)
		if err != nil {
			return Period{}, err
		}
		t, err := parseDate("to", to, loc)
		if err != nil {
			return Period{}, err
		}
		if t.Before(f) {
			return Period{}, badRequest("period=custom: from (%s) is after to (%s)", from, to)
		}
		cur = newRange(f, t, loc)
		if cur.Days() > MaxCustomDays {
			return Period{}, badRequest("period=custom: at most %d days", MaxCustomDays)
		}
	default:
		return Period{}, badRequest("unknown period %q: use day, today, yesterday, 7d, 30d, month, thismonth, lastmonth, 12mo or custom (with from and to as YYYY-MM-DD)", name)
	}
	return Period{Name: name, Location: loc, Current: cur, Previous: cur.Previous()}, nil
}

func parseDate(param, v string, loc *time.Location) (time.Time, error) {
	if v == "" {
		return time.Time{}, badRequest("period=custom needs %s=YYYY-MM-DD", param)
	}
	t, err := time.ParseInLocation(dateLayout, v, loc)
	if err != nil {
		return time.Time{}, badRequest("%s=%q is not a date: use YYYY-MM-DD", param, v)
	}
	if t.Year() < 2000 || t.Year() > 2200 {
		return time.Time{}, badRequest("%s=%q is out of range", param, v)
	}
	return t, nil
}

// loadLocation resolves a site's time zone; an unknown name falls back to UTC.
func loadLocation(name string) (*time.Location, bool) {
	if name == "" {
		return time.UTC, true
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		// "Local" means this host's zone to Go and nothing to ClickHouse.
		return time.UTC, false
	}
	return loc, true
}
