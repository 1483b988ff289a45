// Package testenv finds the real components tests run against: a ClickHouse server,
// libchdb and Chromium. A missing component skips the test locally and fails it when
// CI=true, so CI can never pass by skipping.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// ClickHouseAddr is the native-protocol host:port of the test ClickHouse server,
// from LOENDUR_TEST_CLICKHOUSE (set by `make test`).
func ClickHouseAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("LOENDUR_TEST_CLICKHOUSE")
	if addr == "" {
		missing(t, "LOENDUR_TEST_CLICKHOUSE is not set (run the tests with `make test`, which starts a ClickHouse server)")
	}
	return addr
}

// ClusterDir is the folder of the running local cluster (internal/testenv/chcluster),
// from LOENDUR_TEST_CLUSTER_DIR (set by `make test`, which starts the cluster).
func ClusterDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("LOENDUR_TEST_CLUSTER_DIR")
	if dir == "" {
		missing(t, "LOENDUR_TEST_CLUSTER_DIR is not set (run the tests with `make test`, which starts the local cluster, or `make cluster-start`)")
	}
	return dir
}

// ChdbLib is the path of libchdb.so, from CHDB_LIB_PATH (set by `make test`).
func ChdbLib(t testing.TB) string {
	t.Helper()
	path := os.Getenv("CHDB_LIB_PATH")
	if path == "" {
		missing(t, "CHDB_LIB_PATH is not set (run the tests with `make test`, which fetches libchdb)")
	}
	if _, err := os.Stat(path); err != nil {
		missing(t, "libchdb not found at CHDB_LIB_PATH="+path)
	}
	return path
}

// Chromium is the path of a Chromium binary, from LOENDUR_TEST_CHROMIUM or PATH.
func Chromium(t testing.TB) string {
	t.Helper()
	if path := os.Getenv("LOENDUR_TEST_CHROMIUM"); path != "" {
		return path
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	missing(t, "no Chromium found (apt-get install -y chromium, or run `make test`)")
	return ""
}

func missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("required test component missing: %s", why)
	}
	t.Skipf("skipping: %s", why)
}

// ClickHouseBinaries checks that clickhouse-server and clickhouse-client are in PATH,
// for tests that launch servers of their own (internal/testenv/chserver).
func ClickHouseBinaries(t testing.TB) {
	t.Helper()
	for _, name := range []string{"clickhouse-server", "clickhouse-client"} {
		if _, err := exec.LookPath(name); err != nil {
			missing(t, name+" not found in PATH (apt-get install -y clickhouse-server clickhouse-client, or run `make test`)")
		}
	}
}
