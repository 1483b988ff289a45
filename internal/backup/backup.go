// Package backup writes every table of a loendur database to a folder (the schema from
// SHOW CREATE TABLE, the data in ClickHouse's Native format, one file per table, and a
// manifest.json) and loads such a folder back.
//
// How the data travels differs per engine, because the Store interface carries rows,
// not formats: a ClickHouse server is read and written through its HTTP interface
// (SELECT … FORMAT Native and INSERT … FORMAT Native stream the engine's own blocks,
// every column type included, on 18.16 as on newer servers; clickhouse-go's native
// protocol gives typed rows only), and embedded chDB writes and reads the files itself
// with the file() table function.
//
// On a cluster (store.Info.Cluster) a backup is taken per shard and a restore loads
// into an empty database migrated for the cluster, every row back on its shard (see
// cluster.go).
//
// The salts table is never backed up: a salt must be gone 48 hours after its day, and a
// backup lives longer. Materialized views are recreated after their tables are loaded,
// so loading events does not add to the rollups twice.
package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/websystems/loendur/internal/erasure"
	"github.com/websystems/loendur/internal/store"
)

// ManifestFile names the backup's table of contents.
const ManifestFile = "manifest.json"

// excluded tables are never written to a backup.
var excluded = map[string]string{"salts": "salts must be deleted 48 hours after their day; a backup lives longer"}

// Table is one table in a backup.
type Table struct {
	Name   string `json:"name"`
	Engine string `json:"engine"`
	Create string `json:"create"`
	File   string `json:"file,omitempty"` // Native data; empty for views
	// Sharded: the table is one shard's part of a Distributed table, and File is in
	// each shard's folder (Shard.Dir).
	Sharded bool `json:"sharded,omitempty"`
}

// Manifest lists what a backup holds.
type Manifest struct {
	Database string    `json:"database"`
	Engine   string    `json:"engine"`
	Version  string    `json:"version"`
	Time     time.Time `json:"time"`
	Tables   []Table   `json:"tables"`
	// Cluster and Shards are set for a backup of a cluster (see cluster.go).
	Cluster string  `json:"cluster,omitempty"`
	Shards  []Shard `json:"shards,omitempty"`
}

// Options of Backup and Restore.
type Options struct {
	// DSN is the database's DSN: for a server, its host and credentials are used for
	// the HTTP interface.
	DSN string
	// HTTPPort is the server's HTTP port (usually 8123); unused for embedded chDB.
	HTTPPort int
}

// Backup writes every table of db into dir, which must be empty or not exist.
func Backup(ctx context.Context, db store.Store, dir string, opts Options) (Manifest, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return Manifest{}, fmt.Errorf("backup folder %s: %w", dir, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		return Manifest{}, fmt.Errorf("backup folder %s is not empty", dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Manifest{}, err
	}
	database, err := currentDatabase(ctx, db)
	if err != nil {
		return Manifest{}, err
	}
	var tables []tableRow
	if err := db.Select(ctx, &tables, `SELECT name, engine FROM system.tables
		WHERE database = currentDatabase() AND NOT is_temporary ORDER BY name`); err != nil {
		return Manifest{}, fmt.Errorf("backup: list tables: %w", err)
	}
	m := Manifest{Database: database, Engine: db.Info().Engine, Version: db.Info().Version, Time: time.Now().UTC()}
	if db.Info().Cluster != "" {
		if err := backupCluster(ctx, db, abs, opts, &m, tables); err != nil {
			return m, err
		}
		return m, writeManifest(abs, m)
	}
	for _, t := range tables {
		if _, skip := excluded[t.Name]; skip || strings.HasPrefix(t.Name, ".inner") {
			continue
		}
		create, err := showCreate(ctx, db, t.Name)
		if err != nil {
			return m, err
		}
		entry := Table{Name: t.Name, Engine: t.Engine, Create: create}
		if !isView(t.Engine) {
			entry.File = t.Name + ".native"
			if err := dump(ctx, db, opts, database, t.Name, filepath.Join(abs, entry.File)); err != nil {
				return m, err
			}
		}
		m.Tables = append(m.Tables, entry)
	}
	return m, writeManifest(abs, m)
}

type tableRow struct {
	Name   string `ch:"name"`
	Engine string `ch:"engine"`
}

func writeManifest(abs string, m Manifest) error {
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(abs, ManifestFile), b, 0o640); err != nil {
		return fmt.Errorf("backup: write manifest: %w", err)
	}
	return nil
}

