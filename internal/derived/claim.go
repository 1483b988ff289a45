package derived

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/periodic"
)

// Rebuilds of one site run one at a time among all the processes that share a database
// (collectors repairing a replayed day, an erasure, an import, the finalizer,
// retention): a rebuild deletes the rows of its days and computes them again, so two at
// once each add the whole of them. ClickHouse 18.16 has no transactions or locks, so a
// rebuild first claims its site in ClaimsTable (schema 0086): it waits until no live
// claim is there, inserts its own, waits for claims inserted at the same time to land,
// and reads them back. The earliest claim wins (then the smallest token); every process
// reads the same rows, so they agree. A loser ends its claim and waits for the winner.
// Claim times are the processes' clocks, which must agree within claimSettle, as NTP
// keeps them.
const (
	ClaimsTable = "rebuild_claims"
	// claimLease is how long a claim lives without being renewed: the winner renews it
	// while it rebuilds, and a process that stopped holds its site no longer than this.
	claimLease = 2 * time.Minute
	claimPoll  = 500 * time.Millisecond
)

// States of a claim row.
const (
	claimHeld  = "claim"
	claimEnded = "done"
)

// exclusive runs rebuild while this call holds site's claim.
func exclusive(ctx context.Context, db DB, site string, rebuild func() error) error {
	c, err := claimSite(ctx, db, site)
	if err != nil {
		return fmt.Errorf("claim rebuilds of %s: %w", site, err)
	}
	defer c.release()
	return rebuild()
}

type siteClaim struct {
	db          DB
	site, token string
	stopRenewal context.CancelFunc
	renewed     chan struct{} // closed when the renewal has stopped
}

func claimSite(ctx context.Context, db DB, site string) (*siteClaim, error) {
	settle, err := claimSettle(ctx, db)
	if err != nil {
		return nil, err
	}
	c := &siteClaim{db: db, site: site}
	for {
		holder, err := c.holder(ctx)
		if err != nil {
			return nil, err
		}
		if holder == "" {
			won, err := c.try(ctx, settle)
			if err != nil || won {
				return c, err
			}
		}
		if err := sleep(ctx, claimPoll); err != nil {
			return nil, err
		}
	}
}

// try inserts a new claim (an ended token stays ended), lets the claims of others
// inserted meanwhile land, and reports whether it is the earliest. A claim that lost,
// or whose wait was cancelled, is ended.
func (c *siteClaim) try(ctx context.Context, settle time.Duration) (bool, error) {
	c.token = uuid.NewString()
	if err := c.record(ctx, claimHeld); err != nil {
		return false, err
	}
	err := sleep(ctx, settle)
	holder := ""
	if err == nil {
		holder, err = c.holder(ctx)
	}
	if err == nil && holder == c.token {
		c.renew()
		return true, nil
	}
	if endErr := c.record(context.WithoutCancel(ctx), claimEnded); err == nil {
		err = endErr
	}
	return false, err
}

// holder is the token of the site's earliest live claim, "" when there is none.
func (c *siteClaim) holder(ctx context.Context) (string, error) {
	now := time.Now().UTC()
	var rows []struct {
		Token string `ch:"token"`
	}
	err := c.db.Select(ctx, &rows, `SELECT token FROM (
			SELECT token, min(at) AS first, max(at) AS last, max(state = '`+claimEnded+`') AS ended
			FROM `+ClaimsTable+` WHERE site = ? AND at > ? GROUP BY token)
		WHERE ended = 0 AND last > ? ORDER BY first, token LIMIT 1`,
		c.site, now.Add(-24*time.Hour), now.Add(-claimLease))
	if err != nil {
		return "", fmt.Errorf("read claims: %w", err)
	}
	if len(rows) == 0 {
		return "", nil
	}
	return rows[0].Token, nil
}

func (c *siteClaim) record(ctx context.Context, state string) error {
	row := []any{c.site, c.token, state, time.Now().UTC().Truncate(time.Second)}
	if err := c.db.Insert(ctx, ClaimsTable, []string{"site", "token", "state", "at"}, [][]any{row}); err != nil {
		return fmt.Errorf("record %s: %w", state, err)
	}
	return nil
}

// renew keeps the claim alive while the rebuild runs (a year of days can take minutes),
// until release.
func (c *siteClaim) renew() {
	ctx, stop := context.WithCancel(context.Background())
	c.stopRenewal, c.renewed = stop, make(chan struct{})
	go func() {
		defer close(c.renewed)
		periodic.Run(ctx, claimLease/4, slog.Default(), "rebuild: renewing the claim of "+c.site+" failed",
			func(ctx context.Context) error {
				ctx, cancel := context.WithTimeout(ctx, claimLease/4)
				defer cancel()
				return c.record(ctx, claimHeld)
			})
	}()
}

// release ends the claim. If that fails, the claim lapses after claimLease: the next
// rebuild of the site waits that long, and nothing is lost, so it is only logged.
func (c *siteClaim) release() {
	c.stopRenewal()
	<-c.renewed
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.record(ctx, claimEnded); err != nil {
		slog.Warn("rebuild: ending the claim of a site failed; it lapses by itself", "site", c.site,
			"lease", claimLease.String(), "err", err)
	}
}

// claimSettle is how long a claim waits for the claims of others to land: on a cluster
// the claims table is replicated between the servers in the background; on one server
// a claim is there for everyone once its insert returns.
func claimSettle(ctx context.Context, db DB) (time.Duration, error) {
	var rows []struct {
		Engine string `ch:"engine"`
	}
	if err := db.Select(ctx, &rows, "SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = ?", ClaimsTable); err != nil {
		return 0, fmt.Errorf("claims table: %w", err)
	}
	if len(rows) == 1 && strings.HasPrefix(rows[0].Engine, "Replicated") {
		return 3 * time.Second, nil
	}
	return 300 * time.Millisecond, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// DropOldClaims drops the months of ClaimsTable before the previous one, and returns
// how many it dropped: a claim lives for claimLease and is read back for a day, so older
// rows are history only. Retention calls it daily.
func DropOldClaims(ctx context.Context, db DB, now time.Time) (int, error) {
	prev := now.UTC().AddDate(0, 0, -now.UTC().Day()+1).AddDate(0, -1, 0)
	var parts []struct {
		Partition string `ch:"partition"`
	}
	if err := db.Select(ctx, &parts, `SELECT DISTINCT partition FROM system.parts
		WHERE database = currentDatabase() AND table = ? AND active AND partition < ?`,
		ClaimsTable, prev.Format("200601")); err != nil {
		return 0, fmt.Errorf("list months of %s: %w", ClaimsTable, err)
	}
	for i, p := range parts {
		if _, err := strconv.ParseUint(p.Partition, 10, 32); err != nil || len(p.Partition) != 6 {
			return i, fmt.Errorf("%s: month partition %q is not YYYYMM", ClaimsTable, p.Partition)
		}
		if err := db.Exec(ctx, "ALTER TABLE "+ClaimsTable+" DROP PARTITION "+p.Partition); err != nil {
			return i, fmt.Errorf("drop %s of %s: %w", ClaimsTable, p.Partition, err)
		}
	}
	return len(parts), nil
}
