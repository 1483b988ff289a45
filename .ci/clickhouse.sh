#!/usr/bin/env bash
# Starts or stops a throwaway ClickHouse server on loopback ports for tests and benchmarks.
# Usage: .ci/clickhouse.sh start|stop|status   (DIR, TCP_PORT, HTTP_PORT from the environment)
set -euo pipefail
DIR=${LOENDUR_CH_DIR:-/tmp/loendur-clickhouse}
TCP_PORT=${LOENDUR_CH_TCP_PORT:-19000}
HTTP_PORT=${LOENDUR_CH_HTTP_PORT:-18123}

running() { [ -f "$DIR/pid" ] && kill -0 "$(cat "$DIR/pid")" 2>/dev/null; }

case "${1:-}" in
start)
  if running; then echo "clickhouse-server already running (pid $(cat "$DIR/pid"), port $TCP_PORT)"; exit 0; fi
  mkdir -p "$DIR/tmp" "$DIR/log"
  # The Debian config points logs at /var/log; send them into the throwaway folder instead.
  clickhouse-server --config-file=/etc/clickhouse-server/config.xml --pid-file="$DIR/pid" --daemon -- \
    --path="$DIR/" --tmp_path="$DIR/tmp/" --user_files_path="$DIR/user_files/" --format_schema_path="$DIR/format_schemas/" \
    --tcp_port="$TCP_PORT" --http_port="$HTTP_PORT" --listen_host=127.0.0.1 \
    --logger.log="$DIR/log/server.log" --logger.errorlog="$DIR/log/error.log" >/dev/null 2>&1
  for _ in $(seq 1 100); do
    if clickhouse-client --port "$TCP_PORT" -q "SELECT 1" >/dev/null 2>&1; then
      echo "clickhouse-server $(clickhouse-client --port "$TCP_PORT" -q 'SELECT version()') listening on 127.0.0.1:$TCP_PORT"; exit 0
    fi
    sleep 0.2
  done
  echo "clickhouse-server did not start; see $DIR/log/error.log" >&2; tail -20 "$DIR/log/error.log" >&2 || true; exit 1
  ;;
stop)
  if running; then
    pid=$(cat "$DIR/pid"); kill "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$DIR/pid"
  ;;
status) running && echo running || { echo stopped; exit 1; } ;;
*) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
