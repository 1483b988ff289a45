package reports

import (
	"errors"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics counts report queries and the finalizer's work.
type metrics struct {
	queryDuration  *prometheus.HistogramVec
	queryErrors    *prometheus.CounterVec
	finalized      prometheus.Counter
	finalizeErrors prometheus.Counter
	finalizeLag    prometheus.GaugeFunc
	// lagBySite feeds finalizeLag. /metrics may be public, and a site name there would
	// tell anyone which sites are registered: the series is the worst lag of any site.
	lagMu     sync.Mutex
	lagBySite map[string]float64
}

// setFinalizeLag records how far behind now the sessions table of site is complete.
func (m *metrics) setFinalizeLag(site string, seconds float64) {
	m.lagMu.Lock()
	defer m.lagMu.Unlock()
	m.lagBySite[site] = seconds
}

func (m *metrics) maxFinalizeLag() float64 {
	m.lagMu.Lock()
	defer m.lagMu.Unlock()
	worst := 0.0
	for _, s := range m.lagBySite {
		worst = max(worst, s)
	}
	return worst
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
		lagBySite: map[string]float64{},
	}
	m.finalizeLag = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "loendur_sessions_finalize_lag_seconds",
		Help: "How far behind now the sessions table is complete, for the site furthest behind."}, m.maxFinalizeLag)
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.queryDuration, m.queryErrors, m.finalized, m.finalizeErrors, m.finalizeLag} {
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
