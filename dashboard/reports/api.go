package reports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/dashboard/web"
	"github.com/websystems/loendur/internal/httperr"
	"github.com/websystems/loendur/internal/sites"
)

// Report names of GET /api/v1/stats/REPORT.
var ReportNames = []string{"overview", "timeseries", "top-pages", "entry-pages", "exit-pages", "scroll", "funnel",
	"sources", "utm", "locations", "devices", "events", "realtime", "dropped"}

// queryTimeout bounds one API request's queries.
const queryTimeout = 30 * time.Second

// errNoSite is the one answer for a site that does not exist and for one the caller
// may not read, so neither domains nor ids can be probed.
var errNoSite = httperr.New(fiber.StatusForbidden, "", "no such site, or no access to it")

// Register adds the report API to r, which is the /api/v1 group behind the
// authentication middleware (auth.RequireUser):
//
//	GET    /stats/:report       a report (JSON, or CSV with format=csv)
//	GET    /summary[?site=]     a line per readable site: the all-sites page
//	GET    /funnels?site=       the site's funnels
//	POST   /funnels?site=       a new funnel (admins)
//	PUT    /funnels/:id?site=   replace a funnel (admins)
//	DELETE /funnels/:id?site=   remove a funnel (admins)
func (rep *Service) Register(r fiber.Router) {
	r.Get("/stats/:report", rep.handleStats)
	r.Get("/summary", rep.handleSummary)
	r.Get("/funnels", rep.handleListFunnels)
	r.Post("/funnels", auth.RequireAdmin, rep.handleSaveFunnel)
	r.Put("/funnels/:id", auth.RequireAdmin, rep.handleSaveFunnel)
	r.Delete("/funnels/:id", auth.RequireAdmin, rep.handleDeleteFunnel)
}

// periodJSON is a range as the API shows it: local dates, both included.
type periodJSON struct {
	From string `json:"from"`
	To   string `json:"to"`
}

func rangeJSON(rg Range) periodJSON {
	return periodJSON{From: rg.From.Format(dateLayout), To: rg.To.Format(dateLayout)}
}

// answer is the body of every report.
type answer struct {
	Site       string           `json:"site"`
	Report     string           `json:"report"`
	Timezone   string           `json:"timezone"`
	PeriodName string           `json:"period_name"`
	Period     periodJSON       `json:"period"`
	Comparison periodJSON       `json:"comparison"`
	Compare    string           `json:"compare"` // previous, year or off (then no comparison range)
	Filters    Filters          `json:"filters"`
	Dimension  string           `json:"dimension,omitempty"` // the filter key the rows' first field answers to
	Interval   string           `json:"interval,omitempty"`  // timeseries: hour, day, week or month
	Intervals  []string         `json:"intervals,omitempty"` // timeseries: the intervals this period may be shown in
	Metrics    *OverviewMetrics `json:"metrics,omitempty"`
	Rows       []Row            `json:"rows"`
	Totals     map[string]any   `json:"totals,omitempty"`
	// IncludesImported: the figures include imported aggregates (?imported=0 hides them).
	IncludesImported bool `json:"includes_imported"`
	// SampleRate is 1 when every visit was counted, N when the figures are estimated
	// from one visitor in N, scaled up (a long period of a large site; ?sample=off
	// counts every visit).
	SampleRate int `json:"sample_rate"`
}

// request is what every report handler has parsed and checked.
type request struct {
	site   sites.Site
	period Period
	query  Query
}

func (rep *Service) handleStats(c *fiber.Ctx) error {
	report := strings.Clone(c.Params("report"))
	known := false
	for _, name := range ReportNames {
		known = known || name == report
	}
	if !known {
		return rep.fail(c, report, httperr.New(fiber.StatusNotFound, "", fmt.Sprintf("unknown report %q; reports: %s", report, strings.Join(ReportNames, ", "))))
	}
	req, err := rep.parse(c)
	if err != nil {
		return rep.fail(c, report, err)
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), queryTimeout)
	defer cancel()
	a, err := rep.run(ctx, c, report, req)
	if err != nil {
		return rep.fail(c, report, err)
	}
	if c.Query("format") == "csv" {
		if v := sharedView(c); v != nil && !v.CSV {
			return rep.fail(c, report, errNoCSV)
		}
		body, err := writeCSV(a.Rows)
		if err != nil {
			return rep.fail(c, report, err)
		}
		name := fmt.Sprintf("%s-%s-%s-%s", a.Site, report, a.Period.From, a.Period.To)
		if a.SampleRate > 1 {
			// Estimated figures say so where a spreadsheet's user sees them.
			name += fmt.Sprintf("-estimated-1-in-%d", a.SampleRate)
		}
		c.Set(sampleRateHeader, strconv.Itoa(a.SampleRate))
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`.csv"`)
		return c.Send(body)
	}
	return c.JSON(a)
}

