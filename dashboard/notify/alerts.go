package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/websystems/loendur/internal/derived"
)

// Alert kinds.
const (
	AlertStopped = "stopped" // no page view for StoppedHours at a time the site usually has some
	AlertSpike   = "spike"   // an hour with far more page views than that hour on the days before
	AlertDrop    = "drop"    // an hour with far fewer
)

// What "usually" and "far" mean.
const (
	// BaselineDays are the days before that an hour is compared with.
	BaselineDays = 7
	// UsualDays of BaselineDays must have had a page view in the same hours for their
	// silence to be an incident.
	UsualDays = 4
	// SpikeFactor and DropFactor: an hour with SpikeFactor times its baseline (and at
	// least SpikeMin more views) is a spike; one with a DropFactor of it, a drop, when
	// the baseline is at least DropMin views.
	SpikeFactor = 3
	SpikeMin    = 20
	DropFactor  = 0.25
	DropMin     = 20
	// AlertMemory is how long after its last change an incident's notices are retried.
	AlertMemory = 3 * 24 * time.Hour
)

const incidentsTable = "notify_incidents"

var incidentColumns = []string{"site", "kind", "id", "state", "started", "resolved", "detail", "version"}

// Incident states.
const (
	incidentOpen     = "open"
	incidentResolved = "resolved"
)

// Incident is one alert, from its start to its resolution.
type Incident struct {
	Kind     string    `ch:"kind" json:"alert"`
	ID       string    `ch:"id" json:"incident"`
	State    string    `ch:"state" json:"state"`
	Started  time.Time `ch:"started" json:"started"`
	Resolved time.Time `ch:"resolved" json:"-"`
	Detail   string    `ch:"detail" json:"detail"`
	Changed  time.Time `ch:"changed" json:"-"`
}

// pageviewHours are a site's page views per UTC hour (hours without any are absent),
// from the hourly page rollup that the dashboard reads too.
type pageviewHours map[time.Time]uint64

// had says whether any hour starting in [from, to) had a page view.
func (h pageviewHours) had(from, to time.Time) bool {
	for t := from.Truncate(time.Hour); t.Before(to); t = t.Add(time.Hour) {
		if h[t] > 0 {
			return true
		}
	}
	return false
}

func (s *Service) pageviewHours(ctx context.Context, site string, since time.Time) (pageviewHours, time.Time, error) {
	table := derived.Table{Rollup: derived.PageStats, Bucket: derived.Hourly}.Name()
	var rows []struct {
		Hour  time.Time `ch:"hour"`
		Views uint64    `ch:"views"`
	}
	if err := s.opts.DB.Select(ctx, &rows, `SELECT hour, toUInt64(sum(pageviews)) AS views FROM `+table+`
		WHERE site = ? AND hour >= ? GROUP BY hour HAVING views > 0`, site, since.UTC()); err != nil {
		return nil, time.Time{}, fmt.Errorf("page views per hour of %s: %w", site, err)
	}
	h := make(pageviewHours, len(rows))
	var last time.Time
	for _, r := range rows {
		t := r.Hour.UTC()
		h[t] = r.Views
		last = later(last, t)
	}
	return h, last, nil
}

// alerts opens and resolves st's incidents and sends their notices.
func (s *Service) alerts(ctx context.Context, st Settings) error {
	if !st.Alerting() {
		return nil
	}
	now := s.opts.Now().UTC()
	window := time.Duration(st.StoppedHours) * time.Hour
	hours, last, err := s.pageviewHours(ctx, st.Site, now.Add(-(BaselineDays+1)*24*time.Hour-window))
	if err != nil {
		return err
	}
	known, err := s.incidents(ctx, st.Site)
	if err != nil {
		return err
	}
	var found []Incident
	if st.StoppedHours > 0 {
		found = append(found, stopped(hours, last, now, window, known)...)
	}
	if st.Spike == 1 {
		found = append(found, traffic(hours, now, known)...)
	}
	for _, inc := range found {
		if err := s.writeIncident(ctx, st.Site, inc); err != nil {
			return err
		}
	}
	if len(found) > 0 {
		if known, err = s.incidents(ctx, st.Site); err != nil {
			return err
		}
	}
	var errs []error
	for _, inc := range known {
		if now.Sub(inc.Changed) > AlertMemory && inc.State == incidentResolved {
			continue
		}
		errs = append(errs, s.notice(ctx, st, inc, incidentOpen))
		if inc.State == incidentResolved {
			errs = append(errs, s.notice(ctx, st, inc, incidentResolved))
		}
	}
	return errors.Join(errs...)
}

