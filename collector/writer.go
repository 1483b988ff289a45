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
	"github.com/websystems/loendur/internal/store/literal"
)

// writer drains the queue into ClickHouse in batches: by size, by time, and at shutdown.
// A batch that cannot be inserted goes to the disk spool, and while anything is spooled
// new batches go there too; a replayer drains the spool in order once ClickHouse answers.
type writer struct {
	db    store.Store
	spool *spool.Spool   // nil: no spool, failed batches are retried in memory
	alog  *acceptlog.Log // nil: no accept log
	queue *queue
	held  *atomic.Int64
	// batchSize is the most events one insert takes (Options.BatchSize): whole chunks
	// of the queue, as many as fit.
	batchSize int
	interval  time.Duration
	log       *slog.Logger
	m         *metrics
	done      chan struct{}
	spooled   chan struct{} // wakes the replayer
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

// maxChunkEvents bounds the queue's chunks. ClickHouse's cost is mostly per insert
// (DefaultBatchSize), so a server's batch is larger than this; the queue still holds it
// in chunks of at most this many events, inserted together without a copy
// (store.InsertEventChunks), because a chunk is allocated whole and a couple are kept
// for reuse: memory then follows the traffic rather than the batch size.
const maxChunkEvents = 10_000

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
			// A full batch goes at once; less waits for the interval (and the timer
			// keeps running: it is not reset below).
			if w.queue.full()*w.queue.batch < w.batchSize {
				continue
			}
			for w.queue.full()*w.queue.batch >= w.batchSize {
				w.deliverChunks(w.takeChunks(w.queue.full(), false), stop)
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

// batch is the events the writer delivers in one insert, chunk by chunk, with the accept
// log sequence numbers of the first and the last (0 without a log).
type batch struct {
	chunks      [][]store.Event
	events      int
	first, last uint64
}

// deliverQueued delivers every event queued when it is called, full batch or not.
// Events arriving meanwhile wait for the next batch, so that a steady stream cannot
// keep a flush (Collector.WaitQueued) from ending. After close, that is everything.
func (w *writer) deliverQueued(stop <-chan struct{}) {
	for n := w.queue.waiting(); n > 0; {
		taken := w.takeChunks(n, true)
		if len(taken) == 0 {
			return
		}
		n -= len(taken)
		w.deliverChunks(taken, stop)
	}
}

// takeChunks takes up to n of the oldest chunks, as many as one insert may hold (at
// least one); partial allows a chunk that is still filling.
func (w *writer) takeChunks(n int, partial bool) []*chunk {
	var taken []*chunk
	events := 0
	for len(taken) < n {
		if len(taken) > 0 && events+w.queue.batch > w.batchSize {
			break
		}
		c := w.queue.take(partial)
		if c == nil {
			break
		}
		taken = append(taken, c)
		events += len(c.events)
	}
	return taken
}

// deliverChunks delivers chunks of the queue in one insert and gives them back for reuse.
func (w *writer) deliverChunks(chunks []*chunk, stop <-chan struct{}) {
	b := batch{chunks: make([][]store.Event, 0, len(chunks))}
	for _, c := range chunks {
		if len(c.events) == 0 {
			continue
		}
		if b.events == 0 {
			b.first = c.seqs[0]
		}
		b.chunks = append(b.chunks, c.events)
		b.events += len(c.events)
		b.last = c.seqs[len(c.seqs)-1]
	}
	if b.events > 0 {
		w.deliver(&b, stop)
	}
	for _, c := range chunks {
		w.queue.giveBack(c)
	}
}

// deliver stores a batch in ClickHouse or, failing that, in the spool, retrying until
// one of them takes it (or stop). Either way the batch is then safe and may leave memory.
func (w *writer) deliver(pending *batch, stop <-chan struct{}) {
	id := uuid.New()
	defer w.held.Add(-int64(pending.events))
	if w.alog != nil {
		if err := w.alog.Delivering(pending.first, pending.last, id); err != nil {
			w.log.Error("accept log: marking a batch as being delivered", "err", err)
		}
	}
	delay := minRetryDelay
	for {
		if w.spoolEmpty() && w.insert(id, pending.chunks) == nil {
			w.delivered(pending.last)
			return
		}
		if w.spool != nil {
			err := w.spool.Append(spool.Batch{ID: id, Events: slices.Concat(pending.chunks...)})
			if err == nil {
				w.delivered(pending.last)
				w.wakeReplayer()
				return
			}
			if errors.Is(err, spool.ErrFull) {
				w.log.Error("spool full: holding the batch in memory; the beacon answers 503 when the queue fills", "events", pending.events)
			} else {
				w.log.Error("spool write failed", "events", pending.events, "err", err)
			}
		}
		select {
		case <-stop:
			if w.alog != nil {
				w.log.Error("shutdown: batch neither stored nor spooled; left in the accept log for the next start", "events", pending.events)
			} else {
				w.log.Error("shutdown: batch neither stored nor spooled; lost", "events", pending.events)
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
func (w *writer) insert(id uuid.UUID, chunks [][]store.Event) error {
	start := time.Now()
	n := 0
	for _, c := range chunks {
		n += len(c)
	}
	ctx, cancel := context.WithTimeout(store.WithInsertToken(context.Background(), id.String()), insertTimeout)
	defer cancel()
	if err := store.InsertEventChunks(ctx, w.db, chunks); err != nil {
		w.m.insertErrors.Inc()
		w.log.Warn("insert batch failed", "events", n, "err", err)
		return err
	}
	w.m.flushDuration.Observe(time.Since(start).Seconds())
	w.m.batchSize.Observe(float64(n))
	w.m.stored.Add(float64(n))
	return nil
}

// storeSpooled stores a spooled batch; false means not now, and the batch stays spooled.
//
// An insert can land and still report an error (the server killed before it answered),
// and ClickHouse writes a materialized view's part only after the events part: such an
// insert may have stored the events without the rollups' parts. On one server the
// batch is then not inserted again (18.16 would store it twice); on a cluster it is,
// whole, and each shard's replicated table drops the part it holds already, but 18.16
// then skips the views of that part too. Either way the batch's days are left for a
// repair (repairDue), as are the days of a batch stored after the finalizer wrote the
// visits of its time. They are recorded in the spool before the batch is acknowledged.
func (w *writer) storeSpooled(b spool.Batch) bool {
	ctx, cancel := context.WithTimeout(context.Background(), insertTimeout)
	defer cancel()
	stored, err := storedBefore(ctx, w.db, b.Events)
	if err != nil {
		w.log.Warn("spooled batch: looking up whether it was stored", "err", err)
		return false
	}
	if !stored || w.db.Info().Features().ReplicatedDedup {
		if w.insert(b.ID, [][]store.Event{b.Events}) != nil {
			return false
		}
	}
	repairs, err := daysToRepair(ctx, w.db, b.Events, stored)
	if err == nil {
		err = w.spool.AddRepairs(repairs)
	}
	if err != nil {
		// The events are stored; the replay of the batch (found stored then) records them.
		w.log.Warn("spooled batch stored, but the days to repair could not be recorded; trying again", "err", err)
		return false
	}
	if stored {
		w.log.Info("spooled batch was stored already; its days' rollups will be computed again", "events", len(b.Events), "days", len(repairs))
	}
	return true
}

// storedBefore reports whether an earlier insert stored any event of the batch. On one
// server an insert of a batch is one block, stored whole or not at all, so its first
// and last event tell. On a cluster each shard stores its part or not, so every event is
// looked up, in chunks that keep each query short; this costs queries only on replay,
// which only an outage or a crash causes.
func storedBefore(ctx context.Context, db store.Store, events []store.Event) (bool, error) {
	if len(events) == 0 {
		return false, nil
	}
	if !db.Info().Features().ReplicatedDedup {
		for _, e := range []*store.Event{&events[0], &events[len(events)-1]} {
			if ok, err := anyStored(ctx, db, []store.Event{*e}); err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	}
	const chunk = 1000
	for i := 0; i < len(events); i += chunk {
		if ok, err := anyStored(ctx, db, events[i:min(i+chunk, len(events))]); err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// anyStored reports whether ClickHouse holds any of the events.
func anyStored(ctx context.Context, db store.Store, events []store.Event) (bool, error) {
	sites := map[string]bool{}
	ids := make([]string, len(events))
	for i := range events {
		sites[events[i].Site] = true
		ids[i] = events[i].EventID.String()
	}
	byTime := func(a, b store.Event) int { return a.Timestamp.Compare(b.Timestamp) }
	from, to := slices.MinFunc(events, byTime).Timestamp, slices.MaxFunc(events, byTime).Timestamp
	var rows []struct {
		N uint64 `ch:"n"`
	}
	err := db.Select(ctx, &rows, "SELECT count() AS n FROM events WHERE site IN "+literal.StringList(slices.Sorted(maps.Keys(sites)))+
		" AND timestamp BETWEEN ? AND ? AND toString(event_id) IN "+literal.StringList(ids), from, to)
	if err != nil {
		return false, fmt.Errorf("look up the events of a batch: %w", err)
	}
	return len(rows) > 0 && rows[0].N > 0, nil
}

// daysToRepair are the site days of a spooled batch whose derived tables must be
// computed again: all of them when an earlier insert had stored the batch, else those
// of events older than their site's written visits (the finalizer will not come back
// for them).
func daysToRepair(ctx context.Context, db store.Store, events []store.Event, stored bool) ([]spool.Repair, error) {
	done := map[string]time.Time{}
	set := map[spool.Repair]bool{}
	for i := range events {
		e := &events[i]
		if !stored {
			d, ok := done[e.Site]
			if !ok {
				var err error
				if d, err = derived.Done(ctx, db, e.Site); err != nil {
					return nil, err
				}
				done[e.Site] = d
			}
			if !e.Timestamp.Before(d) {
				continue
			}
		}
		set[spool.Repair{Site: e.Site, Day: e.Timestamp.UTC().Format(time.DateOnly)}] = true
	}
	return slices.Collect(maps.Keys(set)), nil
}

// A day's repair deletes its derived rows and computes them again from events, once
// more if events landed meanwhile (derived.RebuildDays); events that keep landing would
// still be counted twice. It therefore waits until nothing writes the day: until its
// site has stored no event for repairQuiet (or three flush intervals, if longer) while
// this process holds none and its spool is empty, or until the day has been over for
// repairLateness (a busy site's day is repaired after it ends).
const (
	repairQuiet    = 10 * time.Second
	repairLateness = time.Hour
	repairEvery    = 5 * time.Second
)

// repairDue repairs the recorded days that are due; the others wait for a later call.
func (w *writer) repairDue(ctx context.Context) {
	now := time.Now()
	due := map[string][]string{} // site -> days
	quiet := map[string]bool{}
	for _, r := range w.spool.Repairs() {
		day, err := time.Parse(time.DateOnly, r.Day)
		if err == nil && now.Before(day.Add(24*time.Hour+repairLateness)) {
			q, seen := quiet[r.Site]
			if !seen {
				if q, err = w.quiet(ctx, r.Site, now); err != nil {
					w.log.Warn("repair of replayed or erased days: looking up the site's latest events", "err", err)
				}
				quiet[r.Site] = q
			}
			if !q {
				continue
			}
		}
		due[r.Site] = append(due[r.Site], r.Day)
	}
	for site, days := range due {
		if err := repairDays(ctx, w.db, site, days); err != nil {
			w.log.Warn("repair of replayed or erased days failed; trying again", "days", len(days), "err", err)
			continue
		}
		for _, d := range days {
			if err := w.spool.Repaired(spool.Repair{Site: site, Day: d}); err != nil {
				w.log.Error("repair of replayed or erased days: forgetting a repaired day", "err", err)
			}
		}
		w.log.Info("rollups and visits of replayed or erased days computed again from events", "days", len(days))
	}
}

// quiet reports whether nothing is writing site's events: this process holds none and
// has nothing spooled, and no event of the site was stored in the last quiet period.
func (w *writer) quiet(ctx context.Context, site string, now time.Time) (bool, error) {
	if (w.held != nil && w.held.Load() > 0) || !w.spoolEmpty() {
		return false, nil
	}
	var rows []struct {
		N uint64 `ch:"n"`
	}
	since := now.Add(-max(repairQuiet, 3*w.interval))
	if err := w.db.Select(ctx, &rows, "SELECT count() AS n FROM events WHERE site = ? AND timestamp > ?", site, since); err != nil {
		return false, err
	}
	return len(rows) > 0 && rows[0].N == 0, nil
}

// repairDays computes the derived tables of a site's UTC days again from events.
func repairDays(ctx context.Context, db store.Store, site string, days []string) error {
	cat, err := erasure.Discover(ctx, db)
	if err != nil {
		return fmt.Errorf("repair rollups: %w", err)
	}
	slices.Sort(days)
	if err := erasure.Recompute(ctx, db, site, days, cat.Rollups); err != nil {
		return fmt.Errorf("repair rollups of %s: %w", site, err)
	}
	return nil
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
	var lastRepair time.Time
	for {
		b, ok, err := w.spool.Oldest()
		switch {
		case err != nil:
			w.log.Error("read spool", "err", err)
		case !ok:
			delay = minRetryDelay
			if time.Since(lastRepair) >= repairEvery {
				w.repairDue(ctx)
				lastRepair = time.Now()
			}
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