// parse reads site, period, filters and limit, and checks the caller may read the site.
func (rep *Service) parse(c *fiber.Ctx) (request, error) {
	site, err := rep.readableSite(c, c.Query("site"))
	if err != nil {
		return request{}, err
	}
	loc, ok := loadLocation(site.Timezone)
	if !ok {
		rep.log.Warn("site time zone unknown, using UTC", "site", site.Domain, "timezone", site.Timezone)
	}
	p, err := ParsePeriod(c.Query("period"), c.Query("from"), c.Query("to"), loc, rep.now())
	if err != nil {
		return request{}, err
	}
	filters, err := ParseFilters(strings.Clone(c.Query("filters")))
	if err != nil {
		return request{}, err
	}
	limit := 0
	if v := c.Query("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > MaxLimit {
			return request{}, badRequest("limit must be a number from 1 to %d", MaxLimit)
		}
	}
	q := Query{Site: site.Domain, Location: loc, Range: p.Current, Filters: filters, Limit: limit,
		HideImported: hidesImported(c.Query(ImportedParam))}
	switch q.Compare = c.Query("compare", ComparePrevious); q.Compare {
	case ComparePrevious, CompareYear, CompareOff:
	default:
		return request{}, badRequest("compare must be previous, year or off")
	}
	if q.Interval = c.Query("interval"); q.Interval != "" && !slices.Contains(p.Current.Intervals(), q.Interval) {
		return request{}, badRequest("interval %q does not fit this period: use %s", q.Interval, strings.Join(p.Current.Intervals(), ", "))
	}
	if q.Interval == "" {
		q.Interval = p.Current.DefaultInterval()
	}
	switch v := c.Query(SampleParam); v {
	case "", "auto":
	case "off":
		q.Sample = 1
	default:
		return request{}, badRequest("sample must be auto or off")
	}
	return request{site: site, period: p, query: q}, nil
}

// readableSite resolves ?site= to a registered site the caller may read.
func (rep *Service) readableSite(c *fiber.Ctx, raw string) (sites.Site, error) {
	if v := sharedView(c); v != nil {
		return rep.linkSite(v, raw)
	}
	u := auth.CurrentUser(c)
	if u == nil {
		return sites.Site{}, errUnauthenticated
	}
	if raw == "" {
		return sites.Site{}, badRequest("name the site: ?site=example.com")
	}
	domain, err := sites.NormalizeDomain(raw)
	if err != nil {
		return sites.Site{}, errNoSite
	}
	site, ok := rep.sites.Lookup(domain)
	if !ok || !u.CanRead(domain) {
		return sites.Site{}, errNoSite
	}
	return site, nil
}

var errUnauthenticated = httperr.New(fiber.StatusUnauthorized, "", "sign in or send Authorization: Bearer KEY")

func (rep *Service) run(ctx context.Context, c *fiber.Ctx, report string, req request) (answer, error) {
	q := req.query
	a := answer{Site: q.Site, Report: report, Timezone: q.Location.String(), PeriodName: req.period.Name,
		Period: rangeJSON(req.period.Current), Compare: q.Compare, Filters: q.Filters, Rows: []Row{}}
	if before, ok := q.previous(); ok {
		a.Comparison = rangeJSON(before)
	}
	if a.Filters == nil {
		a.Filters = Filters{}
	}
	var err error
	if q.Sample == 0 && sampleable(report, q.Filters) {
		if q.Sample, err = rep.SampleRate(ctx, q); err != nil {
			return a, err
		}
	}
	a.SampleRate = max(q.Sample, 1)
	switch report {
	case "overview":
		var m OverviewMetrics
		m, err = rep.Overview(ctx, q)
		a.Metrics, a.Rows = &m, m.rows()
	case "timeseries":
		a.Interval, a.Intervals = q.interval(), q.Range.Intervals()
		a.Rows, err = rep.Timeseries(ctx, q)
	case "top-pages":
		a.Dimension = FilterPage
		a.Rows, err = rep.TopPages(ctx, q)
	case "exit-pages":
		a.Dimension = FilterExitPage
		a.Rows, err = rep.ExitPages(ctx, q)
	case "entry-pages", "sources", "utm", "locations", "devices":
		var dim dimension
		if dim, err = lookupDimension(report, c.Query("by")); err == nil {
			a.Dimension = dim.key
			a.Rows, err = rep.Dimension(ctx, q, report, dim.key)
		}
	case "scroll":
		page := strings.Clone(c.Query("page"))
		if page == "" {
			page, _ = q.Filters.Get(FilterPage)
		}
		if page == "" {
			return a, badRequest("scroll: name the page, ?page=/path or a page filter")
		}
		if !strings.HasPrefix(page, "/") && !strings.HasPrefix(page, "*") {
			return a, badRequest("scroll: page must be a path starting with /")
		}
		a.Rows, err = rep.Scroll(ctx, q, page)
		if err == nil && len(a.Rows) > 0 {
			a.Totals = map[string]any{"page": page, "visitors": a.Rows[0].Get("visitors")}
		}
	case "funnel":
		id := strings.Clone(c.Query("funnel"))
		if id == "" {
			return a, badRequest("funnel: name the funnel, ?funnel=ID (GET /api/v1/funnels?site= lists them)")
		}
		var f Funnel
		if f, err = rep.Funnel(ctx, q.Site, id); err == nil {
			a.Totals = map[string]any{"funnel": f}
			a.Rows, err = rep.FunnelReport(ctx, q, f)
		}
	case "events":
		a.Dimension = FilterEvent
		a.Rows, err = rep.Events(ctx, q)
	case "dropped":
		a.Rows, err = rep.Dropped(ctx, q)
		var total uint64
		for _, r := range a.Rows {
			total += r.Get("events").(uint64)
		}
		a.Totals = map[string]any{"events": total}
	case "realtime":
		var n uint64
		n, a.Rows, err = rep.Realtime(ctx, q)
		a.Dimension = FilterPage
		a.Totals = map[string]any{"visitors": n, "minutes": int(RealtimeWindow / time.Minute)}
	}
	if a.Rows == nil {
		a.Rows = []Row{}
	}
	if err == nil {
		a.IncludesImported, err = rep.IncludesImported(ctx, q, report)
	}
	return a, err
}