// showCreate is a table's CREATE statement as the server holds it.
func showCreate(ctx context.Context, db store.Store, table string) (string, error) {
	var ddl []struct {
		Statement string `ch:"statement"`
	}
	if err := db.Select(ctx, &ddl, "SHOW CREATE TABLE `"+table+"`"); err != nil || len(ddl) == 0 {
		return "", fmt.Errorf("backup: schema of %s: %v", table, err)
	}
	return ddl[0].Statement, nil
}

// Restore recreates and reloads every table of the backup in dir, replacing tables of
// the same name. The erasure ledger is merged, not replaced: erasures recorded after
// the backup was taken stay in it (re-apply them with erasure.Reapply before serving).
// It returns how many tables it restored.
func Restore(ctx context.Context, db store.Store, dir string, opts Options) (int, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return 0, err
	}
	raw, err := os.ReadFile(filepath.Join(abs, ManifestFile))
	if err != nil {
		return 0, fmt.Errorf("restore: %w (is %s a loendur backup?)", err, dir)
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return 0, fmt.Errorf("restore: manifest: %w", err)
	}
	database, err := currentDatabase(ctx, db)
	if err != nil {
		return 0, err
	}
	if db.Info().Cluster != "" || m.Cluster != "" {
		return restoreCluster(ctx, db, abs, opts, m, database)
	}
	ledger, _ := erasure.Ledger(ctx, db) // none yet in a fresh database
	// Views first, so no table is dropped under a view, and none fires while loading.
	var views []struct {
		Name string `ch:"name"`
	}
	if err := db.Select(ctx, &views, `SELECT name FROM system.tables WHERE database = currentDatabase()
		AND engine IN ('MaterializedView', 'View')`); err != nil {
		return 0, fmt.Errorf("restore: list views: %w", err)
	}
	for _, v := range views {
		if err := db.Exec(ctx, "DROP TABLE IF EXISTS `"+v.Name+"`"); err != nil {
			return 0, fmt.Errorf("restore: drop view %s: %w", v.Name, err)
		}
	}
	n := 0
	for _, phase := range []bool{false, true} {
		for _, t := range m.Tables {
			if isView(t.Engine) != phase {
				continue
			}
			if err := db.Exec(ctx, "DROP TABLE IF EXISTS `"+t.Name+"`"); err != nil {
				return n, fmt.Errorf("restore: drop %s: %w", t.Name, err)
			}
			if err := db.Exec(ctx, requalify(t.Create, m.Database, database)); err != nil {
				return n, fmt.Errorf("restore: create %s: %w", t.Name, err)
			}
			if t.File != "" {
				if err := load(ctx, db, opts, database, t.Name, filepath.Join(abs, t.File)); err != nil {
					return n, err
				}
			}
			n++
		}
	}
	if err := mergeLedger(ctx, db, ledger); err != nil {
		return n, err
	}
	return n, nil
}

func isView(engine string) bool { return engine == "MaterializedView" || engine == "View" }

// requalify points a CREATE statement from database from at database to.
func requalify(create, from, to string) string {
	re := regexp.MustCompile("(`?)" + regexp.QuoteMeta(from) + "(`?)\\.")
	return re.ReplaceAllLiteralString(create, "`"+to+"`.")
}

func currentDatabase(ctx context.Context, db store.Store) (string, error) {
	var rows []struct {
		DB string `ch:"db"`
	}
	if err := db.Select(ctx, &rows, "SELECT currentDatabase() AS db"); err != nil || len(rows) == 0 {
		return "", fmt.Errorf("current database: %v", err)
	}
	return rows[0].DB, nil
}

