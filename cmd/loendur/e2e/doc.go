// Package e2e holds black-box tests of the loendur binary: each test builds nothing
// itself but runs the binary that TestMain built from ./cmd/loendur as a separate
// process, speaks HTTP to it and reads what it stored from the real ClickHouse server
// (LOENDUR_TEST_CLICKHOUSE) or from embedded chDB (CHDB_LIB_PATH), as a user would.
//
// Run with:
//
//	LOENDUR_TEST_CLICKHOUSE=127.0.0.1:19000 CHDB_LIB_PATH=$HOME/.cache/loendur/chdb-26.7.3-stable.1/libchdb.so go test ./cmd/loendur/e2e/
package e2e