func (rep *Service) handleListFunnels(c *fiber.Ctx) error {
	site, err := rep.readableSite(c, c.Query("site"))
	if err != nil {
		return rep.fail(c, "funnels", err)
	}
	fs, err := rep.Funnels(c.UserContext(), site.Domain)
	if err != nil {
		return rep.fail(c, "funnels", err)
	}
	return c.JSON(fiber.Map{"site": site.Domain, "funnels": fs})
}

func (rep *Service) handleSaveFunnel(c *fiber.Ctx) error {
	var f Funnel
	if err := json.Unmarshal(c.Body(), &f); err != nil {
		return rep.fail(c, "funnels", badRequest("funnel: send JSON {\"name\": …, \"steps\": [{\"type\": \"page\"|\"event\", \"value\": …}]}"))
	}
	raw := c.Query("site")
	if raw == "" {
		raw = f.Site
	}
	site, err := rep.readableSite(c, raw)
	if err != nil {
		return rep.fail(c, "funnels", err)
	}
	f.Site, f.ID = site.Domain, strings.Clone(c.Params("id"))
	created := f.ID == ""
	saved, err := rep.SaveFunnel(c.UserContext(), f)
	if err != nil {
		return rep.fail(c, "funnels", err)
	}
	action := "funnel_update"
	if created {
		action = "funnel_add"
		c.Status(fiber.StatusCreated)
	}
	rep.audit(c, action, site.Domain, saved.ID+" "+saved.Name)
	return c.JSON(saved)
}

func (rep *Service) handleDeleteFunnel(c *fiber.Ctx) error {
	site, err := rep.readableSite(c, c.Query("site"))
	if err != nil {
		return rep.fail(c, "funnels", err)
	}
	id := strings.Clone(c.Params("id"))
	if err := rep.DeleteFunnel(c.UserContext(), site.Domain, id); err != nil {
		return rep.fail(c, "funnels", err)
	}
	rep.audit(c, "funnel_remove", site.Domain, id)
	return c.SendStatus(fiber.StatusNoContent)
}

func (rep *Service) audit(c *fiber.Ctx, action, target, detail string) {
	if rep.auditFn != nil {
		rep.auditFn(c.UserContext(), auth.CurrentUser(c), action, target, detail)
	}
}

// fail answers err through the dashboard's one error answer (web.APIError), once it
// has named what only the reports know: a missing funnel, a report that took too long,
// and the line shown when a report fails on our side (logged here, with its name).
func (rep *Service) fail(c *fiber.Ctx, report string, err error) error {
	switch {
	case httperr.Public(err): // a bad request, no sign-in, no such site
	case errors.Is(err, ErrFunnelNotFound):
		err = httperr.Wrap(fiber.StatusNotFound, err.Error(), err)
	case errors.Is(err, context.DeadlineExceeded):
		rep.log.Error("report timed out", "report", report, "err", err)
		err = httperr.Wrap(fiber.StatusServiceUnavailable, "the report took too long; try a shorter period", err)
	default:
		rep.log.Error("report failed", "report", report, "err", err)
		err = httperr.Wrap(fiber.StatusInternalServerError, "the report failed; see the server log", err)
	}
	return web.APIError(c, rep.log, err)
}
