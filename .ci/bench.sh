#!/usr/bin/env bash
# `make bench`: builds the collector, the bare Fiber yardstick and the load generator,
# then runs the whole benchmark (cmd/loendur-bench bench): for each engine, the bare Fiber
# server and then loendur on a fresh database, loaded by the same generator; every
# accepted event is waited for and counted in the database. Prints a Markdown table and
# writes it to bin/bench-results.md. Extra arguments go to `loadgen bench`, e.g.
#   .ci/bench.sh -duration 30s -engines server
#   .ci/bench.sh -perf /tmp/loendur-prof      # also perf-record the collector
# Needs the ClickHouse server on 127.0.0.1:$LOENDUR_CH_TCP_PORT (.ci/clickhouse.sh
# start) and libchdb (CHDB_LIB_PATH); the Makefile's bench target provides both.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
mkdir -p bin
$GO build -o bin/loendur ./cmd/loendur
$GO build -o bin/bench-bare ./cmd/loendur-bare
$GO build -o bin/bench-loadgen ./cmd/loendur-bench
exec bin/bench-loadgen bench -loendur bin/loendur -bare bin/bench-bare -markdown bin/bench-results.md "$@"
