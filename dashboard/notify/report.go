package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/websystems/loendur/dashboard/reports"
)

// Report kinds and the periods `loendur report send` takes.
const (
	Weekly  = "weekly"
	Monthly = "monthly"
)

// TopRows is how many pages, exit pages and sources a report lists.
const TopRows = 10

// Report is what one report mail shows; every figure comes from dashboard/reports, the
// queries behind the dashboard's own panels.
type Report struct {
	Site      string
	Title     string // "Weekly report", "Report for the last 7 days"
	Period    reports.Period
	Overview  reports.OverviewMetrics
	Series    []reports.Row // timeseries: date, visitors, previous_visitors, …
	TopPages  []reports.Row // page, visitors, pageviews
	ExitPages []reports.Row // page, exits, pageviews, exit_rate
	Sources   []reports.Row // source, visitors
}

// errNoReports is returned when the service was built without a reports service.
var errNoReports = errors.New("notify: no reports service")

// location is the site's time zone (UTC when it has none or an unknown one).
func (s *Service) location(site string) *time.Location {
	st, ok := s.opts.Sites.Lookup(site)
	if !ok || st.Timezone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(st.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// ScheduledPeriod is the last whole week (Monday to Sunday) or calendar month before
// now in loc, and its name in delivery keys ("2024-03-04", "2024-03").
func ScheduledPeriod(kind string, now time.Time, loc *time.Location) (reports.Period, string, error) {
	local := now.In(loc)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	var from, to time.Time
	var name string
	switch kind {
	case Weekly:
		monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
		from, to = monday.AddDate(0, 0, -7), monday.AddDate(0, 0, -1)
		name = from.Format("2006-01-02")
	case Monthly:
		first := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, loc)
		from, to = first.AddDate(0, -1, 0), first.AddDate(0, 0, -1)
		name = from.Format("2006-01")
	default:
		return reports.Period{}, "", fmt.Errorf("unknown report kind %q", kind)
	}
	p, err := reports.ParsePeriod(reports.PeriodCustom, from.Format("2006-01-02"), to.Format("2006-01-02"), loc, now)
	return p, name, err
}

// Build gathers the report of site for period.
func (s *Service) Build(ctx context.Context, site, title string, period reports.Period) (Report, error) {
	if s.opts.Reports == nil {
		return Report{}, errNoReports
	}
	q := reports.Query{Site: site, Location: period.Location, Range: period.Current, Limit: TopRows}
	r := Report{Site: site, Title: title, Period: period}
	var err error
	if r.Overview, err = s.opts.Reports.Overview(ctx, q); err != nil {
		return Report{}, fmt.Errorf("report of %s: %w", site, err)
	}
	if r.Series, err = s.opts.Reports.Timeseries(ctx, q); err != nil {
		return Report{}, fmt.Errorf("report of %s: %w", site, err)
	}
	if r.TopPages, err = s.opts.Reports.TopPages(ctx, q); err != nil {
		return Report{}, fmt.Errorf("report of %s: %w", site, err)
	}
	if r.ExitPages, err = s.opts.Reports.ExitPages(ctx, q); err != nil {
		return Report{}, fmt.Errorf("report of %s: %w", site, err)
	}
	if r.Sources, err = s.opts.Reports.Dimension(ctx, q, "sources", ""); err != nil {
		return Report{}, fmt.Errorf("report of %s: %w", site, err)
	}
	return r, nil
}
