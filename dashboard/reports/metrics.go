package reports

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/websystems/loendur/internal/metricreg"
)

// metrics counts report queries (the finalizer's are internal/derived's).
type metrics struct {
	queryDuration *prometheus.HistogramVec
	queryErrors   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		queryDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "loendur_report_query_duration_seconds", Help: "Time of one report query, by query.",
			Buckets: []float64{.005, .01, .025, .05, .1, .2, .3, .5, 1, 2.5, 5, 10}}, []string{"query"}),
		queryErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loendur_report_query_errors_total", Help: "Report queries that failed, by query."}, []string{"query"}),
	}
	err := errors.Join(metricreg.Register(reg, &m.queryDuration), metricreg.Register(reg, &m.queryErrors))
	return m, err
}
