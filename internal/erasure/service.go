package erasure

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/websystems/loendur/internal/store"
)

// Queue is the collector's queue of accepted events (collector.Collector).
type Queue interface {
	// WaitQueued returns once every event accepted before the call is stored or
	// spooled, or an error when it gave up.
	WaitQueued(ctx context.Context) error
}

// QueueFunc is a function as a Queue: for a collector built after the service.
type QueueFunc func(ctx context.Context) error

// WaitQueued calls f.
func (f QueueFunc) WaitQueued(ctx context.Context) error { return f(ctx) }

// ErrQueueNotStored means nothing was erased because the events queued before the
// request could not be stored first: an erasure then would be reported done while an
// event of the person could still land after it.
var ErrQueueNotStored = errors.New("erasure: the collector's queued events could not be stored first; nothing erased")

// ServiceOptions configure a Service.
type ServiceOptions struct {
	DB    store.Store
	Spool Spool // the collector's disk spool; nil (untyped: not a nil *spool.Spool): none
	Queue Queue // the collector's queue; nil: no collector in this process
	Now   func() time.Time
	Log   *slog.Logger
}

// Service carries out erasures for every way in: a visitor's /api/forget, the
// dashboard's Data requests, `loendur erase`. One process has one, so its erasures
// run one at a time.
type Service struct {
	opts ServiceOptions
	turn chan struct{} // holds a token while an erasure runs
	own  sync.Map      // ledger ids of the erasures this service recorded: Follow skips them
}

// NewService returns the erasure service of a process.
func NewService(opts ServiceOptions) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{opts: opts, turn: make(chan struct{}, 1)}
}

// Request is one erasure asked of a Service.
type Request struct {
	Selector Selector
	// RequestedBy names who asked, for the ledger and the audit log (see Options).
	RequestedBy string
	// RecordOnlyErased skips the ledger and the audit log when nothing was erased.
	RecordOnlyErased bool
	// Timeout bounds the erasure from the call on, the wait for its turn included;
	// 0: only ctx bounds it.
	Timeout time.Duration
}

// Erase waits for its turn (the erasure before it to finish), has the collector store
// what it has queued (ErrQueueNotStored when it cannot; nothing is erased then), erases
// the selector's rows in every table and the spool, verifies, and writes the ledger
// and the audit log. A caller that must not be stopped half-way by a client going away
// passes a context without cancellation (context.WithoutCancel) and a Timeout.
func (s *Service) Erase(ctx context.Context, req Request) (Result, error) {
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	select {
	case s.turn <- struct{}{}:
	case <-ctx.Done():
		return Result{}, fmt.Errorf("erasure: waiting for the erasure before it: %w", ctx.Err())
	}
	defer func() { <-s.turn }()
	if s.opts.Queue != nil {
		if err := s.opts.Queue.WaitQueued(ctx); err != nil {
			return Result{}, fmt.Errorf("%w: %w", ErrQueueNotStored, err)
		}
	}
	opts := Options{RequestedBy: req.RequestedBy, Spool: s.opts.Spool, RecordOnlyErased: req.RecordOnlyErased, Now: s.opts.Now}
	res, err := Erase(ctx, s.opts.DB, req.Selector, opts)
	if err != nil {
		return res, err
	}
	if res.ID != "" {
		s.own.Store(res.ID, true)
	}
	sel := req.Selector
	s.opts.Log.Info("erasure done", "site", sel.Site, "kind", string(sel.Kind), "events", res.Events,
		"rows", res.Rows, "spooled", res.Spooled, "recorded", res.Recorded, "ledger", res.ID)
	return res, nil
}
