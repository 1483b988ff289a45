package derived

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/websystems/loendur/internal/privacy"
)

// A finalizer step reads the events of a span into memory, so catching up on months of
// events goes a span at a time: a day, as when a site is busy, and twice as long after
// each step that wrote under growBelow visits (up to maxStep, and no more than
// stepEvents events), so a small site's history (an import of years) takes a few steps
// rather than one query and insert per day.
const (
	firstStep  = 24 * time.Hour
	maxStep    = 32 * 24 * time.Hour
	growBelow  = 12_500
	stepEvents = 250_000
)

// nextStep is the span after a step of span that wrote n visits.
func nextStep(span time.Duration, n int) time.Duration {
	if n < growBelow {
		return min(2*span, maxStep)
	}
	return firstStep
}

// stepEnd is where the step from done ends: step later, or target, shortened while it
// would read over stepEvents events (stepWithin).
func (f *Finalizer) stepEnd(ctx context.Context, site string, done, target time.Time, step time.Duration) (time.Time, error) {
	until, err := stepWithin(done, target, step, func(until time.Time) (uint64, error) {
		return countRows(ctx, f.db, "SELECT count() AS n FROM "+EventsTable+
			" WHERE site = ? AND timestamp >= ? AND timestamp < ?", site, done, until)
	})
	if err != nil {
		return until, fmt.Errorf("finalize visits of %s from %s: %w", site, done.Format(time.RFC3339), err)
	}
	return until, nil
}

// stepWithin is the end of a step of step from done (at most target). A step longer
// than the first is halved while events, the events from done to its end, says it
// holds over stepEvents, so a burst after quiet months is not read at once.
func stepWithin(done, target time.Time, step time.Duration, events func(until time.Time) (uint64, error)) (time.Time, error) {
	step = min(step, target.Sub(done))
	for {
		until := done.Add(step)
		if step <= firstStep {
			return until, nil
		}
		n, err := events(until)
		if err != nil || n <= stepEvents {
			return until, err
		}
		step /= 2
	}
}

// VisitRow is one visit as VisitSpan.Query computes it and the sessions table keeps it;
// visitColumns says which field holds which column.
type VisitRow struct {
	SessionID      uint64    `ch:"session_id"`
	VisitorID      uint64    `ch:"visitor_id"`
	StartTime      time.Time `ch:"start_time"`
	EndTime        time.Time `ch:"end_time"`
	Pageviews      uint32    `ch:"pageviews"`
	Events         uint32    `ch:"events"`
	EngagedMS      uint64    `ch:"engaged_ms"`
	EntryPage      string    `ch:"entry_page"`
	ExitPage       string    `ch:"exit_page"`
	ReferrerHost   string    `ch:"referrer_host"`
	ReferrerSource string    `ch:"referrer_source"`
	UTMSource      string    `ch:"utm_source"`
	UTMMedium      string    `ch:"utm_medium"`
	UTMCampaign    string    `ch:"utm_campaign"`
	CountryCode    string    `ch:"country_code"`
	Region         string    `ch:"region"`
	City           string    `ch:"city"`
	Device         string    `ch:"device"`
	Browser        string    `ch:"browser"`
	OS             string    `ch:"os"`
	SeqNames       []string  `ch:"seq_names"`
	SeqPaths       []string  `ch:"seq_paths"`
	EngPaths       []string  `ch:"eng_paths"`
	EngMS          []uint64  `ch:"eng_ms"`
	EngScroll      []uint64  `ch:"eng_scroll"`
}

// Values are the row's values in the order of Visits.ColumnNames (visitColumns).
func (s VisitRow) Values(site string, version uint64) []any {
	out := make([]any, 0, len(visitColumns)+2)
	out = append(out, site)
	for _, c := range visitColumns {
		out = append(out, c.value(&s))
	}
	return append(out, version)
}

// Sites lists the sites whose visits are written (sites.Registry has it).
type Sites interface{ Domains() []string }

// FinalizerOptions are what the finalizer needs; serve fills them.
type FinalizerOptions struct {
	DB       DB
	Sites    Sites
	Log      *slog.Logger          // nil: discarded
	Registry prometheus.Registerer // nil: metrics are kept but not exported
	Now      func() time.Time      // nil: time.Now
}

// Finalizer writes ended visits to the sessions table. Reports are complete without
// it, only slower: they compute visits not yet written from events (VisitSpan.Query).
type Finalizer struct {
	db      DB
	sites   Sites
	log     *slog.Logger
	now     func() time.Time
	metrics *finalizerMetrics
	mu      sync.Mutex // one run at a time in this process
}

