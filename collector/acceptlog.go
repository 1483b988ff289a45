package collector

import (
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/acceptlog"
	"github.com/websystems/loendur/internal/spool"
)

// recoveredBatchNS derives the ids of batches rebuilt from the accept log from their
// first event: a recovery that is itself interrupted and run again spools the same
// ids, which the spool refuses as duplicates and ClickHouse deduplicates.
var recoveredBatchNS = uuid.MustParse("0b6f1e52-4d0e-4b8e-9a57-6c1f3f0a4c11")

// openAcceptLog opens the accept log, moves every event it holds that was accepted and
// not delivered into the spool, and starts a fresh log.
func (c *Collector) openAcceptLog() (*acceptlog.Log, error) {
	log, rec, err := acceptlog.Open(c.opts.AcceptLog, acceptlog.Options{
		SyncInterval: c.opts.AcceptLogSync, Registry: c.opts.Registry, Log: c.opts.Log})
	if err != nil {
		return nil, err
	}
	if rec.Damaged > 0 {
		c.opts.Log.Warn("accept log: damaged records skipped", "segments", rec.Damaged)
	}
	sp := c.opts.Spool
	if p := rec.Pending; p != nil {
		// Under the interrupted delivery's id (already spooled: a duplicate, skipped).
		// Its insert may have landed, whole or without the rollups' parts: the replayer
		// looks its events up and then leaves its days for a rebuild (storeSpooled).
		if err := spoolRecovered(sp, spool.Batch{ID: p.ID, Events: p.Events}); err != nil {
			return nil, err
		}
		c.opts.Log.Info("accept log: the batch being delivered at the stop is in the spool", "events", len(p.Events))
	}
	for evs := rec.Events; len(evs) > 0; {
		n := min(len(evs), c.opts.BatchSize)
		b := spool.Batch{ID: uuid.NewSHA1(recoveredBatchNS, evs[0].EventID[:]), Events: evs[:n]}
		if err := spoolRecovered(sp, b); err != nil {
			return nil, err
		}
		evs = evs[n:]
	}
	if len(rec.Events) > 0 {
		c.opts.Log.Info("accept log: accepted events not yet stored at the stop were spooled", "events", len(rec.Events))
	}
	if err := log.Reset(); err != nil {
		return nil, err
	}
	return log, nil
}

func spoolRecovered(sp *spool.Spool, b spool.Batch) error {
	if err := sp.Append(b); err != nil && !errors.Is(err, spool.ErrDuplicate) {
		return fmt.Errorf("accept log: spooling %d recovered events: %w", len(b.Events), err)
	}
	return nil
}
