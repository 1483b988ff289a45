// Package schema holds loendur's ClickHouse schema as numbered, forward-only .sql
// migrations, embedded into the binary. Every statement must run on ClickHouse server
// 18.16 and on chDB 26.x, and must be idempotent (IF NOT EXISTS), because two
// processes may migrate one database at the same time.
package schema

import "embed"

// Files are the migrations, named NNNN_description.sql, applied in name order.
//
//go:embed *.sql
var Files embed.FS