// mergeLedger puts back the ledger entries the restored ledger lacks.
func mergeLedger(ctx context.Context, db store.Store, live []erasure.Entry) error {
	if len(live) == 0 {
		return nil
	}
	restored, err := erasure.Ledger(ctx, db)
	if err != nil {
		return fmt.Errorf("restore: the backup has no erasure ledger and %d erasures must be kept: %w", len(live), err)
	}
	have := map[string]bool{}
	for _, e := range restored {
		have[e.ID] = true
	}
	var rows [][]any
	for _, e := range live {
		if !have[e.ID] {
			rows = append(rows, []any{e.ID, e.Time.UTC(), e.Site, e.Kind, e.Selector, e.RowsErased, e.RequestedBy})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	if err := db.Insert(ctx, erasure.LedgerTable, []string{"id", "time", "site", "kind", "selector", "rows_erased", "requested_by"}, rows); err != nil {
		return fmt.Errorf("restore: keep the %d erasures recorded after the backup: %w", len(rows), err)
	}
	return nil
}

func dump(ctx context.Context, db store.Store, opts Options, database, table, path string) error {
	if db.Info().Engine != "server" {
		if err := db.Exec(ctx, "INSERT INTO FUNCTION file(?, 'Native') SELECT * FROM `"+table+"`", path); err != nil {
			return fmt.Errorf("backup %s: %w", table, err)
		}
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return os.WriteFile(path, nil, 0o640) // an empty table writes nothing
		}
		return nil
	}
	if err := dumpHTTP(ctx, opts, database, "SELECT * FROM `"+table+"` FORMAT Native", path); err != nil {
		return fmt.Errorf("backup %s: %w", table, err)
	}
	return nil
}

// dumpHTTP writes the Native result of query on the server to a new file at path.
func dumpHTTP(ctx context.Context, opts Options, database, query, path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	defer f.Close()
	body, err := httpQuery(ctx, opts, database, query, nil)
	if err != nil {
		return err
	}
	defer body.Close()
	if _, err := io.Copy(f, body); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

func load(ctx context.Context, db store.Store, opts Options, database, table, path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("restore %s: %w", table, err)
	}
	if st.Size() == 0 {
		return nil
	}
	if db.Info().Engine != "server" {
		if err := db.Exec(ctx, "INSERT INTO `"+table+"` SELECT * FROM file(?, 'Native')", path); err != nil {
			return fmt.Errorf("restore %s: %w", table, err)
		}
		return nil
	}
	if err := loadHTTP(ctx, opts, database, "INSERT INTO `"+table+"` FORMAT Native", path, nil); err != nil {
		return fmt.Errorf("restore %s: %w", table, err)
	}
	return nil
}

// loadHTTP posts the Native file at path to the server with an INSERT query.
func loadHTTP(ctx context.Context, opts Options, database, query, path string, settings url.Values) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	body, err := httpQuery(ctx, opts, database, query, f, settings)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, body)
	return body.Close()
}

// httpQuery runs a query on the server's HTTP interface: a GET streaming the result, or
// a POST with data to insert.
// On a cluster (a DSN of several hosts) it goes to the first host, the one the store
// connects to first.
func httpQuery(ctx context.Context, opts Options, database, query string, data io.Reader, settings ...url.Values) (io.ReadCloser, error) {
	u, err := url.Parse(opts.DSN)
	if err == nil && strings.Contains(u.Host, ",") {
		u.Host, _, _ = strings.Cut(u.Host, ",")
	}
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("server DSN: want clickhouse://HOST:PORT/DATABASE")
	}
	port := opts.HTTPPort
	if p := u.Query().Get("http_port"); p != "" {
		port, _ = strconv.Atoi(p)
	}
	if port == 0 {
		port = 8123
	}
	params := url.Values{"database": {database}, "query": {query}}
	for _, set := range settings {
		for k, v := range set {
			params[k] = v
		}
	}
	endpoint := url.URL{Scheme: "http", Host: u.Hostname() + ":" + strconv.Itoa(port), Path: "/", RawQuery: params.Encode()}
	method := http.MethodGet
	if data != nil {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, endpoint.String(), data)
	if err != nil {
		return nil, err
	}
	if u.User != nil {
		req.Header.Set("X-ClickHouse-User", u.User.Username())
		if pw, ok := u.User.Password(); ok {
			req.Header.Set("X-ClickHouse-Key", pw)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ClickHouse HTTP interface at %s (set --http-port): %w", endpoint.Host, err)
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		resp.Body.Close()
		return nil, fmt.Errorf("ClickHouse HTTP interface at %s: %s: %s", endpoint.Host, resp.Status, strings.TrimSpace(string(msg)))
	}
	return resp.Body, nil
}
