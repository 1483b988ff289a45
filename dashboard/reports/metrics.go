package reports

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics counts report queries and the finalizer's work.
type metrics struct {
	queryDuration   *prometheus.HistogramVec
	queryErrors     *prometheus.CounterVec
	finalized       prometheus.Counter
	finalizeErrors  prometheus.Counter
	finalizeLagSecs *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		queryDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "loendur_report_query_duration_seconds", Help: "Time of one report query, by query.",
			Buckets: []float64{.005, .01, .025, .05, .1, .2, .3, .5, 1, 2.5, 5, 10}}, []string{"query"}),
		queryErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loendur_report_query_errors_total", Help: "Report queries that failed, by query."}, []string{"query"}),
		finalized: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loendur_sessions_finalized_total", Help: "Ended visits written to the sessions table."}),
		finalizeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loendur_sessions_finalize_errors_total", Help: "Failed finalizer runs (retried a minute later)."}),
		finalizeLagSecs: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "loendur_sessions_finalize_lag_seconds", Help: "How far behind now the sessions table of a site is complete."}, []string{"site"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.queryDuration, m.queryErrors, m.finalized, m.finalizeErrors, m.finalizeLagSecs} {
		if err := reg.Register(c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if errors.As(err, &already) {
				continue
			}
			return nil, err
		}
	}
	return m, nil
}
