package notify

import (
	"context"
	"fmt"
	"time"
)

// How deliveries are retried and handed over.
const (
	// FirstRetry is the wait after the first failure; it doubles up to MaxRetry.
	FirstRetry = time.Minute
	MaxRetry   = time.Hour
	// Lease is how long a claim, or a failure's next attempt, keeps other processes
	// away. A process that stopped (killed, restarted) leaves its claim; after Lease
	// another one claims the next round and sends.
	Lease = 10 * time.Minute
)

const deliveriesTable = "notify_deliveries"

var deliveryColumns = []string{"site", "what", "recipient", "round", "owner", "state", "at", "next_at", "detail"}

// States of a delivery row.
const (
	stateClaim  = "claim"
	stateFailed = "failed"
	stateSent   = "sent"
	stateGaveUp = "gave_up" // too old to send; logged as an error
)

// key names one mail or webhook call: what is sent (e.g. "report weekly 2024-03-04",
// "alert stopped 2024-03-05T10 opened") to which recipient ("webhook" for the webhook).
type key struct{ site, what, recipient string }

func (k key) String() string { return k.site + " " + k.what + " → " + k.recipient }

type deliveryRow struct {
	Round  uint32    `ch:"round"`
	Owner  string    `ch:"owner"`
	State  string    `ch:"state"`
	At     time.Time `ch:"at"`
	NextAt time.Time `ch:"next_at"`
	Detail string    `ch:"detail"`
}

// Outcome of one call of deliver.
type Outcome int

const (
	Pending Outcome = iota // not sent yet: another process holds it, or it failed and waits for a retry
	Sent                   // sent now, by this process
	Done                   // sent before (by any process)
)

// deliver sends k with send unless it was sent already or another process is on it.
// Every process that wants to send k inserts a claim for the round (the first round
// is 0); after Settle it reads the round's claims back, and the smallest owner wins:
// every process reads the same claims, so they agree, on ClickHouse 18.16 and chDB
// alike, without transactions. The winner sends, records "sent", or records the
// failure and when it will try again (backoff). A round whose owner has been silent
// for Lease is over, and the next round is claimed.
func (s *Service) deliver(ctx context.Context, k key, send func(context.Context) error) (Outcome, error) {
	rows, err := s.deliveryRows(ctx, k)
	if err != nil {
		return Pending, err
	}
	now := s.opts.Now().UTC()
	round, mine, alive, next, failures := s.summarise(rows, now)
	switch {
	case round < 0:
		return Done, nil
	case mine && now.Before(next):
		return Pending, nil // waiting for the retry
	case !mine && alive:
		return Pending, nil // another process holds the round
	case !mine:
		won, err := s.claim(ctx, k, uint32(round))
		if err != nil || !won {
			return Pending, err
		}
	}
	if err := send(ctx); err != nil {
		wait := backoff(failures)
		s.log.Warn("notify: send failed, will retry", "delivery", k.String(), "attempt", failures+1,
			"retry_in", wait.String(), "err", err)
		if rerr := s.record(ctx, k, uint32(round), stateFailed, now.Add(wait), err.Error()); rerr != nil {
			return Pending, rerr
		}
		return Pending, nil // logged and recorded: the retry is the handling
	}
	if err := s.record(ctx, k, uint32(round), stateSent, now, ""); err != nil {
		// Sent but not recorded: another attempt may follow. Logged loudly.
		s.log.Error("notify: sent, but recording it failed", "delivery", k.String(), "err", err)
		return Sent, err
	}
	s.log.Info("notify: sent", "delivery", k.String())
	return Sent, nil
}

