package reports

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/httperr"
)

func TestParsePeriod(t *testing.T) {
	tallinn, _ := time.LoadLocation("Europe/Tallinn")
	// 23:30 UTC on 14 March is already the 15th in Tallinn (UTC+2).
	now := time.Date(2024, 3, 14, 23, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		name, from, to string
		want           string // current from..to, previous from..to
	}{
		{"day", "", "", "2024-03-15..2024-03-15 2024-03-14..2024-03-14"},
		{"today", "", "", "2024-03-15..2024-03-15 2024-03-14..2024-03-14"},
		{"", "", "", "2024-03-15..2024-03-15 2024-03-14..2024-03-14"},
		{"yesterday", "", "", "2024-03-14..2024-03-14 2024-03-13..2024-03-13"},
		{"7d", "", "", "2024-03-09..2024-03-15 2024-03-02..2024-03-08"},
		{"30d", "", "", "2024-02-15..2024-03-15 2024-01-16..2024-02-14"},
		{"month", "", "", "2024-03-01..2024-03-15 2024-02-15..2024-02-29"},
		{"thismonth", "", "", "2024-03-01..2024-03-15 2024-02-15..2024-02-29"},
		{"lastmonth", "", "", "2024-02-01..2024-02-29 2024-01-03..2024-01-31"},
		{"12mo", "", "", "2023-04-01..2024-03-15 2022-04-16..2023-03-31"},
		{"custom", "2024-01-10", "2024-01-12", "2024-01-10..2024-01-12 2024-01-07..2024-01-09"},
	} {
		p, err := ParsePeriod(c.name, c.from, c.to, tallinn, now)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		r := rangeJSON(p.Current)
		prev := rangeJSON(p.Previous)
		if got := r.From + ".." + r.To + " " + prev.From + ".." + prev.To; got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
		if p.Current.Days() != p.Previous.Days() {
			t.Errorf("%s: %d days compared with %d", c.name, p.Current.Days(), p.Previous.Days())
		}
	}
	// The instants are local midnights: the 15th in Tallinn starts at 22:00 UTC on the 14th.
	p, _ := ParsePeriod("day", "", "", tallinn, now)
	if p.Current.Start != time.Date(2024, 3, 14, 22, 0, 0, 0, time.UTC) || p.Current.End != time.Date(2024, 3, 15, 22, 0, 0, 0, time.UTC) {
		t.Errorf("day instants %v..%v", p.Current.Start, p.Current.End)
	}
	// A day with a DST change has 23 hours; the range still ends at the next local midnight.
	p, _ = ParsePeriod("custom", "2024-03-31", "2024-03-31", tallinn, now)
	if h := p.Current.End.Sub(p.Current.Start); h != 23*time.Hour || !p.Current.Hourly() {
		t.Errorf("DST day lasts %v", h)
	}
	for _, bad := range [][3]string{
		{"fortnight", "", ""}, {"custom", "", "2024-01-01"}, {"custom", "2024-01-02", "2024-01-01"},
		{"custom", "2024-1-1", "2024-01-02"}, {"custom", "1999-01-01", "2024-01-02"}, {"custom", "2020-01-01", "2024-01-02"},
	} {
		_, err := ParsePeriod(bad[0], bad[1], bad[2], tallinn, now)
		if e, ok := httperr.As(err); !ok || e.Status != http.StatusBadRequest {
			t.Errorf("%v: err %v, want a bad request", bad, err)
		}
	}
}

func TestParseFilters(t *testing.T) {
	fs, err := ParseFilters("page==/blog/*;country==EE;source==")
	if err != nil {
		t.Fatal(err)
	}
	if got := fs.String(); got != "page==/blog/*;country==EE;source==" {
		t.Errorf("round trip: %s", got)
	}
	if got := fs.sessionWhere(); got != ` AND arrayExists((n, p) -> n = 'pageview' AND p LIKE '/blog/%', seq_names, seq_paths)`+
		` AND country_code = 'EE' AND referrer_source = ''` {
		t.Errorf("session where: %s", got)
	}
	direct, visit := fs.split(false)
	if direct != ` AND pathname LIKE '/blog/%' AND country_code = 'EE'` || visit.String() != "source==" {
		t.Errorf("split: %q, %q", direct, visit)
	}
	for _, bad := range []string{"colour==red", "country", "country==E*", "page==pricing", "page==" + strings.Repeat("x", 600),
		strings.Repeat("country==EE;", 11)} {
		if _, err := ParseFilters(bad); err == nil {
			t.Errorf("%.40q: no error", bad)
		}
	}
}

