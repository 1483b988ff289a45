package derived

import (
	"errors"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/websystems/loendur/internal/metricreg"
)

// finalizerMetrics count the finalizer's work.
type finalizerMetrics struct {
	finalized      prometheus.Counter
	finalizeErrors prometheus.Counter
	finalizeLag    prometheus.GaugeFunc
	// lagBySite feeds finalizeLag. /metrics may be public, and a site name there would
	// tell anyone which sites are registered: the series is the worst lag of any site.
	lagMu     sync.Mutex
	lagBySite map[string]float64
}

// setFinalizeLag records how far behind now the sessions table of site is complete.
func (m *finalizerMetrics) setFinalizeLag(site string, seconds float64) {
	m.lagMu.Lock()
	defer m.lagMu.Unlock()
	m.lagBySite[site] = seconds
}

func (m *finalizerMetrics) maxFinalizeLag() float64 {
	m.lagMu.Lock()
	defer m.lagMu.Unlock()
	worst := 0.0
	for _, s := range m.lagBySite {
		worst = max(worst, s)
	}
	return worst
}

func newFinalizerMetrics(reg prometheus.Registerer) (*finalizerMetrics, error) {
	m := &finalizerMetrics{
		finalized: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loendur_sessions_finalized_total", Help: "Ended visits written to the sessions table."}),
		finalizeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loendur_sessions_finalize_errors_total", Help: "Failed finalizer runs (retried a minute later)."}),
		lagBySite: map[string]float64{},
	}
	m.finalizeLag = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "loendur_sessions_finalize_lag_seconds",
		Help: "How far behind now the sessions table is complete, for the site furthest behind."}, m.maxFinalizeLag)
	err := errors.Join(metricreg.Register(reg, &m.finalized), metricreg.Register(reg, &m.finalizeErrors),
		metricreg.Register(reg, &m.finalizeLag))
	return m, err
}
