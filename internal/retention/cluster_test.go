package retention_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/derived/derivedtest"
	"github.com/websystems/loendur/internal/retention"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

// A retention run on the local cluster removes the rows older than the site's
// retention from every shard and replica (events, visits, rollups) and keeps the newer
// ones there.
func TestRetentionOnCluster(t *testing.T) {
	ctx := context.Background()
	db, c := storetest.Cluster(t)
	name := db.Info().Database
	now := time.Date(2026, 6, 15, 3, 0, 0, 0, time.UTC)
	site := "retention.cluster.test"
	if err := db.Insert(ctx, "sites", []string{"domain", "created", "timezone", "retention_months", "honour_dnt", "deleted", "version"},
		[][]any{{site, now, "UTC", uint16(2), uint8(1), uint8(0), uint64(1)}}); err != nil {
		t.Fatal(err)
	}
	// 40 visitors a month, 3 and 1 months back: enough for both shards.
	var evs []store.Event
	for i, at := range []time.Time{now.AddDate(0, -3, 0), now.AddDate(0, -1, 0)} {
		for v := uint64(1); v <= 40; v++ {
			id := uint64(i*100) + v
			evs = append(evs, store.Event{EventID: uuid.New(), Site: site, Timestamp: at.Add(time.Duration(v) * time.Minute), Name: "pageview",
				Pathname: "/", VisitorID: id, SessionID: id, IP: "203.0.0.0"},
				store.Event{EventID: uuid.New(), Site: site, Timestamp: at.Add(time.Duration(v)*time.Minute + time.Second), Name: "Signup",
					Pathname: "/", VisitorID: id, SessionID: id, IP: "203.0.0.0"})
		}
	}
	if err := store.InsertEvents(ctx, db, evs); err != nil {
		t.Fatal(err)
	}
	derivedtest.WriteVisits(t, db, site, now.Add(-time.Hour))
	derivedtest.RequireRows(t, db, site)

	// Rebuild claims of three months ago are dropped on every server, this month's kept.
	if err := db.Insert(ctx, derived.ClaimsTable, []string{"site", "token", "state", "at"},
		[][]any{{site, uuid.NewString(), "done", now.AddDate(0, -3, 0)}, {site, uuid.NewString(), "done", now}}); err != nil {
		t.Fatal(err)
	}

	job := retention.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, func() time.Time { return now })
	deleted, err := job.RunOnce(ctx)
	if err != nil {
		t.Fatalf("retention: %v", err)
	}
	if deleted["events"] != 80 {
		t.Errorf("deleted %d events, want the 80 of three months ago (all deleted: %v)", deleted["events"], deleted)
	}

	cutoff := "'" + now.AddDate(0, -2, 0).Truncate(24*time.Hour).Format(time.DateTime) + "'"
	checks := []struct{ table, old string }{
		{"events_local", "timestamp < toDateTime(" + cutoff + ", 'UTC')"},
		{"sessions_local", "start_time < toDateTime(" + cutoff + ", 'UTC')"},
		{"page_stats_daily_local", "day < toDate(" + cutoff + ")"},
		{"event_stats_hourly_local", "hour < toDateTime(" + cutoff + ", 'UTC')"},
		{derived.ClaimsTable, "at < toDateTime(" + cutoff + ", 'UTC')"},
	}
	for _, n := range c.Nodes() {
		for _, ch := range checks {
			var f []string
			// A replica fetches the newer rows in the background: asked again a while.
			for range 100 {
				out, err := n.Query(name, "SELECT countIf("+ch.old+"), countIf(NOT ("+ch.old+")) FROM "+ch.table)
				if err != nil {
					t.Fatalf("server %d: %s: %v", n.Index+1, ch.table, err)
				}
				if f = strings.Fields(out); len(f) == 2 && f[0] == "0" && f[1] != "0" {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if len(f) != 2 || f[0] != "0" || f[1] == "0" {
				t.Errorf("server %d (shard %d, replica %d): %s holds %v rows older than the retention and newer ones; want none and some",
					n.Index+1, n.Shard, n.Replica, ch.table, f)
			}
		}
	}
	derivedtest.NoDrift(t, db, site, "after retention on the cluster")
}
