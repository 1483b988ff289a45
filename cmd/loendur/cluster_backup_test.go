package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/eventtest"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
	"github.com/websystems/loendur/internal/testenv/chcluster"
)

// `loendur backup --cluster` and `loendur restore --cluster` as an operator runs them:
// the backup of one cluster database restored into another where a visitor was erased
// with `loendur erase` meanwhile; restore re-applies the ledger, so none of the
// visitor's events is on any server and the others are all back.
func TestBackupRestoreCommandsOnCluster(t *testing.T) {
	ctx := context.Background()
	src, c := storetest.Cluster(t)
	dst, _ := storetest.Cluster(t)
	nodes := c.Nodes()
	events := eventtest.Realistic(400, 9)
	if err := store.InsertEvents(ctx, src, events); err != nil {
		t.Fatal(err)
	}
	victim, victims := events[0].VisitorID, 0
	for _, e := range events {
		if e.VisitorID == victim {
			victims++
		}
	}
	flags := func(s store.Store) []string {
		return []string{"--db", c.DSN(s.Info().Database), "--cluster", chcluster.Name, "--http-port", strconv.Itoa(nodes[0].Ports.HTTP)}
	}
	dir := filepath.Join(t.TempDir(), "backup")
	var out bytes.Buffer
	if err := runBackup(append(flags(src), dir), &out); err != nil {
		t.Fatalf("backup: %v", err)
	}
	erase := []string{"--db", c.DSN(dst.Info().Database), "--cluster", chcluster.Name, "--site", events[0].Site,
		"--visitor", strconv.FormatUint(victim, 10), "--yes", "--by", "test"}
	if err := runErase(erase, strings.NewReader(""), &out); err != nil {
		t.Fatalf("erase: %v", err)
	}
	out.Reset()
	if err := runRestore(append(flags(dst), dir), &out); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if want := fmt.Sprintf("(%d events erased again)", victims); !strings.Contains(out.String(), want) {
		t.Errorf("restore said %q; want it to say %s", out.String(), want)
	}
	for _, n := range nodes {
		got, err := n.Query(dst.Info().Database, "SELECT count() FROM events_local WHERE visitor_id = "+strconv.FormatUint(victim, 10))
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(got) != "0" {
			t.Errorf("server %d: %s events of the erased visitor after the restore", n.Index+1, strings.TrimSpace(got))
		}
	}
	var rows []struct {
		N uint64 `ch:"n"`
	}
	var err error
	// A read may reach a replica still fetching the restored parts: asked again a while.
	for range 50 {
		rows = rows[:0]
		if err = dst.Select(ctx, &rows, "SELECT count() AS n FROM events"); err == nil && len(rows) == 1 && rows[0].N == uint64(len(events)-victims) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil || len(rows) != 1 || rows[0].N != uint64(len(events)-victims) {
		t.Errorf("events after the restore: %v, %v; want %d", rows, err, len(events)-victims)
	}
}
