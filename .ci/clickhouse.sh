#!/usr/bin/env bash
# Starts or stops the shared throwaway ClickHouse server on loopback ports for tests and
# benchmarks. Usage: .ci/clickhouse.sh start|stop|status   (LOENDUR_CH_DIR,
# LOENDUR_CH_TCP_PORT, LOENDUR_CH_HTTP_PORT from the environment). The command line
# lives in internal/testenv/chserver, which the fault tests use too.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./cmd/loendur-clickhouse "$@"
