package dashboard

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	logins *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{logins: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "loendur_dashboard_logins_total",
		Help: "Dashboard sign-in attempts by result: ok, failed, throttled, error.",
	}, []string{"result"})}
	if reg == nil {
		return m, nil
	}
	if err := reg.Register(m.logins); err != nil {
		return nil, fmt.Errorf("register dashboard metrics: %w", err)
	}
	return m, nil
}
