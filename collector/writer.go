package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/acceptlog"
	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/erasure"
	"github.com/websystems/loendur/internal/spool"
	"github.com/websystems/loendur/internal/store"
)

// writer drains the queue into ClickHouse in batches: by size, by time, and at shutdown.
// A batch that cannot be inserted goes to the disk spool, and while anything is spooled
// new batches go there too; a replayer drains the spool in order once ClickHouse answers.
type writer struct {
	db       store.Store
	spool    *spool.Spool   // nil: no spool, failed batches are retried in memory
	alog     *acceptlog.Log // nil: no accept log
	queue    *queue
	held     *atomic.Int64
	interval time.Duration
	log      *slog.Logger
	m        *metrics
	done     chan struct{}
	spooled  chan struct{} // wakes the replayer
	// flushes asks the writer to deliver at once what is queued; it closes the channel
	// it receives once that is stored or spooled (see Collector.WaitQueued).
	flushes chan chan struct{}
}

// Bounds of the wait between attempts at a batch that failed to insert or to spool.
// While a batch waits in memory the queue fills, and the beacon answers 503 instead of
// losing accepted events.
const (
	minRetryDelay = 100 * time.Millisecond
	maxRetryDelay = 5 * time.Second
	insertTimeout = 30 * time.Second
)

// run batches events until the queue is closed and drained, then returns. stop is
// closed when shutdown gives up waiting for a batch that can be neither inserted nor
// spooled.
func (w *writer) run(stop <-chan struct{}) {
	defer close(w.done)
	timer := time.NewTimer(w.interval)
	defer timer.Stop()
	for {
		select {
		case <-w.queue.wake:
			if w.queue.isClosed() {
				w.deliverQueued(stop)
				return
			}
			// Full batches only; a partial one waits for its interval.
			c := w.queue.take(false)
			if c == nil {
				continue
			}
			for ; c != nil; c = w.queue.take(false) {
				w.deliverChunk(c, stop)
			}
		case done := <-w.flushes:
			w.deliverQueued(stop)
			close(done)
		case <-timer.C:
			w.deliverQueued(stop)
		}
		timer.Reset(w.interval)
	}
}

// batch is the events the writer delivers in one insert, with the accept log sequence
// numbers of the first and the last (0 without a log).
type batch struct {
	events      []store.Event
	first, last uint64
}

// deliverQueued delivers every event queued when it is called, full batch or not.
// Events arriving meanwhile wait for the next batch, so that a steady stream cannot
// keep a flush (Collector.WaitQueued) from ending. After close, that is everything.
func (w *writer) deliverQueued(stop <-chan struct{}) {
	for n := w.queue.waiting(); n > 0; n-- {
		c := w.queue.take(true)
		if c == nil {
			return
		}
		w.deliverChunk(c, stop)
	}
}

// deliverChunk delivers one chunk of the queue and gives it back for reuse.
func (w *writer) deliverChunk(c *chunk, stop <-chan struct{}) {
	if len(c.events) > 0 {
		w.deliver(&batch{events: c.events, first: c.seqs[0], last: c.seqs[len(c.seqs)-1]}, stop)
	}
	w.queue.giveBack(c)
}

