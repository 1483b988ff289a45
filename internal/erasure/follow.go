package erasure

import (
	"context"
	"time"

	"github.com/websystems/loendur/internal/periodic"
)

// Follow makes this collector carry out the erasures other processes record in the
// ledger (another collector's /api/forget, the dashboard of another instance, `loendur
// erase`), until ctx ends: every interval it reads the ledger, and for each entry it
// has not seen it waits until its own queue is stored or spooled, then erases the
// selector again from the database and its spool, recording nothing. So events of an
// erased visitor that sat in this collector's queue or spool while the erasure ran
// elsewhere, and were stored after it, are gone within about interval + a flush.
// Entries already in the ledger when it starts are taken as seen.
func (s *Service) Follow(ctx context.Context, interval time.Duration) {
	seen := map[string]bool{}
	if entries, err := Ledger(ctx, s.opts.DB); err == nil {
		for _, e := range entries {
			seen[e.ID] = true
		}
	}
	periodic.Run(ctx, interval, s.opts.Log, "erasure ledger not read; trying again", func(ctx context.Context) error {
		entries, err := Ledger(ctx, s.opts.DB)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if _, mine := s.own.Load(e.ID); mine {
				seen[e.ID] = true
			}
			if seen[e.ID] || ctx.Err() != nil {
				continue
			}
			if err := s.follow(ctx, e); err != nil {
				s.opts.Log.Warn("erasure of the ledger not carried out here yet; trying again", "ledger_id", e.ID, "err", err)
				continue
			}
			seen[e.ID] = true
		}
		return nil
	})
}

// follow carries out one ledger entry in this process, in its turn with the erasures
// it serves itself.
func (s *Service) follow(ctx context.Context, e Entry) error {
	sel, err := ParseValue(e.Site, Kind(e.Kind), e.Selector)
	if err != nil {
		return err
	}
	select {
	case s.turn <- struct{}{}:
		defer func() { <-s.turn }()
	case <-ctx.Done():
		return ctx.Err()
	}
	if s.opts.Queue != nil {
		if err := s.opts.Queue.WaitQueued(ctx); err != nil {
			return err
		}
	}
	_, err = Erase(ctx, s.opts.DB, sel, Options{Spool: s.opts.Spool, NoRecord: true, Now: s.opts.Now})
	return err
}
