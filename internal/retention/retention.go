// Package retention deletes events older than each site's retention (sites table,
// retention_months; default 25 months, the CNIL limit for exempt audience measurement)
// from every table that holds event data: the tables erasure finds (events, sessions,
// any added later), the rollups kept from events and the imported aggregates, and the
// months of rebuild claims before the last (derived.DropOldClaims). It runs at start
// and daily.
package retention

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/erasure"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/literal"
)

// Interval is how often the job runs.
const Interval = 24 * time.Hour

// Job is the retention job.
type Job struct {
	db      store.Store
	log     *slog.Logger
	now     func() time.Time
	deleted *prometheus.CounterVec
	lastRun prometheus.Gauge
}

// New returns a job; metrics go to reg (nil: not registered).
func New(db store.Store, log *slog.Logger, reg prometheus.Registerer, now func() time.Time) *Job {
	if now == nil {
		now = time.Now
	}
	j := &Job{db: db, log: log, now: now,
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loendur_retention_deleted_total",
			Help: "Rows deleted because they were older than their site's retention, by table."}, []string{"table"}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{Name: "loendur_retention_last_run_timestamp_seconds",
			Help: "When the retention job last completed (Unix time)."}),
	}
	if reg != nil {
		reg.MustRegister(j.deleted, j.lastRun)
	}
	return j
}

// Run runs the job now and then every Interval until ctx ends. Several collectors may
// run it at once: deleting what is already deleted is harmless.
func (j *Job) Run(ctx context.Context) {
	for {
		if _, err := j.RunOnce(ctx); err != nil && ctx.Err() == nil {
			j.log.Error("retention", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(Interval):
		}
	}
}

// RunOnce deletes what is past retention and returns the rows deleted per table.
func (j *Job) RunOnce(ctx context.Context) (map[string]uint64, error) {
	cat, err := erasure.Discover(ctx, j.db)
	if err != nil {
		return nil, err
	}
	months, err := j.retentions(ctx)
	if err != nil {
		return nil, err
	}
	// Sites grouped by their retention, so each table needs one delete per distinct value.
	groups := map[int][]string{}
	for site, m := range months {
		groups[m] = append(groups[m], site)
	}
	tables := append([]erasure.Table{}, cat.Erasable...)
	var monthly []derived.Table
	for _, r := range cat.Rollups {
		if r.Def.Bucket == derived.Monthly {
			monthly = append(monthly, r.Def)
			continue
		}
		tables = append(tables, r.Target)
	}
	tables = append(tables, cat.Imported...)
	out := map[string]uint64{}
	today := j.now().UTC().Truncate(24 * time.Hour)
	for _, t := range tables {
		col := t.TimeColumn()
		if col == "" || !t.Has("site") {
			return out, fmt.Errorf("retention: table %s holds event data but has no Date or DateTime column to age it by", t.Name)
		}
		for m, group := range groups {
			sort.Strings(group)
			// A Date column compares with the day's text, a DateTime with the time.
			var cutoff any = today.AddDate(0, -m, 0)
			if !strings.HasPrefix(t.Columns[col], "DateTime") {
				cutoff = today.AddDate(0, -m, 0).Format(time.DateOnly)
			}
			where := "site IN " + literal.StringList(group) + " AND `" + col + "` < ?"
			args := []any{cutoff}
			var n []struct {
				N uint64 `ch:"n"`
			}
			if err := j.db.Select(ctx, &n, "SELECT count() AS n FROM `"+t.Name+"` WHERE "+where, args...); err != nil {
				return out, fmt.Errorf("retention: count in %s: %w", t.Name, err)
			}
			if len(n) == 0 || n[0].N == 0 {
				continue
			}
			if err := erasure.DeleteWhere(ctx, j.db, t.Name, where, args...); err != nil {
				return out, fmt.Errorf("retention: %w", err)
			}
			out[t.Name] += n[0].N
			j.deleted.WithLabelValues(t.Name).Add(float64(n[0].N))
			j.log.Info("retention: old rows deleted", "table", t.Name, "rows", n[0].N, "months", m, "sites", len(group))
		}
	}
	// A monthly row holds its whole month: recompute the month the cutoff falls in from
	// what is left of it, after the older months are gone.
	var recompute []derived.Table
	for _, t := range monthly {
		if out[t.Source] > 0 { // else nothing of its source went: its months still hold what they should
			recompute = append(recompute, t)
		}
	}
	for m, group := range groups {
		cutoff := today.AddDate(0, -m, 0)
		month := time.Date(cutoff.Year(), cutoff.Month(), 1, 0, 0, 0, 0, time.UTC)
		for _, t := range recompute {
			where := "site IN " + literal.StringList(group) + " AND month < ?"
			if err := erasure.DeleteWhere(ctx, j.db, t.Name(), where, month.Format(time.DateOnly)); err != nil {
				return out, fmt.Errorf("retention: %w", err)
			}
		}
		if len(recompute) == 0 {
			continue
		}
		// One rebuild per site, of every table: each claims the site (derived.Rebuild).
		for _, site := range group {
			if err := derived.Rebuild(ctx, j.db, site, []string{cutoff.Format(time.DateOnly)}, recompute); err != nil {
				return out, fmt.Errorf("retention: %w", err)
			}
		}
	}
	dropped, err := derived.DropOldClaims(ctx, j.db, j.now())
	if err != nil {
		return out, fmt.Errorf("retention: %w", err)
	}
	if dropped > 0 {
		j.log.Info("retention: months of rebuild claims dropped", "months", dropped)
	}
	j.lastRun.SetToCurrentTime()
	return out, nil
}

// retentions is each site's retention in months: registered sites (deleted ones too)
// with their setting, and sites that only have events with the default.
func (j *Job) retentions(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		Domain string `ch:"domain"`
		Months uint16 `ch:"retention_months"`
	}
	if err := j.db.Select(ctx, &rows, `SELECT domain, argMax(retention_months, version) AS retention_months
		FROM sites GROUP BY domain`); err != nil {
		return nil, fmt.Errorf("retention: read sites: %w", err)
	}
	out := map[string]int{}
	for _, r := range rows {
		m := int(r.Months)
		if m <= 0 {
			m = sites.DefaultRetentionMonths
		}
		out[r.Domain] = m
	}
	var unregistered []struct {
		Site string `ch:"site"`
	}
	if err := j.db.Select(ctx, &unregistered, "SELECT DISTINCT site FROM events"); err != nil {
		return nil, fmt.Errorf("retention: sites with events: %w", err)
	}
	for _, s := range unregistered {
		if _, ok := out[s.Site]; !ok {
			out[s.Site] = sites.DefaultRetentionMonths
		}
	}
	return out, nil
}