// deliver stores a batch in ClickHouse or, failing that, in the spool, retrying until
// one of them takes it (or stop). Either way the batch is then safe and may leave memory.
func (w *writer) deliver(pending *batch, stop <-chan struct{}) {
	events := pending.events
	if len(events) == 0 {
		return
	}
	b := spool.Batch{ID: uuid.New(), Events: events}
	defer w.held.Add(-int64(len(events)))
	if w.alog != nil {
		if err := w.alog.Delivering(pending.first, pending.last, b.ID); err != nil {
			w.log.Error("accept log: marking a batch as being delivered", "err", err)
		}
	}
	delay := minRetryDelay
	for {
		if w.spoolEmpty() && w.insert(b) == nil {
			w.delivered(pending.last)
			return
		}
		if w.spool != nil {
			err := w.spool.Append(b)
			if err == nil {
				w.delivered(pending.last)
				w.wakeReplayer()
				return
			}
			if errors.Is(err, spool.ErrFull) {
				w.log.Error("spool full: holding the batch in memory; the beacon answers 503 when the queue fills", "events", len(events))
			} else {
				w.log.Error("spool write failed", "events", len(events), "err", err)
			}
		}
		select {
		case <-stop:
			if w.alog != nil {
				w.log.Error("shutdown: batch neither stored nor spooled; left in the accept log for the next start", "events", len(events))
			} else {
				w.log.Error("shutdown: batch neither stored nor spooled; lost", "events", len(events))
			}
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, maxRetryDelay)
	}
}

// delivered marks the batch just stored or spooled, up to sequence number last, in the
// accept log.
func (w *writer) delivered(last uint64) {
	if w.alog != nil {
		if err := w.alog.Delivered(last); err != nil {
			w.log.Error("accept log: marking a batch as delivered", "err", err)
		}
	}
}

func (w *writer) spoolEmpty() bool {
	if w.spool == nil {
		return true
	}
	n, _ := w.spool.Stats()
	return n == 0
}

// insert writes one batch, with its id as the deduplication token so that a retry of
// an insert that did land is dropped by engines that support it.
func (w *writer) insert(b spool.Batch) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(store.WithInsertToken(context.Background(), b.ID.String()), insertTimeout)
	defer cancel()
	if err := store.InsertEvents(ctx, w.db, b.Events); err != nil {
		w.m.insertErrors.Inc()
		w.log.Warn("insert batch failed", "events", len(b.Events), "err", err)
		return err
	}
	w.m.flushDuration.Observe(time.Since(start).Seconds())
	w.m.batchSize.Observe(float64(len(b.Events)))
	w.m.stored.Add(float64(len(b.Events)))
	return nil
}

// landed reports whether a spooled batch is already in ClickHouse: an insert can land
// and still report an error (the server killed before it answered). One insert of a
// batch is one block, so its first and last event ids tell; asking costs one query per
// replayed batch, which only an outage or a crash causes.
//
// On a cluster it is never looked up: an insert that failed on one shard may have
// landed on another, so the batch is always inserted again, whole, and each shard's
// replicated tables drop the identical part they hold already (Features.ReplicatedDedup).
func (w *writer) landed(b spool.Batch) bool {
	if len(b.Events) == 0 || w.db.Info().Features().ReplicatedDedup {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), insertTimeout)
	defer cancel()
	for _, e := range []*store.Event{&b.Events[0], &b.Events[len(b.Events)-1]} {
		if ok, err := eventStored(ctx, w.db, e); err != nil || !ok {
			return false
		}
	}
	return true
}

// eventStored reports whether ClickHouse holds the event.
func eventStored(ctx context.Context, db store.Store, e *store.Event) (bool, error) {
	var rows []struct {
		N uint64 `ch:"n"`
	}
	err := db.Select(ctx, &rows, `SELECT count() AS n FROM events
		WHERE site = ? AND timestamp = ? AND event_id = toUUID(?)`, e.Site, e.Timestamp, e.EventID.String())
	if err != nil {
		return false, fmt.Errorf("look up an event of the batch: %w", err)
	}
	return len(rows) > 0 && rows[0].N > 0, nil
}