// stopped is the "tracking stopped" incident to open or resolve, if any: no page view
// since the hour after the last one for window, while on at least UsualDays of the
// BaselineDays before, the same hours had page views.
func stopped(hours pageviewHours, last, now time.Time, window time.Duration, known []Incident) []Incident {
	var out []Incident
	for _, inc := range known {
		if inc.Kind == AlertStopped && inc.State == incidentOpen && !last.Before(inc.Started) {
			inc.State, inc.Resolved = incidentResolved, last
			inc.Detail = fmt.Sprintf("page views again from %s", last.Format("2006-01-02 15:04 UTC"))
			out = append(out, inc)
		}
	}
	if last.IsZero() {
		return out // no page view in the baseline: nothing usual to miss
	}
	quiet := last.Add(time.Hour) // the end of the last hour with a page view
	if now.Sub(quiet) < window {
		return out
	}
	usual := 0
	for d := 1; d <= BaselineDays; d++ {
		shift := time.Duration(d) * 24 * time.Hour
		if hours.had(now.Add(-window-shift), now.Add(-shift)) {
			usual++
		}
	}
	if usual < UsualDays {
		return out
	}
	id := quiet.Format("2006-01-02T15")
	for _, inc := range known {
		if inc.Kind == AlertStopped && inc.ID == id {
			return out // known already
		}
	}
	return append(out, Incident{Kind: AlertStopped, ID: id, State: incidentOpen, Started: quiet,
		Detail: fmt.Sprintf("no page view since %s (%d h); the same hours had page views on %d of the %d days before",
			quiet.Format("2006-01-02 15:04 UTC"), int(now.Sub(quiet).Hours()), usual, BaselineDays)})
}

// traffic is the spike or drop incident of the last whole hour to open, or the one
// to resolve once an hour is back near its baseline.
func traffic(hours pageviewHours, now time.Time, known []Incident) []Incident {
	h := now.Truncate(time.Hour).Add(-time.Hour)
	cur := float64(hours[h])
	var sum float64
	for d := 1; d <= BaselineDays; d++ {
		sum += float64(hours[h.Add(-time.Duration(d)*24*time.Hour)])
	}
	base := sum / BaselineDays
	spike := cur >= SpikeFactor*base && cur >= base+SpikeMin
	drop := base >= DropMin && cur <= DropFactor*base
	var out []Incident
	for _, inc := range known {
		if (inc.Kind == AlertSpike || inc.Kind == AlertDrop) && inc.State == incidentOpen && h.After(inc.Started) && !spike && !drop {
			inc.State, inc.Resolved = incidentResolved, h
			inc.Detail = fmt.Sprintf("%.0f page views in the hour from %s, near the usual %.0f", cur, h.Format("15:04 UTC"), base)
			out = append(out, inc)
		}
	}
	kind := ""
	switch {
	case spike:
		kind = AlertSpike
	case drop:
		kind = AlertDrop
	default:
		return out
	}
	for _, inc := range known {
		if inc.Kind == kind && inc.State == incidentOpen {
			return out // one incident until it ends
		}
	}
	return append(out, Incident{Kind: kind, ID: h.Format("2006-01-02T15"), State: incidentOpen, Started: h,
		Detail: fmt.Sprintf("%.0f page views in the hour from %s UTC; that hour had %.0f on average over the %d days before",
			cur, h.Format("2006-01-02 15:04"), base, BaselineDays)})
}

func (s *Service) incidents(ctx context.Context, site string) ([]Incident, error) {
	var rows []Incident
	if err := s.opts.DB.Select(ctx, &rows, `SELECT kind, id, argMax(state, version) AS state,
		argMax(started, version) AS started, argMax(resolved, version) AS resolved,
		argMax(detail, version) AS detail, toDateTime(intDiv(max(version), 1000000000), 'UTC') AS changed
		FROM `+incidentsTable+` WHERE site = ? GROUP BY kind, id ORDER BY started, kind`, site); err != nil {
		return nil, fmt.Errorf("read incidents of %s: %w", site, err)
	}
	return rows, nil
}

// Incidents lists a site's incidents, oldest first.
func (s *Service) Incidents(ctx context.Context, site string) ([]Incident, error) {
	return s.incidents(ctx, site)
}

func (s *Service) writeIncident(ctx context.Context, site string, inc Incident) error {
	version := uint64(s.opts.Now().UnixNano())
	if inc.State == incidentResolved {
		version++ // after the open row even at the same clock reading
	}
	resolved := inc.Resolved
	if resolved.IsZero() {
		resolved = time.Unix(0, 0)
	}
	row := []any{site, inc.Kind, inc.ID, inc.State, inc.Started.UTC(), resolved.UTC(), inc.Detail, version}
	if err := s.opts.DB.Insert(ctx, incidentsTable, incidentColumns, [][]any{row}); err != nil {
		return fmt.Errorf("record incident %s %s of %s: %w", inc.Kind, inc.ID, site, err)
	}
	s.log.Info("notify: incident", "site", site, "alert", inc.Kind, "incident", inc.ID, "state", inc.State)
	return nil
}
