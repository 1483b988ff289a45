// Package reports answers the dashboard's questions about a site: visitors, pages,
// sources, funnels, for a period in the site's time zone, compared with the period
// before, under any filters; and serves them as the JSON API /api/v1/stats/REPORT.
//
// Where the numbers come from:
//   - Visits (overview, time series, entry and exit pages, sources, UTM, locations,
//     devices, funnels) are rows of the sessions table, one per ended visit, written by
//     the finalizer (internal/derived, started by serve); visits that are still open, or not yet written, are computed
//     from events in the same query (sessions.sql), so answers are complete either way
//     and only faster with the finalizer running.
//   - Pages and custom events (top pages, exit rates, scroll depth, events) come from
//     hourly and daily rollups kept by materialized views, and from events for what
//     the rollups cannot answer (filters on visits, ragged edges of a period).
//   - Realtime reads the last five minutes of events.
//
// Every query is ClickHouse SQL that runs on server 18.16 and on chDB 26.x, kept in
// sql/*.sql.
package reports

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
	_ "time/tzdata" // site time zones must resolve on hosts without a zoneinfo database

	"github.com/prometheus/client_golang/prometheus"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
)

const (
	// DefaultLimit and MaxLimit bound the rows of a table report (?limit=).
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Deps is what the reports need; dashboard.Register fills it.
type Deps struct {
	DB       store.Store
	Sites    *sites.Registry
	Log      *slog.Logger
	Registry prometheus.Registerer // nil: metrics are kept but not exported
	Now      func() time.Time      // nil: time.Now
	// Audit records funnel changes in the audit log (auth.Service.Audit); nil: not recorded.
	Audit func(ctx context.Context, actor *auth.User, action, target, detail string)
	// SampleAbove is how many visits a period may have before its reports read the
	// visit sample (SampleRate); 0: DefaultSampleAbove, negative: never.
	SampleAbove int
}

// Service answers report queries. It only reads: the sessions table is written by
// internal/derived's finalizer, which serve starts.
type Service struct {
	db      store.Store
	sites   *sites.Registry
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics
	auditFn func(ctx context.Context, actor *auth.User, action, target, detail string)
	// sampleAbove: see Deps.SampleAbove.
	sampleAbove int
}

// New checks deps and returns the reports service.
func New(deps Deps) (*Service, error) {
	if deps.DB == nil || deps.Sites == nil {
		return nil, errors.New("reports: Deps.DB and Deps.Sites are required")
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	m, err := newMetrics(deps.Registry)
	if err != nil {
		return nil, err
	}
	if deps.SampleAbove == 0 {
		deps.SampleAbove = DefaultSampleAbove
	}
	return &Service{db: deps.DB, sites: deps.Sites, log: deps.Log, now: deps.Now, metrics: m, auditFn: deps.Audit,
		sampleAbove: deps.SampleAbove}, nil
}

// Query is one report question: a site, a range of days in its time zone, filters.
type Query struct {
	Site     string
	Location *time.Location
	Range    Range
	Filters  Filters
	Limit    int
	// HideImported leaves imported aggregates out (?imported=0; see imported.go).
	HideImported bool
	// Compare is ComparePrevious (also ""), CompareYear or CompareOff.
	Compare string
	// Interval is the time series' bucket (Range.Intervals); "": Range.DefaultInterval.
	Interval string
	// Sample is the rate visits are read at: 0 or 1 every visit, derived.VisitSample.Rate
	// or a multiple of it by a power of two one visitor in that many, the counts scaled
	// up (SampleRate chooses).
	Sample int
}

// previous is the range q's figures are compared with; false when comparison is off.
func (q Query) previous() (Range, bool) {
	switch q.Compare {
	case CompareOff:
		return Range{}, false
	case CompareYear:
		return q.Range.YearBefore(), true
	default:
		return q.Range.Previous(), true
	}
}

func (q Query) interval() string {
	if q.Interval == "" {
		return q.Range.DefaultInterval()
	}
	return q.Interval
}

func (q Query) limit() int {
	if q.Limit <= 0 {
		return DefaultLimit
	}
	return min(q.Limit, MaxLimit)
}

// sessionsData feeds sessions.sql.
type sessionsData struct {
	Columns string // derived.Visits.Computed
	Table   string // the sessions table or its sample
	// SampleWhere, when set, is " AND " the condition that picks the sample's visitors
	// at the report's rate (derived.VisitSample.WhereAt).
	SampleWhere string
	Site        string
	Start, End  time.Time // visits that started in [Start, End)
	Done        time.Time // the sessions table holds every visit that ended before Done
	// Live, when set, is the query computing from events the visits not yet written
	// (derived.VisitSpan.Query): SQL built from typed values only.
	Live string
}

// visits describes the visits of site that started in [start, end), given that the
// sessions table is complete up to done; with a sample rate over 1, those of the
// visitors derived.VisitSample.WhereAt(sample) picks.
func visits(site string, start, end, done time.Time, sample int) sessionsData {
	d := sessionsData{Columns: derived.Visits.Computed(), Table: derived.Visits.Name, Site: site, Start: start, End: end, Done: done}
	if sample > 1 {
		d.Table, d.SampleWhere = derived.VisitSample.Name, " AND "+derived.VisitSample.WhereAt(sample)
	}
	// A visit that started before end and is not in the table ended at or after done,
	// so it started after done - derived.MaxVisitLength: none when end is before that.
	if end.After(done.Add(-derived.MaxVisitLength)) {
		from := start
		if done.After(from) {
			from = done
		}
		d.Live = derived.VisitSpan{
			Site: site, From: from.Add(-derived.MaxVisitLength), To: end.Add(derived.MaxVisitLength),
			EndFrom: done, StartFrom: start, StartTo: end, Sample: sample,
		}.Query()
	}
	return d
}

// scope is what every query of one request shares.
type scope struct {
	Query
	done time.Time
}

func (rep *Service) scope(ctx context.Context, q Query) (scope, error) {
	done, err := derived.Done(ctx, rep.db, q.Site)
	if err != nil {
		return scope{}, err
	}
	if q.Location == nil {
		q.Location = time.UTC
	}
	return scope{Query: q, done: done}, nil
}

// sessions are the visits of the range rg.
func (s scope) sessions(rg Range) sessionsData {
	return visits(s.Site, rg.Start, rg.End, s.done, s.Sample)
}

// sampled says whether the visits are read from derived.VisitSample.
func (s scope) sampled() bool { return s.Sample > 1 }

// scaleUp multiplies counts read from the visit sample by its rate, so they estimate
// the whole; exact counts are left as they are.
func (s scope) scaleUp(counts ...*uint64) {
	if !s.sampled() {
		return
	}
	for _, n := range counts {
		*n *= uint64(s.Sample)
	}
}

// eventFilter renders the filters as conditions on events of the range rg: direct
// conditions on the event's own columns, and membership of a matching visit; when
// sampled, only the sampled visitors' events.
func (s scope) eventFilter(rg Range, eventsMatchEvent bool) (string, error) {
	direct, visit := s.Filters.split(eventsMatchEvent)
	if s.sampled() {
		direct += " AND " + derived.VisitSample.WhereAt(s.Sample)
	}
	if len(visit) == 0 {
		return direct, nil
	}
	// Events of the range may belong to visits that began up to derived.MaxVisitLength earlier.
	in, err := render("visit_filter", struct {
		Sessions sessionsData
		Where    string
	}{visits(s.Site, rg.Start.Add(-derived.MaxVisitLength), rg.End, s.done, s.Sample), visit.sessionWhere()})
	if err != nil {
		return "", err
	}
	return direct + in, nil
}

// statsData feeds page_stats.sql and event_stats.sql.
type statsData struct {
	Site     string
	Visits   *visitRowsData // set: rows come from the matching visits instead
	Segments []segment
	Where    string // conditions every source can answer (the rollups' key columns)
	RawWhere string // conditions only events can answer
}

// select runs a rendered query, timing it under the report's name.
func (rep *Service) query(ctx context.Context, report string, dest any, sql string) error {
	start := time.Now()
	err := rep.db.Select(ctx, dest, sql)
	rep.metrics.queryDuration.WithLabelValues(report).Observe(time.Since(start).Seconds())
	if err != nil {
		rep.metrics.queryErrors.WithLabelValues(report).Inc()
		return fmt.Errorf("%s query: %w", report, err)
	}
	return nil
}
