package backup_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/backup"
	"github.com/websystems/loendur/internal/erasure"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
	"github.com/websystems/loendur/internal/testenv"
)

func TestBackupEraseRestoreKeepsErasure(t *testing.T) {
	ctx := context.Background()
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			opts := backup.Options{}
			if engine == "server" {
				port, _ := strconv.Atoi(os.Getenv("LOENDUR_CH_HTTP_PORT"))
				if port == 0 {
					port = 18123
				}
				opts = backup.Options{DSN: "clickhouse://" + testenv.ClickHouseAddr(t) + "/x", HTTPPort: port}
			}
			site := engine + ".backup.test"
			at := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
			var evs []store.Event
			for v := uint64(1); v <= 3; v++ {
				for i := 0; i < 2; i++ {
					evs = append(evs, store.Event{EventID: uuid.New(), Site: site, Timestamp: at.Add(time.Duration(i) * time.Minute),
						Name: "pageview", Pathname: "/p", VisitorID: v, SessionID: v * 10, IP: "203.0.0.0",
						PropKeys: []string{"k"}, PropValues: []string{"v"}})
				}
			}
			if err := store.InsertEvents(ctx, db, evs); err != nil {
				t.Fatal(err)
			}
			if err := db.Insert(ctx, "salts", []string{"day", "salt", "created", "created_ns"}, [][]any{{at, "00ff", at, uint64(1)}}); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "backup")
			m, err := backup.Backup(ctx, db, dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			names := []string{}
			for _, tb := range m.Tables {
				names = append(names, tb.Name)
			}
			if !slices.Contains(names, "events") || !slices.Contains(names, "page_stats_daily_mv") || slices.Contains(names, "salts") {
				t.Fatalf("backup tables: %v", names)
			}
			// An erasure after the backup, then the old backup comes back.
			if _, err := erasure.Erase(ctx, db, erasure.Selector{Site: site, Kind: erasure.KindVisitor, Visitors: []uint64{2}}, erasure.Options{RequestedBy: "test"}); err != nil {
				t.Fatal(err)
			}
			if _, err := backup.Restore(ctx, db, dir, opts); err != nil {
				t.Fatal(err)
			}
			visitors := func() []uint64 {
				var rows []struct {
					V uint64 `ch:"v"`
				}
				if err := db.Select(ctx, &rows, "SELECT DISTINCT visitor_id AS v FROM events WHERE site = ? ORDER BY v", site); err != nil {
					t.Fatal(err)
				}
				var out []uint64
				for _, r := range rows {
					out = append(out, r.V)
				}
				return out
			}
			if got := visitors(); !slices.Equal(got, []uint64{1, 2, 3}) {
				t.Fatalf("restored events of visitors %v, want the backup's [1 2 3]", got)
			}
			if _, err := erasure.Reapply(ctx, db, nil); err != nil {
				t.Fatal(err)
			}
			if got := visitors(); !slices.Equal(got, []uint64{1, 3}) {
				t.Errorf("after re-applying the ledger: visitors %v, want [1 3]", got)
			}
			var stats []struct {
				V uint64 `ch:"v"`
				P uint64 `ch:"p"`
			}
			if err := db.Select(ctx, &stats, `SELECT toUInt64(uniqIfMerge(visitors)) AS v, toUInt64(sum(pageviews)) AS p FROM page_stats_daily WHERE site = ?`, site); err != nil {
				t.Fatal(err)
			}
			if stats[0].V != 2 || stats[0].P != 4 {
				t.Errorf("rollup after restore: %d visitors, %d pageviews; want 2, 4", stats[0].V, stats[0].P)
			}
			// The views work again: a new event reaches the rollup once.
			if err := store.InsertEvents(ctx, db, []store.Event{{EventID: uuid.New(), Site: site, Timestamp: at, Name: "pageview", Pathname: "/p", VisitorID: 9}}); err != nil {
				t.Fatal(err)
			}
			stats = nil
			if err := db.Select(ctx, &stats, `SELECT toUInt64(uniqIfMerge(visitors)) AS v, toUInt64(sum(pageviews)) AS p FROM page_stats_daily WHERE site = ?`, site); err != nil {
				t.Fatal(err)
			}
			if stats[0].P != 5 {
				t.Errorf("rollup after a new event: %d pageviews, want 5", stats[0].P)
			}
		})
	}
}
