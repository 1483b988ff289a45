package salt

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/store/storetest"
)

func TestSalts(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
			clock := func() time.Time { return now }
			// A salt from four days ago, as if left by an earlier run.
			if err := db.Insert(ctx, "salts", []string{"day", "salt", "created"},
				[][]any{{now.AddDate(0, 0, -4).Truncate(24 * time.Hour), "0123abcd", now}}); err != nil {
				t.Fatal(err)
			}

			a, b := New(db, log, clock), New(db, log, clock)
			if err := a.Refresh(ctx); err != nil {
				t.Fatalf("refresh a: %v", err)
			}
			if err := b.Refresh(ctx); err != nil {
				t.Fatalf("refresh b: %v", err)
			}
			today, tomorrow := a.For(now), a.For(now.AddDate(0, 0, 1))
			if len(today) != 32 || len(tomorrow) != 32 || bytes.Equal(today, tomorrow) {
				t.Fatalf("want distinct 32-byte salts for today and tomorrow, got %d and %d bytes", len(today), len(tomorrow))
			}
			if !bytes.Equal(b.For(now), today) {
				t.Fatal("two keepers on one database disagree on today's salt")
			}
			// A racing peer's salt, written after a's, does not displace the one in use.
			if err := db.Insert(ctx, "salts", []string{"day", "salt", "created", "created_ns"},
				[][]any{{now.Truncate(24 * time.Hour), "00000000000000000000000000000001", now, uint64(now.Add(time.Second).UnixNano())}}); err != nil {
				t.Fatal(err)
			}
			if err := b.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b.For(now), today) {
				t.Fatal("a later salt displaced the one in use")
			}
			if a.For(now.AddDate(0, 0, -4)) != nil {
				t.Fatal("a salt four days old is still served")
			}
			assertSaltDays(t, db, 2)

			// Two days later: yesterday (the old "tomorrow") is kept, the first day is dropped.
			now = now.AddDate(0, 0, 2)
			if err := a.Refresh(ctx); err != nil {
				t.Fatalf("refresh later: %v", err)
			}
			if !bytes.Equal(a.For(now.AddDate(0, 0, -1)), tomorrow) {
				t.Fatal("yesterday's salt changed or vanished")
			}
			if got := len(a.Live()); got != 2 {
				t.Fatalf("Live() has %d salts, want today's and yesterday's", got)
			}
			assertSaltDays(t, db, 3) // yesterday, today, tomorrow
		})
	}
}

func assertSaltDays(t *testing.T, db interface {
	Select(context.Context, any, string, ...any) error
}, want int) {
	t.Helper()
	var rows []struct {
		N uint64 `ch:"n"`
	}
	if err := db.Select(context.Background(), &rows, "SELECT uniqExact(day) AS n FROM salts"); err != nil {
		t.Fatal(err)
	}
	if rows[0].N != uint64(want) {
		t.Fatalf("salts table holds %d days, want %d", rows[0].N, want)
	}
}
