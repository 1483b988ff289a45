// Package salt keeps the daily random salts that visitor ids are hashed with. Salts live
// in ClickHouse so that every collector hashes a visitor the same way, and are dropped
// once their day is 48 hours old, after which no stored id can be linked to a person.
package salt

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/websystems/loendur/internal/periodic"
	"github.com/websystems/loendur/internal/privacy"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/literal"
)

// RefreshInterval is how often a keeper re-reads the salts table. Tomorrow's salt is
// created a day ahead, so collectors that raced to create it converge long before use.
const RefreshInterval = 5 * time.Minute

// Keeper serves the current salts from memory and keeps the table in shape.
type Keeper struct {
	db    store.Store
	log   *slog.Logger
	now   func() time.Time
	salts atomic.Pointer[daySalts]
	// Deleted counts salts deleted 48 hours after their day (privacy invariant 3);
	// the caller registers it.
	Deleted prometheus.Counter
}

type daySalts struct {
	byDay map[int64][]byte // UTC day number (Unix days) → salt; For runs on every event
}

// New returns a Keeper; call Refresh once before serving, then Run in the background.
func New(db store.Store, log *slog.Logger, now func() time.Time) *Keeper {
	if now == nil {
		now = time.Now
	}
	return &Keeper{db: db, log: log, now: now, Deleted: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "loendur_salts_deleted_total", Help: "Daily salts deleted 48 hours after their day."})}
}

// For returns the salt of the UTC day of t, or nil when it is not known (yet, or any more).
func (k *Keeper) For(t time.Time) []byte {
	cur := k.salts.Load()
	if cur == nil {
		return nil
	}
	return cur.byDay[unixDay(t)]
}

// Live returns every salt still held (today's and yesterday's), newest first: the ids a
// browser can have had in the last 48 hours are the hashes under these.
func (k *Keeper) Live() [][]byte {
	today := k.now().UTC()
	var out [][]byte
	for _, d := range []time.Time{today, today.AddDate(0, 0, -1)} {
		if s := k.For(d); s != nil {
			out = append(out, s)
		}
	}
	return out
}

// Run refreshes the salts until ctx ends.
func (k *Keeper) Run(ctx context.Context) {
	periodic.Run(ctx, RefreshInterval, k.log, "refresh salts", k.Refresh)
}

// Refresh makes sure today's and tomorrow's salts exist, drops those older than
// yesterday, and loads the agreed salt of each day: the one created first, if
// collectors raced. A collector that creates a salt has read the table first and found
// none, so a salt written later than one it saw can never displace the one it uses.
func (k *Keeper) Refresh(ctx context.Context) error {
	today := k.now().UTC().Truncate(24 * time.Hour)
	if err := k.dropExpired(ctx, today.AddDate(0, 0, -1)); err != nil {
		return err
	}
	loaded, err := k.load(ctx, today.AddDate(0, 0, -1))
	if err != nil {
		return err
	}
	created := false
	for _, day := range []time.Time{today, today.AddDate(0, 0, 1)} {
		if _, ok := loaded[day.Format(time.DateOnly)]; ok {
			continue
		}
		if err := k.create(ctx, day); err != nil {
			return err
		}
		created = true
	}
	if created {
		if loaded, err = k.load(ctx, today.AddDate(0, 0, -1)); err != nil {
			return err
		}
	}
	k.salts.Store(newDaySalts(loaded))
	return nil
}

func unixDay(t time.Time) int64 { return t.Unix() / 86400 }

// newDaySalts indexes loaded salts ("2006-01-02" → salt) by day number.
func newDaySalts(loaded map[string][]byte) *daySalts {
	byDay := make(map[int64][]byte, len(loaded))
	for day, salt := range loaded {
		if t, err := time.Parse(time.DateOnly, day); err == nil {
			byDay[unixDay(t)] = salt
		}
	}
	return &daySalts{byDay: byDay}
}

// load reads the salts of days from oldest on and picks each day's first-created one.
// Salts are stored as hex text, which survives every output format of both engines.
func (k *Keeper) load(ctx context.Context, oldest time.Time) (map[string][]byte, error) {
	var rows []struct {
		Day       time.Time `ch:"day"`
		Salt      string    `ch:"salt"`
		CreatedNS uint64    `ch:"created_ns"`
	}
	if err := k.db.Select(ctx, &rows, "SELECT day, salt, created_ns FROM salts WHERE day >= ?",
		oldest.Format(time.DateOnly)); err != nil {
		return nil, fmt.Errorf("read salts: %w", err)
	}
	type pick struct {
		salt      string
		createdNS uint64
	}
	first := map[string]pick{}
	for _, r := range rows {
		day := r.Day.Format(time.DateOnly)
		cur, ok := first[day]
		if !ok || r.CreatedNS < cur.createdNS || r.CreatedNS == cur.createdNS && r.Salt < cur.salt {
			first[day] = pick{r.Salt, r.CreatedNS}
		}
	}
	out := make(map[string][]byte, len(first))
	for day, p := range first {
		salt, err := hex.DecodeString(p.salt)
		if err != nil || len(salt) == 0 {
			return nil, fmt.Errorf("salt of %s is not hex text", day)
		}
		out[day] = salt
	}
	return out, nil
}

func (k *Keeper) create(ctx context.Context, day time.Time) error {
	salt, err := privacy.NewSalt()
	if err != nil {
		return fmt.Errorf("new salt: %w", err)
	}
	now := k.now().UTC()
	err = k.db.Insert(ctx, "salts", []string{"day", "salt", "created", "created_ns"},
		[][]any{{day, hex.EncodeToString(salt), now, uint64(now.UnixNano())}})
	if err != nil {
		return fmt.Errorf("store salt for %s: %w", day.Format(time.DateOnly), err)
	}
	return nil
}

// dropExpired drops the partitions of days before oldest; a salt is thus gone within
// one refresh interval after its day became 48 hours old.
func (k *Keeper) dropExpired(ctx context.Context, oldest time.Time) error {
	var parts []struct {
		Partition string `ch:"partition"`
	}
	err := k.db.Select(ctx, &parts, `SELECT DISTINCT partition FROM system.parts
		WHERE database = currentDatabase() AND table = 'salts' AND active AND partition < ?`,
		oldest.Format(time.DateOnly))
	if err != nil {
		return fmt.Errorf("list salt partitions: %w", err)
	}
	for _, p := range parts {
		if err := k.db.Exec(ctx, "ALTER TABLE salts DROP PARTITION "+quotePartition(p.Partition)); err != nil {
			return fmt.Errorf("drop salts of %s: %w", p.Partition, err)
		}
		k.log.Info("salt deleted", "day", p.Partition)
		k.Deleted.Inc()
	}
	return nil
}

// quotePartition renders system.parts' partition value as a DROP PARTITION literal.
func quotePartition(p string) string {
	if len(p) > 0 && p[0] == '\'' {
		return p
	}
	return literal.Quote(p)
}