// summarise reads a key's rows: round < 0 when it was sent; otherwise the round to
// act in, whether this process owns it, whether another owner still holds it, when
// its next attempt is due, and how many attempts failed so far.
func (s *Service) summarise(rows []deliveryRow, now time.Time) (round int, mine, alive bool, next time.Time, failures int) {
	last := -1
	for _, r := range rows {
		if r.State == stateSent || r.State == stateGaveUp {
			return -1, false, false, time.Time{}, 0
		}
		if r.State == stateFailed {
			failures++
		}
		last = max(last, int(r.Round))
	}
	if last < 0 {
		return 0, false, false, time.Time{}, 0
	}
	winner := ""
	var until time.Time
	for _, r := range rows {
		if int(r.Round) != last {
			continue
		}
		if r.State == stateClaim && (winner == "" || r.Owner < winner) {
			winner = r.Owner
		}
		until = later(until, r.At.Add(Lease))
		if r.State == stateFailed {
			until = later(until, r.NextAt.Add(Lease))
			if r.Owner == s.owner {
				next = later(next, r.NextAt)
			}
		}
	}
	if winner == s.owner {
		return last, true, true, next, failures
	}
	if now.Before(until) {
		return last, false, true, time.Time{}, failures
	}
	return last + 1, false, false, time.Time{}, failures
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// claim inserts this process's claim of round, waits Settle for the claims of other
// processes to land, and reports whether this process's owner is the smallest.
func (s *Service) claim(ctx context.Context, k key, round uint32) (bool, error) {
	if err := s.record(ctx, k, round, stateClaim, time.Time{}, ""); err != nil {
		return false, err
	}
	select {
	case <-ctx.Done():
		return false, ctx.Err()
	case <-time.After(s.opts.Settle):
	}
	var rows []struct {
		Owner string `ch:"owner"`
	}
	if err := s.opts.DB.Select(ctx, &rows, `SELECT min(owner) AS owner FROM `+deliveriesTable+`
		WHERE site = ? AND what = ? AND recipient = ? AND round = ? AND state = 'claim'`,
		k.site, k.what, k.recipient, round); err != nil {
		return false, fmt.Errorf("read claims of %s: %w", k, err)
	}
	return len(rows) == 1 && rows[0].Owner == s.owner, nil
}

func (s *Service) record(ctx context.Context, k key, round uint32, state string, next time.Time, detail string) error {
	now := s.opts.Now().UTC().Truncate(time.Second)
	if next.IsZero() {
		next = now
	}
	row := []any{k.site, k.what, k.recipient, round, s.owner, state, now, next.UTC().Truncate(time.Second), detail}
	if err := s.opts.DB.Insert(ctx, deliveriesTable, deliveryColumns, [][]any{row}); err != nil {
		return fmt.Errorf("record %s of %s: %w", state, k, err)
	}
	return nil
}

func (s *Service) deliveryRows(ctx context.Context, k key) ([]deliveryRow, error) {
	var rows []deliveryRow
	if err := s.opts.DB.Select(ctx, &rows, `SELECT round, owner, state, at, next_at, detail FROM `+deliveriesTable+`
		WHERE site = ? AND what = ? AND recipient = ?`, k.site, k.what, k.recipient); err != nil {
		return nil, fmt.Errorf("read deliveries of %s: %w", k, err)
	}
	return rows, nil
}

// backoff is the wait after the n+1st failure.
func backoff(failures int) time.Duration {
	d := FirstRetry
	for i := 0; i < failures && d < MaxRetry; i++ {
		d *= 2
	}
	return min(d, MaxRetry)
}

// Delivery is a delivery's last state, for the settings page.
type Delivery struct {
	What      string    `ch:"what" json:"what"`
	Recipient string    `ch:"recipient" json:"recipient"`
	State     string    `ch:"state" json:"state"`
	At        time.Time `ch:"at" json:"at"`
	Detail    string    `ch:"detail" json:"detail"`
}

// Deliveries lists the newest state of a site's recent deliveries, newest first.
func (s *Service) Deliveries(ctx context.Context, site string, limit int) ([]Delivery, error) {
	var rows []Delivery
	err := s.opts.DB.Select(ctx, &rows, `SELECT what, recipient, last_state AS state, last_at AS at, last_detail AS detail FROM (
		SELECT what, recipient, argMax(state, tuple(at, multiIf(state IN ('sent', 'gave_up'), 3, state = 'failed', 2, 1))) AS last_state, max(at) AS last_at,
			argMax(detail, tuple(at, multiIf(state IN ('sent', 'gave_up'), 3, state = 'failed', 2, 1))) AS last_detail
		FROM `+deliveriesTable+` WHERE site = ? GROUP BY what, recipient)
		ORDER BY last_at DESC, what, recipient LIMIT ?`, site, limit)
	if err != nil {
		return nil, fmt.Errorf("read deliveries of %s: %w", site, err)
	}
	return rows, nil
}
