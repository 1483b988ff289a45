package acceptlog

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics measure what a power cut could cost: at each fsync of the accept log, how
// many events had been written and not yet fsynced, and how old the oldest of them
// was when the fsync returned. None has a label, and none carries event content.
type metrics struct {
	age         prometheus.Histogram
	peakEvents  prometheus.Gauge
	peakSeconds prometheus.Gauge
	errors      prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (metrics, error) {
	m := metrics{
		age: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "loendur_accept_log_unsynced_age_seconds",
			Help: "At each fsync of the accept log, the age of the oldest event written and not yet fsynced: how much a power cut just before it would have lost, in time.",
			// Around the --accept-log-sync default (0.1 s) and the --flush-interval one (1 s).
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .125, .15, .2, .25, .5, 1, 1.25, 1.5, 2, 5, 10}}),
		peakEvents: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "loendur_accept_log_unsynced_events_peak",
			Help: "Most events written to the accept log and not yet fsynced, seen at an fsync since start: what a power cut at the worst moment would have lost."}),
		peakSeconds: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "loendur_accept_log_unsynced_seconds_peak",
			Help: "Oldest age of an event written to the accept log and not yet fsynced, seen at an fsync since start: the longest window a power cut could have cost."}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loendur_accept_log_fsync_errors_total",
			Help: "Failed fsyncs of the accept log (each is retried)."}),
	}
	if reg == nil {
		return m, nil
	}
	return m, errors.Join(reg.Register(m.age), reg.Register(m.peakEvents), reg.Register(m.peakSeconds),
		reg.Register(m.errors))
}
