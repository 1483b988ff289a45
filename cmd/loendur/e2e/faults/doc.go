// Package faults holds fault tests of the loendur binary: each test starts its own
// throwaway ClickHouse 18.16 server (clickhouse-server from PATH, a temporary data
// folder, free loopback ports), runs `loendur serve` against it as a separate process,
// drives it with a steady load of beacons that each carry a unique marker, then breaks
// something: stops or kills ClickHouse, kills or terminates the collector, tears a spool
// segment, fills the spool, or sends abusive requests. Afterwards it counts, by marker,
// what got 202 and what is in ClickHouse: nothing accepted may be missing and nothing
// may be stored twice.
//
// The tests never touch the shared test server (LOENDUR_TEST_CLICKHOUSE). A missing
// clickhouse-server or clickhouse-client skips them locally and fails them under
// CI=true; -short skips them (they take a few minutes).
//
// Run with:
//
//	go test -count=1 -v ./cmd/loendur/e2e/faults/
package faults
