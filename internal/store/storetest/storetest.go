// Package storetest opens the real engines that tests run against: a fresh database on
// the test ClickHouse server and the process's one embedded chDB folder, both migrated.
package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/testenv"
)

// Engines returns a migrated store per engine, keyed "server" and "embedded".
func Engines(t testing.TB) map[string]store.Store {
	t.Helper()
	return map[string]store.Store{"server": Server(t), "embedded": Embedded(t)}
}

// ServerDSN names a fresh database on the test server.
func ServerDSN(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("clickhouse://%s/loendur_test_%d", testenv.ClickHouseAddr(t), rand.Uint32())
}

// Server opens and migrates a fresh database on the test ClickHouse server.
func Server(t testing.TB) store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), ServerDSN(t), store.Options{})
	if err != nil {
		t.Fatalf("open server: %v", err)
	}
	t.Cleanup(func() { DropAndClose(s) })
	if _, err := store.Migrate(context.Background(), s); err != nil {
		t.Fatalf("migrate server: %v", err)
	}
	return s
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
