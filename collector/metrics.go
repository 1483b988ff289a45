package collector

import "github.com/prometheus/client_golang/prometheus"

// metrics counts what the collector does; registered on the registry it is given.
type metrics struct {
	received      prometheus.Counter
	accepted      prometheus.Counter
	rejected      *prometheus.CounterVec
	dropped       *prometheus.CounterVec
	stored        prometheus.Counter
	queueLength   prometheus.GaugeFunc
	batchSize     prometheus.Histogram
	flushDuration prometheus.Histogram
	insertErrors  prometheus.Counter
	// visitorRequests counts /api/me and /api/forget by endpoint and result ("ok" or a
	// refusal reason); they are not beacons and do not count as beacon rejections.
	visitorRequests *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, queueLen func() float64) *metrics {
	m := &metrics{
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loendur_events_received_total", Help: "Beacon requests received."}),
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loendur_events_accepted_total", Help: "Events accepted into the queue (answered 202)."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loendur_events_rejected_total", Help: "Beacon requests refused, by reason."}, []string{"reason"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loendur_events_dropped_total", Help: "Events answered 202 but not stored, by reason: bot, excluded, viewport, burst, referrer_spam, gpc, dnt."}, []string{"reason"}),
		stored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loendur_events_stored_total", Help: "Events written to ClickHouse."}),
		queueLength: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "loendur_queue_length", Help: "Events waiting in memory for the batch writer."}, queueLen),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "loendur_batch_size", Help: "Events per insert.", Buckets: prometheus.ExponentialBuckets(1, 4, 9)}),
		flushDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "loendur_flush_duration_seconds", Help: "Time to insert one batch.", Buckets: prometheus.DefBuckets}),
		insertErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loendur_insert_errors_total", Help: "Failed batch inserts (each is retried)."}),
		visitorRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loendur_visitor_requests_total", Help: "Requests to /api/me and /api/forget, by endpoint and result (ok or the refusal reason)."},
			[]string{"endpoint", "result"}),
	}
	reg.MustRegister(m.received, m.accepted, m.rejected, m.dropped, m.stored, m.queueLength,
		m.batchSize, m.flushDuration, m.insertErrors, m.visitorRequests)
	for _, r := range []string{reasonBadBody, reasonBadField, reasonBadURL, reasonUnknownSite, reasonForeignURL,
		reasonTooLarge, reasonHeadersTooLarge, reasonRateLimited, reasonQueueFull, reasonStarting, reasonBadMethod, reasonBadType} {
		m.rejected.WithLabelValues(r)
	}
	for _, r := range dropReasons {
		m.dropped.WithLabelValues(r)
	}
	return m
}