// Page values reach SQL only as escaped literals (internal/store tests the literals).
func TestSQLLiterals(t *testing.T) {
	if got := matchPath("p", `/50%_off*`); got != `p LIKE '/50\\%\\_off%'` {
		t.Errorf("matchPath: %s", got)
	}
	if got := matchPath("p", `/a'b`); got != `p = '/a\'b'` {
		t.Errorf("matchPath: %s", got)
	}
}

// showSegments writes segments as "kind from–to", the times in layout.
func showSegments(ss []segment, layout string) string {
	var parts []string
	for _, s := range ss {
		parts = append(parts, fmt.Sprintf("%s %s–%s", s.Kind, s.From.Format(layout), s.To.Format(layout)))
	}
	return strings.Join(parts, ", ")
}

func TestSegments(t *testing.T) {
	show := func(ss []segment) string { return showSegments(ss, "02 15:04") }
	tallinn, _ := time.LoadLocation("Europe/Tallinn")
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	for _, c := range []struct {
		loc      *time.Location
		from, to int // days of March 2024
		want     string
	}{
		{time.UTC, 4, 5, "day 04 00:00–06 00:00"},
		{tallinn, 4, 5, "hour 03 22:00–04 00:00, day 04 00:00–05 00:00, hour 05 00:00–05 22:00"},
		{tallinn, 4, 4, "hour 03 22:00–04 22:00"},
		{kolkata, 4, 5, "raw 03 18:30–03 19:00, hour 03 19:00–04 00:00, day 04 00:00–05 00:00, hour 05 00:00–05 18:00, raw 05 18:00–05 18:30"},
	} {
		r := newRange(time.Date(2024, 3, c.from, 0, 0, 0, 0, c.loc), time.Date(2024, 3, c.to, 0, 0, 0, 0, c.loc), c.loc)
		if got := show(segments(r.Start, r.End)); got != c.want {
			t.Errorf("%s %d–%d:\n got %s\nwant %s", c.loc, c.from, c.to, got, c.want)
		}
	}
}

// A long period reads whole UTC months, and a time series only rows that lie wholly
// within one of its buckets: by local month in Tallinn no UTC month fits, so the
// months are read as days with the hours around each local midnight of the 1st.
func TestSegmentsByMonth(t *testing.T) {
	show := func(ss []segment) string { return showSegments(ss, "01-02 15") }
	tallinn, _ := time.LoadLocation("Europe/Tallinn")
	r := newRange(time.Date(2024, 1, 20, 0, 0, 0, 0, time.UTC), time.Date(2024, 4, 10, 0, 0, 0, 0, time.UTC), time.UTC)
	if got, want := show(segmentsUpTo(r.Start, r.End, upToMonth)), "day 01-20 00–02-01 00, month 02-01 00–04-01 00, day 04-01 00–04-11 00"; got != want {
		t.Errorf("UTC, whole months:\n got %s\nwant %s", got, want)
	}
	if got, want := show(seriesSegments(r, IntervalMonth, time.UTC)), "day 01-20 00–02-01 00, month 02-01 00–04-01 00, day 04-01 00–04-11 00"; got != want {
		t.Errorf("UTC, by month:\n got %s\nwant %s", got, want)
	}
	r = newRange(time.Date(2024, 1, 20, 0, 0, 0, 0, tallinn), time.Date(2024, 3, 10, 0, 0, 0, 0, tallinn), tallinn)
	want := "hour 01-19 22–01-20 00, day 01-20 00–01-31 00, hour 01-31 00–02-01 00, day 02-01 00–02-29 00, " +
		"hour 02-29 00–03-01 00, day 03-01 00–03-10 00, hour 03-10 00–03-10 22"
	if got := show(seriesSegments(r, IntervalMonth, tallinn)); got != want {
		t.Errorf("Tallinn, by month:\n got %s\nwant %s", got, want)
	}
	if got := show(withoutHours(seriesSegments(r, IntervalDay, tallinn))); got != "raw 01-19 22–03-10 22" {
		t.Errorf("Tallinn by day, without hourly rows: %s", got)
	}
	if got, want := show(segmentsUpTo(r.Start, r.End, upToMonth)), "hour 01-19 22–01-20 00, day 01-20 00–02-01 00, month 02-01 00–03-01 00, day 03-01 00–03-10 00, hour 03-10 00–03-10 22"; got != want {
		t.Errorf("Tallinn, whole period:\n got %s\nwant %s", got, want)
	}
}
