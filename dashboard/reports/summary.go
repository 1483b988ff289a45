package reports

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/sites"
)

// QuietAfter is how long a site may receive nothing before the all-sites page flags it.
const QuietAfter = 24 * time.Hour

// trendDays is the length of the all-sites page's trend line: this week and the one before.
const trendDays = 14

// summaryWorkers bounds the sites summarised at once: the all-sites page of an agency
// with dozens of sites must not queue dozens of queries at the same moment.
const summaryWorkers = 4

// SiteSummary is one site's line on the all-sites page: visitors today and over the
// last 7 days, each against the period before, daily visitors for a trend line, and
// whether the site receives anything at all.
type SiteSummary struct {
	Site         string   `json:"site"`
	Timezone     string   `json:"timezone"`
	Today        Metric   `json:"today"` // visitors today so far; previous: yesterday
	Week         Metric   `json:"week"`  // visitors over the last 7 days; previous: the 7 days before
	Trend        []uint64 `json:"trend"` // visitors per day, oldest first, ending today
	TrendFrom    string   `json:"trend_from"`
	HasEvents    bool     `json:"has_events"` // false: the tracker has never been heard from
	Quiet        bool     `json:"quiet"`      // nothing received in the last QuietAfter
	LastSeen     *string  `json:"last_seen"`  // the latest event of the last QuietAfter (RFC 3339), if any
	RecentEvents uint64   `json:"recent_events"`
}

type activityRow struct {
	Recent   uint64 `ch:"n_recent"`
	LastSeen uint32 `ch:"last_seen"`
}

// Summary answers the all-sites line of site. The figures come from the visit states
// per day and hour (internal/derived), like the overview; whether anything arrived
// lately from the events of the last day only.
func (rep *Service) Summary(ctx context.Context, site sites.Site) (SiteSummary, error) {
	loc, _ := loadLocation(site.Timezone)
	now := rep.now()
	out := SiteSummary{Site: site.Domain, Timezone: loc.String(), Trend: []uint64{}}
	if err := rep.activity(ctx, site.Domain, now, &out); err != nil {
		return out, err
	}
	s, err := rep.scope(ctx, Query{Site: site.Domain, Location: loc})
	if err != nil {
		return out, err
	}
	today, err := ParsePeriod(PeriodToday, "", "", loc, now)
	if err != nil {
		return out, err
	}
	week, err := ParsePeriod(Period7d, "", "", loc, now)
	if err != nil {
		return out, err
	}
	var tot [4]visitTotals
	for i, rg := range []Range{today.Current, today.Previous, week.Current, week.Previous} {
		if tot[i], err = rep.visitTotals(ctx, s, rg); err != nil {
			return out, err
		}
	}
	out.Today = metric(float64(tot[0].Visitors), float64(tot[1].Visitors), false)
	out.Week = metric(float64(tot[2].Visitors), float64(tot[3].Visitors), false)
	trend := newRange(today.Current.From.AddDate(0, 0, 1-trendDays), today.Current.To, loc)
	buckets, err := rep.series(ctx, s, trend, IntervalDay)
	if err != nil {
		return out, err
	}
	for _, b := range buckets {
		out.Trend = append(out.Trend, b.Visitors)
	}
	out.TrendFrom = trend.From.Format(dateLayout)
	return out, nil
}

// activity fills what the events of the last QuietAfter say, and whether there was ever one.
func (rep *Service) activity(ctx context.Context, site string, now time.Time, out *SiteSummary) error {
	sql, err := render("site_activity", struct {
		Site  string
		Since time.Time
	}{site, now.Add(-QuietAfter)})
	if err != nil {
		return err
	}
	var rows []activityRow
	if err := rep.query(ctx, "summary", &rows, sql); err != nil {
		return err
	}
	if len(rows) == 1 && rows[0].Recent > 0 {
		out.RecentEvents, out.HasEvents = rows[0].Recent, true
		seen := time.Unix(int64(rows[0].LastSeen), 0).UTC().Format(time.RFC3339)
		out.LastSeen = &seen
		return nil
	}
	out.Quiet = true
	if sql, err = render("site_any_event", struct{ Site string }{site}); err != nil {
		return err
	}
	rows = nil
	if err := rep.query(ctx, "summary", &rows, sql); err != nil {
		return err
	}
	out.HasEvents = len(rows) == 1 && rows[0].Recent > 0
	return nil
}

// Summaries answers the lines of every site in list, in the order given, a few sites at a time.
func (rep *Service) Summaries(ctx context.Context, list []sites.Site) ([]SiteSummary, error) {
	out := make([]SiteSummary, len(list))
	errs := make([]error, len(list))
	sem := make(chan struct{}, summaryWorkers)
	var wg sync.WaitGroup
	for i, s := range list {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i], errs[i] = rep.Summary(ctx, s)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// handleSummary answers GET /api/v1/summary: a line per site the caller may read, or
// with ?site= the line of that one site (what a new site's report page polls).
func (rep *Service) handleSummary(c *fiber.Ctx) error {
	u := auth.CurrentUser(c)
	if u == nil {
		return rep.fail(c, "summary", errUnauthenticated)
	}
	var list []sites.Site
	if raw := c.Query("site"); raw != "" {
		s, err := rep.readableSite(c, raw)
		if err != nil {
			return rep.fail(c, "summary", err)
		}
		list = append(list, s)
	} else {
		domains := rep.sites.Domains()
		slices.Sort(domains)
		for _, d := range domains {
			if s, ok := rep.sites.Lookup(d); ok && u.CanRead(d) {
				list = append(list, s)
			}
		}
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), queryTimeout)
	defer cancel()
	rows, err := rep.Summaries(ctx, list)
	if err != nil {
		return rep.fail(c, "summary", err)
	}
	return c.JSON(fiber.Map{"sites": rows, "quiet_after_hours": int(QuietAfter / time.Hour)})
}
