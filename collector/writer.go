package collector

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/websystems/loendur/internal/store"
)

// writer drains the queue into ClickHouse in batches: by size, by time, and at shutdown.
type writer struct {
	db        store.Store
	queue     chan store.Event
	held      *atomic.Int64
	batchSize int
	interval  time.Duration
	log       *slog.Logger
	m         *metrics
	done      chan struct{}
}

// retryDelay bounds the wait between attempts at a batch that failed to insert. While a
// batch is retried the queue fills, and the beacon answers 503 instead of losing events.
const (
	minRetryDelay = 100 * time.Millisecond
	maxRetryDelay = 5 * time.Second
)

// run batches events until the queue is closed and drained, then returns. A batch that
// fails is retried until it is stored or stop is closed (shutdown gave up waiting).
func (w *writer) run(stop <-chan struct{}) {
	defer close(w.done)
	batch := make([]store.Event, 0, min(w.batchSize, 4096))
	timer := time.NewTimer(w.interval)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-w.queue:
			if !ok {
				w.flush(batch, stop)
				return
			}
			batch = append(batch, ev)
			if len(batch) < w.batchSize {
				continue
			}
		case <-timer.C:
		}
		batch = w.flush(batch, stop)
		timer.Reset(w.interval)
	}
}

// flush inserts the batch, retrying with backoff, and returns the emptied slice.
func (w *writer) flush(batch []store.Event, stop <-chan struct{}) []store.Event {
	if len(batch) == 0 {
		return batch
	}
	delay := minRetryDelay
	for {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := store.InsertEvents(ctx, w.db, batch)
		cancel()
		if err == nil {
			w.m.flushDuration.Observe(time.Since(start).Seconds())
			w.m.batchSize.Observe(float64(len(batch)))
			w.m.stored.Add(float64(len(batch)))
			w.held.Add(-int64(len(batch)))
			return batch[:0]
		}
		w.m.insertErrors.Inc()
		w.log.Error("insert batch failed; retrying", "events", len(batch), "retry_in", delay, "err", err)
		select {
		case <-stop:
			w.log.Error("shutdown: giving up on unstored batch", "events", len(batch))
			w.held.Add(-int64(len(batch)))
			return batch[:0]
		case <-time.After(delay):
		}
		delay = min(2*delay, maxRetryDelay)
	}
}
