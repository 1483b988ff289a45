// Package storetest opens the real engines that tests run against: a fresh database on
// the test ClickHouse server and the process's one embedded chDB folder, both migrated.
package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/testenv"
	"github.com/websystems/loendur/internal/testenv/chcluster"
)

// Engines returns a migrated store per engine, keyed "server" and "embedded".
func Engines(t testing.TB) map[string]store.Store {
	t.Helper()
	return map[string]store.Store{"server": Server(t), "embedded": Embedded(t)}
}

// ServerDSN names a fresh database on the test server, dropped when the test ends (the
// commands a test runs create it).
func ServerDSN(t testing.TB) string {
	t.Helper()
	dsn := fmt.Sprintf("clickhouse://%s/loendur_test_%d", testenv.ClickHouseAddr(t), rand.Uint32())
	t.Cleanup(func() {
		if s, err := store.Open(context.Background(), dsn, store.Options{}); err == nil {
			DropAndClose(s)
		}
	})
	return dsn
}

// Server opens and migrates a fresh database on the test ClickHouse server.
func Server(t testing.TB) store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), ServerDSN(t), store.Options{})
	if err != nil {
		t.Fatalf("open server: %v", err)
	}
	t.Cleanup(func() { s.Close() }) // before ServerDSN's drop: cleanups run last first
	if _, err := store.Migrate(context.Background(), s); err != nil {
		t.Fatalf("migrate server: %v", err)
	}
	return s
}

// Cluster opens and migrates a fresh database on the running local cluster (2 shards ×
// 2 replicas, internal/testenv/chcluster) and returns it with the cluster. The database
// is dropped on every server afterwards.
func Cluster(t testing.TB) (store.Store, chcluster.Cluster) {
	t.Helper()
	c := chcluster.Cluster{Dir: testenv.ClusterDir(t)}
	release, err := c.Use(false) // not while the fault drills stop members
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	db := fmt.Sprintf("loendur_ctest_%d", rand.Uint32())
	s, err := store.Open(context.Background(), c.DSN(db), store.Options{Cluster: chcluster.Name})
	if err != nil {
		t.Fatalf("open cluster: %v", err)
	}
	t.Cleanup(func() {
		s.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db+" ON CLUSTER "+chcluster.Name)
		s.Close()
	})
	if _, err := store.Migrate(context.Background(), s); err != nil {
		t.Fatalf("migrate cluster: %v", err)
	}
	return s, c
}

// DropAndClose drops a test's database on the server and closes the store: thousands
// of left-over tables slow a ClickHouse server down (its background work visits each),
// and with it every later test and benchmark on the machine.
func DropAndClose(s store.Store) {
	var rows []struct {
		DB string `ch:"db"`
	}
	if err := s.Select(context.Background(), &rows, "SELECT currentDatabase() AS db"); err == nil && len(rows) == 1 {
		s.Exec(context.Background(), "DROP DATABASE IF EXISTS "+rows[0].DB)
	}
	s.Close()
}

var (
	embeddedOnce sync.Once
	embedded     store.Store
	embeddedErr  error
)

// Embedded opens the process's chDB store (chDB allows one per process) in a folder of
// its own, migrated. Tests share it, so they must use distinct sites.
func Embedded(t testing.TB) store.Store {
	t.Helper()
	lib := testenv.ChdbLib(t)
	embeddedOnce.Do(func() {
		// Not t.TempDir: the store outlives the test that opens it first.
		dir, err := os.MkdirTemp("", "loendur-chdb-")
		if err != nil {
			embeddedErr = err
			return
		}
		embedded, embeddedErr = store.Open(context.Background(), "chdb://"+dir, store.Options{LibPath: lib})
		if embeddedErr == nil {
			_, embeddedErr = store.Migrate(context.Background(), embedded)
		}
	})
	if embeddedErr != nil {
		t.Fatalf("open embedded: %v", embeddedErr)
	}
	return embedded
}

// ReplicasAgree returns q's answer (trimmed) on the replicas of shard once they all give
// the same one: a replica fetches what another wrote in the background. It fails t when
// they still differ after 30 s.
func ReplicasAgree(t testing.TB, nodes []chcluster.Node, shard int, db, q string) string {
	t.Helper()
	return replicasUntil(t, nodes, shard, db, q, "agree", func(outs []string) bool {
		return !slices.ContainsFunc(outs, func(o string) bool { return o != outs[0] })
	})
}

// ReplicasAnswer returns q's answer (trimmed) on the first replica of shard once every
// replica's answer starts with prefix (a merge or a fetch in the background is done
// everywhere). It fails t when they do not after 30 s.
func ReplicasAnswer(t testing.TB, nodes []chcluster.Node, shard int, db, q, prefix string) string {
	t.Helper()
	return replicasUntil(t, nodes, shard, db, q, "answer "+prefix+"…", func(outs []string) bool {
		return !slices.ContainsFunc(outs, func(o string) bool { return !strings.HasPrefix(o, prefix) })
	})
}

// replicasUntil asks the replicas of shard q every 100 ms until done accepts their
// answers, for at most 30 s.
func replicasUntil(t testing.TB, nodes []chcluster.Node, shard int, db, q, want string, done func([]string) bool) string {
	t.Helper()
	var outs []string
	for range 300 {
		outs = outs[:0]
		for _, n := range nodes {
			if n.Shard != shard {
				continue
			}
			out, err := n.Query(db, q)
			if err != nil {
				t.Fatalf("server %d: %s: %v", n.Index+1, q, err)
			}
			outs = append(outs, strings.TrimSpace(out))
		}
		if done(outs) {
			return outs[0]
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the replicas of shard %d do not %s on %q: %v", shard, want, q, outs)
	return ""
}
