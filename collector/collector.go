// Package collector receives beacons: it parses, validates and enriches each event in
// its request, queues it in memory, and a batch writer stores the queue in ClickHouse.
// The beacon never waits for the database.
package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/websystems/loendur/internal/acceptlog"
	"github.com/websystems/loendur/internal/clientip"
	"github.com/websystems/loendur/internal/dropcount"
	"github.com/websystems/loendur/internal/erasure"
	"github.com/websystems/loendur/internal/exclusion"
	"github.com/websystems/loendur/internal/geo"
	"github.com/websystems/loendur/internal/pageurl"
	"github.com/websystems/loendur/internal/privacy"
	"github.com/websystems/loendur/internal/referrer"
	"github.com/websystems/loendur/internal/salt"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/spool"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/useragent"
)

// Defaults for Options left zero.
const (
	DefaultQueueSize     = 100_000
	DefaultFlushInterval = time.Second
	DefaultRateLimit     = 20 // events per second per client address, burst twice that
)

// DefaultBatchSize is the most events one insert takes unless Options.BatchSize says:
// 20,000 on a ClickHouse server, 10,000 on the embedded engine. ClickHouse's cost is
// mostly per insert (make bench, BENCHMARKS.md: the server's CPU per event fell from 23
// to 15 µs from 10,000 to 20,000 events per insert, and to 10 µs at 40,000), while the
// collector's memory grows with the insert (the encoded batch; the embedded engine's
// own parse of it is inside the process): 20,000 keeps a server's collector under
// 256 MB of anonymous memory, and the embedded engine needs 10,000 for that.
func DefaultBatchSize(engine string) int {
	if engine == "embedded" {
		return 10_000
	}
	return 20_000
}

// Options configure a Collector. DB, Sites, Salts and Log are required.
type Options struct {
	DB            store.Store
	Sites         *sites.Registry
	Salts         *salt.Keeper
	Geo           *geo.Reader // nil: no geo lookup
	Proxies       *clientip.Resolver
	Truncator     privacy.Truncator
	Registry      prometheus.Registerer
	Log           *slog.Logger
	QueueSize     int
	BatchSize     int
	FlushInterval time.Duration
	RateLimit     float64 // per second per address; negative disables
	SessionSync   time.Duration
	// Spool takes batches ClickHouse refuses, for replay; nil keeps them in memory.
	Spool *spool.Spool
	// Erasure carries out /api/forget, shared with the dashboard of this process so
	// that their erasures run one at a time; its Queue must be this collector. nil: one
	// of its own, with this collector's queue and spool.
	Erasure *erasure.Service
	// AcceptLog is the folder of the accept log, where each event is written before
	// its 202 so that a killed process loses nothing accepted; it needs Spool, where
	// the next start puts what was not delivered. Empty: no accept log.
	AcceptLog string
	// AcceptLogSync bounds how long an event written to the accept log may wait for
	// an fsync, so what a power cut can cost (see acceptlog.DefaultSyncInterval). 0:
	// the log is fsynced only when the writer begins delivering a batch.
	AcceptLogSync time.Duration
	// Exclusions are the sites' admin-managed exclusions (addresses, user agents); nil:
	// none.
	Exclusions *exclusion.Set
	// ReferrerSpam lists referrer-spam hosts; a page view from one is dropped. nil: none.
	ReferrerSpam *referrer.SpamList
	Now          func() time.Time
}

// Collector is the beacon endpoint plus its queue and writer.
type Collector struct {
	opts     Options
	ua       *useragent.Parser
	refs     *referrer.Parser
	pages    *pageurl.Parser
	sessions *sessions
	clock    clock // stamps events in arrival order
	limiter  *rateLimiter
	queue    *queue
	// held counts accepted events not yet stored: in the queue or in the writer's
	// batch. It, not the queue itself, is what QueueSize bounds.
	held    atomic.Int64
	writer  *writer
	alog    *acceptlog.Log // nil: none
	m       *metrics
	stopped chan struct{}
	// lastFullWarn is the Unix second of the last "queue full" log line.
	lastFullWarn atomic.Int64
	privacyEP    *privacyEndpoints // /api/forget and /api/me
	// lastLogWarn is the Unix second of the last "accept log write failed" log line.
	lastLogWarn atomic.Int64
	drops       dropcount.Counter // per site, day and reason, until FlushDrops
	// lastDropWarn is the Unix second of the last "drop counts not stored" log line.
	lastDropWarn atomic.Int64
}

// New builds a collector; Start runs its background work, Register adds its routes to
// the process's app.
func New(opts Options) (*Collector, error) {
	if opts.DB == nil || opts.Sites == nil || opts.Salts == nil || opts.Log == nil {
		return nil, errors.New("collector: DB, Sites, Salts and Log are required")
	}
	setDefaults(&opts)
	c := &Collector{
		opts:      opts,
		ua:        useragent.NewParser(10_000),
		refs:      referrer.NewParser(10_000),
		pages:     pageurl.NewParser(10_000),
		sessions:  newSessions(1_000_000),
		limiter:   newRateLimiter(opts.RateLimit, 100_000),
		queue:     newQueue(min(opts.BatchSize, maxChunkEvents), opts.QueueSize),
		stopped:   make(chan struct{}),
		privacyEP: newPrivacyEndpoints(),
	}
	c.m = newMetrics(opts.Registry, func() float64 { return float64(c.held.Load()) })
	if opts.AcceptLog != "" && opts.Spool != nil {
		alog, err := c.openAcceptLog()
		if err != nil {
			return nil, err
		}
		c.alog = alog
	}
	c.writer = &writer{alog: c.alog, db: opts.DB, spool: opts.Spool, queue: c.queue, held: &c.held, batchSize: opts.BatchSize,
		interval: opts.FlushInterval, log: opts.Log, m: c.m, done: make(chan struct{}), spooled: make(chan struct{}, 1),
		flushes: make(chan chan struct{})}
	if c.opts.Erasure == nil {
		eo := erasure.ServiceOptions{DB: opts.DB, Queue: c, Now: opts.Now, Log: opts.Log}
		if opts.Spool != nil { // a nil *spool.Spool in the interface would not be nil
			eo.Spool = opts.Spool
		}
		c.opts.Erasure = erasure.NewService(eo)
	}
	return c, nil
}