// NewFinalizer checks opts and returns the finalizer.
func NewFinalizer(opts FinalizerOptions) (*Finalizer, error) {
	if opts.DB == nil || opts.Sites == nil {
		return nil, errors.New("finalizer: DB and Sites are required")
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m, err := newFinalizerMetrics(opts.Registry)
	if err != nil {
		return nil, err
	}
	return &Finalizer{db: opts.DB, sites: opts.Sites, log: opts.Log, now: opts.Now, metrics: m}, nil
}

// Run writes ended visits of every site to the sessions table once a minute until ctx
// ends. Reports are complete without it, only slower: visits not yet written are
// computed from events. Several processes may run it at once (see dedupe).
func (f *Finalizer) Run(ctx context.Context) {
	// Processes started together should not finalize in lockstep.
	select {
	case <-ctx.Done():
		return
	case <-time.After(rand.N(20 * time.Second)):
	}
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if err := f.FinalizeAll(ctx); err != nil && ctx.Err() == nil {
			f.log.Warn("finalize visits", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// FinalizeAll runs Finalize for every registered site.
func (f *Finalizer) FinalizeAll(ctx context.Context) error {
	var firstErr error
	for _, site := range f.sites.Domains() {
		if _, err := f.Finalize(ctx, site); err != nil {
			f.metrics.finalizeErrors.Inc()
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	return firstErr
}

// Finalize writes the visits of site that ended more than FinalizeDelay ago and are
// not yet written, and returns how many it wrote.
func (f *Finalizer) Finalize(ctx context.Context, site string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	target := f.now().UTC().Add(-FinalizeDelay).Truncate(time.Minute)
	done, err := Done(ctx, f.db, site)
	if err != nil {
		return 0, err
	}
	if done.Unix() <= 0 {
		if done, err = f.firstEvent(ctx, site, target); err != nil {
			return 0, err
		}
	}
	written, step := 0, firstStep
	for done.Before(target) {
		until, err := f.stepEnd(ctx, site, done, target, step)
		if err != nil {
			return written, err
		}
		n, err := f.finalizeSpan(ctx, site, done, until)
		if err != nil {
			return written, err
		}
		written += n
		step = nextStep(until.Sub(done), n)
		done = until
	}
	f.metrics.setFinalizeLag(site, f.now().Sub(done).Seconds())
	return written, nil
}

// firstEvent is where finalizing a site starts: the hour of its first event, or target
// when it has none yet.
func (f *Finalizer) firstEvent(ctx context.Context, site string, target time.Time) (time.Time, error) {
	var rows []struct {
		N     uint64    `ch:"n"`
		First time.Time `ch:"first"`
	}
	if err := f.db.Select(ctx, &rows, "SELECT count() AS n, min(timestamp) AS first FROM "+EventsTable+
		" WHERE site = ? AND timestamp >= toDateTime(1)", site); err != nil {
		return time.Time{}, fmt.Errorf("find first event of %s: %w", site, err)
	}
	if len(rows) == 0 || rows[0].N == 0 || !rows[0].First.Before(target) {
		return target, f.recordProgress(ctx, site, target)
	}
	return rows[0].First.UTC().Truncate(time.Hour), nil
}

// finalizeSpan writes the visits whose last event is in [from, until), then records
// that the table is complete up to until.
func (f *Finalizer) finalizeSpan(ctx context.Context, site string, from, until time.Time) (int, error) {
	// A visit whose last event is before until has no event in [until, until+timeout):
	// reading that far tells an ended visit from one that goes on.
	span := VisitSpan{Site: site, From: from.Add(-MaxVisitLength), To: until.Add(privacy.SessionTimeout + time.Minute),
		EndFrom: from, EndTo: until}
	// eng_ms and eng_scroll are Array(UInt64), which JSON output (chDB) quotes by default.
	q := span.Query() + "\nSETTINGS output_format_json_quote_64bit_integers = 0"
	var rows []VisitRow
	if err := f.db.Select(ctx, &rows, q); err != nil {
		return 0, fmt.Errorf("finalize visits of %s from %s: %w", site, from.Format(time.RFC3339), err)
	}
	// Another process may have written part of the span meanwhile: leave that part.
	latest, err := Done(ctx, f.db, site)
	if err != nil {
		return 0, err
	}
	if !latest.Before(until) {
		return 0, nil
	}
	if latest.After(from) {
		rows = slices.DeleteFunc(rows, func(s VisitRow) bool { return s.EndTime.Before(latest) })
		from = latest
	}
	version := uint64(f.now().UnixNano())
	const batch = 50000
	for i := 0; i < len(rows); i += batch {
		part := rows[i:min(i+batch, len(rows))]
		values := make([][]any, len(part))
		for j, s := range part {
			values[j] = s.Values(site, version)
		}
		if err := f.db.Insert(ctx, Visits.Name, Visits.ColumnNames(), values); err != nil {
			return i, fmt.Errorf("write visits of %s: %w", site, err)
		}
	}
	f.metrics.finalized.Add(float64(len(rows)))
	if len(rows) > 0 {
		if err := f.Dedupe(ctx, site, from, until); err != nil {
			return len(rows), err
		}
	}
	return len(rows), f.recordProgress(ctx, site, until)
}

// Dedupe merges away visits of site written twice that ended in [from, until): reports
// read the sessions table and its sample without FINAL, which would double the cost of
// every query.
// Two finalizers writing the same span at the same moment are rare (each re-reads the
// progress just before writing); whichever writes second finds the copies here.
func (f *Finalizer) Dedupe(ctx context.Context, site string, from, until time.Time) error {
	merged, err := f.dedupe(ctx, Visits.Name, site, from, until)
	if err != nil {
		return err
	}
	// The sample's view copied both writes too; a background merge may have removed
	// the copies from one table and not yet from the other, so each is looked at.
	if _, err := f.dedupe(ctx, VisitSample.Name, site, from, until); err != nil {
		return err
	}
	// The visit rollups counted each copy as it was written, also copies that a
	// background merge has already removed from the sessions table: when their count
	// differs from the table's, count again.
	first := from.Add(-MaxVisitLength).UTC().Truncate(24 * time.Hour)
	end := until.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	var days []string
	for d := first; d.Before(end); d = d.Add(24 * time.Hour) {
		days = append(days, d.Format(time.DateOnly))
	}
	var counts []struct {
		Stats  uint64 `ch:"s"`
		Visits uint64 `ch:"v"`
	}
	if err := f.db.Select(ctx, &counts, `SELECT
		(SELECT toUInt64(sum(visits)) FROM visit_stats_daily WHERE site = ? AND day >= toDate(?) AND day < toDate(?)) AS s,
		(SELECT toUInt64(count()) FROM sessions FINAL WHERE site = ? AND pageviews > 0
			AND toDate(start_time) >= toDate(?) AND toDate(start_time) < toDate(?)) AS v`,
		site, first.Format(time.DateOnly), end.Format(time.DateOnly),
		site, first.Format(time.DateOnly), end.Format(time.DateOnly)); err != nil {
		return fmt.Errorf("check visit states of %s: %w", site, err)
	}
	if !merged && (len(counts) == 0 || counts[0].Stats == counts[0].Visits) {
		return nil
	}
	if err := Rebuild(ctx, f.db, site, days, OfSessions()); err != nil {
		return fmt.Errorf("visits of %s written twice: %w", site, err)
	}
	return nil
}

func (f *Finalizer) recordProgress(ctx context.Context, site string, until time.Time) error {
	err := f.db.Insert(ctx, Visits.Progress, []string{"site", "done_until", "version"},
		[][]any{{site, until.UTC(), uint64(f.now().UnixNano())}})
	if err != nil {
		return fmt.Errorf("record sessions progress of %s: %w", site, err)
	}
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// dedupe merges the months of table (sessions or its sample) that hold a visit of site
// twice, and says whether there were any.
func (f *Finalizer) dedupe(ctx context.Context, table, site string, from, until time.Time) (bool, error) {
	var months []struct {
		Month uint32 `ch:"month"`
		N     uint64 `ch:"n"`
		U     uint64 `ch:"u"`
	}
	if err := f.db.Select(ctx, &months, `SELECT toUInt32(toYYYYMM(start_time)) AS month, toUInt64(count()) AS n,
			toUInt64(uniqExact(session_id)) AS u
		FROM `+table+`
		WHERE site = ? AND start_time >= ? AND end_time >= ? AND end_time < ?
		GROUP BY month
		HAVING n > u`, site, from.Add(-MaxVisitLength).UTC(), from.UTC(), until.UTC()); err != nil {
		return false, fmt.Errorf("check visits of %s in %s for duplicates: %w", site, table, err)
	}
	for _, m := range months {
		f.log.Info("merging visits written twice", "site", site, "table", table, "month", m.Month, "copies", m.N-m.U)
		if err := f.db.Exec(ctx, fmt.Sprintf("OPTIMIZE TABLE %s PARTITION %d FINAL", table, m.Month)); err != nil {
			return false, fmt.Errorf("merge duplicate visits of %s in %s: %w", site, table, err)
		}
	}
	return len(months) > 0, nil
}
