// Package store is loendur's only way to ClickHouse: one small interface over two
// engines, a ClickHouse server (clickhouse-go, native protocol) and embedded chDB.
// Callers write ClickHouse SQL once; the backend decides how it travels.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Store is what loendur needs from a database. Implementations are safe for concurrent use.
type Store interface {
	// Info names the engine and its version, so features can be chosen in one place.
	Info() Info
	// Exec runs a statement that returns no rows and is not an INSERT (ClickHouse 18.16
	// waits for a data block after an INSERT sent this way). Args bind to `?` placeholders.
	Exec(ctx context.Context, query string, args ...any) error
	// Insert writes rows, each holding one value per column, in a single batch.
	Insert(ctx context.Context, table string, columns []string, rows [][]any) error
	// Select runs a query and appends one element per row to dest, a pointer to a
	// slice of structs whose fields carry `ch:"column"` tags.
	Select(ctx context.Context, dest any, query string, args ...any) error
	// insertEvents writes the events of every chunk, in order, in one insert
	// (InsertEvents); unexported, as only this package's two backends encode events.
	insertEvents(ctx context.Context, chunks [][]Event) error
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	Close() error
}

// Info describes the engine behind a Store.
type Info struct {
	Engine  string // "server" or "embedded"
	Version string // e.g. "18.16.1"
	Major   int
	Minor   int
	// Cluster is the ClickHouse cluster (Options.Cluster) a server store runs on, and
	// Database its database: migrations are then rendered for the cluster.
	Cluster  string
	Database string
}

// Features are the engine differences loendur cares about, decided once from the version.
type Features struct {
	// ModernSettings is true when the engine knows settings added after 2019
	// (async_insert, insert_deduplication_token, ...).
	ModernSettings bool
	// ReplicatedDedup is true on a cluster: the event tables are replicated, and a
	// retried insert of an identical batch is dropped, shard by shard (an insert that
	// failed on one shard may have landed on another, so a replay inserts the whole
	// batch again rather than looking up whether it landed).
	ReplicatedDedup bool
}

// Features derives what the engine supports from its version.
func (i Info) Features() Features {
	return Features{ModernSettings: i.Major >= 22, ReplicatedDedup: i.Cluster != ""}
}

// Options configure Open.
type Options struct {
	// LibPath is libchdb.so for chdb:// DSNs; empty means CHDB_LIB_PATH or the usual places.
	LibPath string
	// Cluster names a cluster of the servers' remote_servers (clickhouse:// only): the
	// schema is then created ON CLUSTER, sharded and replicated (internal/store/clusterddl).
	Cluster string
}

// ErrLocked is returned when another process holds an embedded data folder.
var ErrLocked = errors.New("embedded data folder is in use by another loendur process")

// Open connects to the database named by dsn: chdb://PATH or
// clickhouse://HOST:PORT[,HOST:PORT…]/DATABASE (several servers: each connection goes to
// the next that answers).
func Open(ctx context.Context, dsn string, opts Options) (Store, error) {
	switch {
	case strings.HasPrefix(dsn, "chdb://"):
		if opts.Cluster != "" {
			return nil, fmt.Errorf("cluster %q: a cluster needs clickhouse:// servers, not the embedded engine", opts.Cluster)
		}
		return openEmbedded(strings.TrimPrefix(dsn, "chdb://"), opts)
	case strings.HasPrefix(dsn, "clickhouse://"):
		return openServer(ctx, dsn, opts.Cluster)
	default:
		return nil, fmt.Errorf("database %q: use chdb://PATH (embedded) or clickhouse://HOST:PORT/DATABASE (server)", redactDSN(dsn))
	}
}

// redactDSN hides a password in a DSN before it reaches an error or a log line.
func redactDSN(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	scheme := strings.Index(dsn, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return dsn
	}
	creds := dsn[scheme+3 : at]
	if user, _, ok := strings.Cut(creds, ":"); ok {
		return dsn[:scheme+3] + user + ":***" + dsn[at:]
	}
	return dsn
}

func parseVersion(v string) (major, minor int) {
	fmt.Sscanf(v, "%d.%d", &major, &minor)
	return major, minor
}

type insertTokenKey struct{}

// WithInsertToken names the batch an insert carries. Engines that support it
// (insert_deduplication_token) drop a repeated insert of the same batch, so a retry of
// an insert that did land is not stored twice.
func WithInsertToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, insertTokenKey{}, token)
}

func insertToken(ctx context.Context) string {
	token, _ := ctx.Value(insertTokenKey{}).(string)
	return token
}

// insertSettings are pinned on every insert so behaviour does not follow a server's
// changed defaults (async_insert) and retries are deduplicated, on engines that know them.
func (i Info) insertSettings(ctx context.Context) map[string]string {
	if !i.Features().ModernSettings {
		return nil
	}
	settings := map[string]string{"async_insert": "0"}
	if token := insertToken(ctx); token != "" {
		settings["insert_deduplication_token"] = token
	}
	return settings
}
