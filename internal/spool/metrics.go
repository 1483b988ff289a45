package spool

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/websystems/loendur/internal/metricreg"
)

// metrics describe the spool; none has a label, and none carries event content.
type metrics struct {
	bytes       prometheus.Gauge
	batches     prometheus.Gauge
	corrupt     prometheus.Counter
	full        prometheus.Counter
	quarantined prometheus.Counter
	repairs     prometheus.Gauge
}

// newMetrics creates the metrics and registers them on reg, if any. A spool opened
// again on the same registry (after Close) takes over the metrics already there.
func newMetrics(reg prometheus.Registerer) (metrics, error) {
	m := metrics{
		bytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "loendur_spool_bytes", Help: "Bytes the disk spool holds, counted against its bound."}),
		batches: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "loendur_spool_batches", Help: "Batches waiting in the disk spool to be replayed into ClickHouse."}),
		corrupt: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loendur_spool_corrupt_records_total", Help: "Damaged spool records found (torn or failing a checksum) and quarantined, each with whatever followed it in its segment."}),
		full: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loendur_spool_full_total", Help: "Batches refused because the disk spool was full."}),
		quarantined: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loendur_spool_quarantined_bytes_total", Help: "Bytes of damaged spool records moved to the quarantine folder."}),
		repairs: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "loendur_spool_repairs", Help: "Site days whose derived tables wait to be computed again from events, after a replayed batch or an erasure of today (see Repair)."}),
	}
	err := errors.Join(metricreg.Register(reg, &m.bytes), metricreg.Register(reg, &m.batches),
		metricreg.Register(reg, &m.corrupt), metricreg.Register(reg, &m.full), metricreg.Register(reg, &m.quarantined),
		metricreg.Register(reg, &m.repairs))
	return m, err
}