// repairRollups rebuilds the rollups of the days of a batch that was found stored after
// its insert failed. The insert that stored its events may have died before every
// materialized view had written its part (they are separate parts, and ClickHouse 18.16
// writes them one after the other); a repeated insert would duplicate the events on
// 18.16, and on newer engines the deduplicated repeat skips the views altogether. So the
// days' rollups are recomputed from events instead, which is right whatever the dead
// insert managed.
func repairRollups(ctx context.Context, db store.Store, events []store.Event) error {
	cat, err := erasure.Discover(ctx, db)
	if err != nil {
		return fmt.Errorf("repair rollups: %w", err)
	}
	days := map[string]map[string]bool{} // site -> UTC days
	for i := range events {
		e := &events[i]
		if days[e.Site] == nil {
			days[e.Site] = map[string]bool{}
		}
		days[e.Site][e.Timestamp.UTC().Format(time.DateOnly)] = true
	}
	for site, set := range days {
		if err := erasure.Recompute(ctx, db, site, slices.Sorted(maps.Keys(set)), cat.Rollups); err != nil {
			return fmt.Errorf("repair rollups of %s: %w", site, err)
		}
	}
	return nil
}

// storeSpooled inserts a spooled batch, or, when an earlier insert of it did land,
// rebuilds its rollups instead; false means neither worked, for now. A batch that
// arrives after the finalizer wrote the visits of its time has those days rebuilt.
func (w *writer) storeSpooled(b spool.Batch) bool {
	if w.landed(b) {
		return w.repaired(b)
	}
	if w.insert(b) != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), insertTimeout)
	defer cancel()
	if err := rebuildLateVisits(ctx, w.db, b.Events); err != nil {
		// The events are stored; only the visits of their days are short of them.
		w.log.Warn("spooled batch stored, but the visits of its days could not be rebuilt", "err", err)
	}
	return true
}

// rebuildLateVisits rebuilds what derives from the events of sites whose visits were
// written past the events' time already: the finalizer will not come back for them.
func rebuildLateVisits(ctx context.Context, db store.Store, events []store.Event) error {
	late := map[string][]store.Event{}
	for i := range events {
		late[events[i].Site] = append(late[events[i].Site], events[i])
	}
	for site, evs := range late {
		done, err := derived.Done(ctx, db, site)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(evs, func(e store.Event) bool { return e.Timestamp.Before(done) }) {
			delete(late, site)
		}
	}
	var all []store.Event
	for _, evs := range late {
		all = append(all, evs...)
	}
	if len(all) == 0 {
		return nil
	}
	return repairRollups(ctx, db, all)
}

// ack removes a stored batch from the spool.
func (w *writer) ack(b spool.Batch) bool {
	if err := w.spool.Ack(b.ID); err != nil && !errors.Is(err, spool.ErrNotSpooled) {
		w.log.Error("acknowledge spooled batch", "err", err)
		return false
	}
	w.log.Info("spooled batch replayed", "events", len(b.Events))
	return true
}

// repaired rebuilds the rollups of a batch found already stored; false means it
// failed, and the batch stays spooled for the next attempt.
func (w *writer) repaired(b spool.Batch) bool {
	ctx, cancel := context.WithTimeout(context.Background(), insertTimeout)
	defer cancel()
	if err := repairRollups(ctx, w.db, b.Events); err != nil {
		w.log.Warn("spooled batch was already stored, but its rollups could not be rebuilt; trying again", "err", err)
		return false
	}
	w.log.Info("spooled batch was already stored; rollups of its days rebuilt instead of inserting it again", "events", len(b.Events))
	return true
}

func (w *writer) wakeReplayer() {
	select {
	case w.spooled <- struct{}{}:
	default:
	}
}

// replay drains the spool into ClickHouse, oldest batch first, until ctx ends.
func (w *writer) replay(ctx context.Context) {
	if w.spool == nil {
		return
	}
	delay := minRetryDelay
	for {
		b, ok, err := w.spool.Oldest()
		switch {
		case err != nil:
			w.log.Error("read spool", "err", err)
		case !ok:
			delay = minRetryDelay
			select {
			case <-ctx.Done():
				return
			case <-w.spooled:
			case <-time.After(time.Second):
			}
			continue
		case w.storeSpooled(b) && w.ack(b):
			delay = minRetryDelay
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, maxRetryDelay)
	}
}