func setDefaults(o *Options) {
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize(o.DB.Info().Engine)
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.RateLimit == 0 {
		o.RateLimit = DefaultRateLimit
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Proxies == nil {
		o.Proxies, _ = clientip.NewResolver(nil)
	}
	if o.Truncator == (privacy.Truncator{}) {
		o.Truncator = privacy.Truncator{V4Bits: privacy.DefaultV4Bits, V6Bits: privacy.DefaultV6Bits}
	}
}

// Start warms the session table from ClickHouse and starts the writer and housekeeping.
func (c *Collector) Start(ctx context.Context) {
	if n, err := c.sessions.syncFrom(ctx, c.opts.DB, c.opts.Now().Add(-privacy.SessionTimeout)); err != nil {
		c.opts.Log.Warn("could not warm sessions from the database; visits in progress may be split", "err", err)
	} else if n > 0 {
		c.opts.Log.Info("sessions in progress restored", "visitors", n)
	}
	go c.writer.run(c.stopped)
	go c.writer.replay(ctx)
	go c.housekeep(ctx)
}

func (c *Collector) housekeep(ctx context.Context) {
	sweep := time.NewTicker(time.Minute)
	defer sweep.Stop()
	drops := time.NewTicker(c.opts.FlushInterval)
	defer drops.Stop()
	var sync <-chan time.Time
	if c.opts.SessionSync > 0 {
		t := time.NewTicker(c.opts.SessionSync)
		defer t.Stop()
		sync = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweep.C:
			now := c.opts.Now()
			c.sessions.sweep(now)
			c.limiter.sweep(now)
		case <-drops.C:
			if err := c.flushDrops(ctx); err != nil {
				c.warnOncePerSecond(&c.lastDropWarn, slog.LevelWarn, "drop counts not stored yet; kept for the next flush", "err", err)
			}
		case <-sync:
			// Overlap the window so an event flushed late by a peer is still seen.
			since := c.opts.Now().Add(-3*c.opts.SessionSync - 2*c.opts.FlushInterval)
			if _, err := c.sessions.syncFrom(ctx, c.opts.DB, since); err != nil {
				c.opts.Log.Warn("session sync", "err", err)
			}
		}
	}
}

// QueuedWait bounds WaitQueued. A healthy database takes a batch in milliseconds; a
// hung insert gives up after insertTimeout and the batch goes to the spool, and the
// batch in hand when the request came may need the same, so this covers one hung
// insert with room to spare. Beyond it, the database is not answering and an erasure
// would fail anyway.
const QueuedWait = insertTimeout + 10*time.Second

// ErrQueueNotFlushed means WaitQueued gave up: events accepted before it may still be
// in memory, where an erasure cannot reach them.
var ErrQueueNotFlushed = errors.New("collector: queued events were not stored or spooled in time")

// WaitQueued returns once every event accepted before the call is stored in the
// database or in the spool, where an erasure reaches it: it has the writer deliver what
// is queued at once instead of at the next flush. It waits QueuedWait at most, or until
// ctx ends, and then returns ErrQueueNotFlushed. After Shutdown it returns at once:
// nothing is queued any more.
func (c *Collector) WaitQueued(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, QueuedWait)
	defer cancel()
	done := make(chan struct{})
	select {
	case c.writer.flushes <- done:
	case <-c.writer.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: the writer did not take the request: %w", ErrQueueNotFlushed, ctx.Err())
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: the writer is still delivering: %w", ErrQueueNotFlushed, ctx.Err())
	}
}

// Shutdown flushes every queued event before returning, or gives up when ctx ends (and
// says how many events were lost). Call it only once the app has stopped taking
// requests (fiber.App.ShutdownWithContext): it closes the queue beacons are put on.
func (c *Collector) Shutdown(ctx context.Context) error {
	c.queue.close()
	if err := c.flushDrops(ctx); err != nil {
		c.opts.Log.Warn("drop counts of the last seconds not stored", "err", err)
	}
	select {
	case <-c.writer.done:
		c.closeAcceptLog()
		return nil
	case <-ctx.Done():
		close(c.stopped)
		<-c.writer.done
		c.closeAcceptLog()
		return fmt.Errorf("shutdown timed out with %d events unstored: %w", c.held.Load(), ctx.Err())
	}
}

// flushDrops stores the drop counts gathered since the last flush, bounded like an insert.
func (c *Collector) flushDrops(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, insertTimeout)
	defer cancel()
	return c.drops.Flush(ctx, c.opts.DB)
}

func (c *Collector) closeAcceptLog() {
	if c.alog != nil {
		if err := c.alog.Close(); err != nil {
			c.opts.Log.Warn("close accept log", "err", err)
		}
	}
}
