package backup

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/websystems/loendur/internal/audit"
	"github.com/websystems/loendur/internal/erasure"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/literal"
)

// A backup of a cluster is taken per shard: each sharded table (the _local part behind
// a Distributed table) is read from one replica of every shard (remote() with the
// shard's replicas as alternatives) into that shard's folder, shard-N/; the tables
// every server holds (sites, users, the ledger, …) are read once. Distributed tables
// and views hold no data: the manifest keeps their schema only.
//
// A restore loads into a database migrated for the cluster (it runs the migrations
// itself), writing each shard's rows back into that shard's local tables: through a
// Distributed table of a constant sharding key that points at the shard, so every row
// lands on the shard it came from, rollups included (they are spread at random, not by
// visitor), and replication brings it to the shard's other replicas. Loading through
// the ordinary Distributed tables would put events and visits back in place too (their
// key is visitor_id) but scatter the rollups.

// Shard is one shard of a cluster backup.
type Shard struct {
	Num    uint32 `json:"num"`
	Weight uint32 `json:"weight"`
	Dir    string `json:"dir"`
	// Replicas are the shard's servers at backup time (host:port), for the record.
	Replicas string `json:"replicas"`
}

// restoreTmp prefixes the helper tables a cluster restore creates on the server it is
// connected to (and drops again).
const restoreTmp = "_restore_"

// kept are tables a cluster restore does not require empty: the target's migration
// record is its own (not loaded), the ledger is merged (loadLedger), and the audit log
// gets the backup's lines added to its own (an erasure served before the restore
// writes one).
var kept = map[string]bool{"schema_migrations": true, erasure.LedgerTable: true, audit.Table: true}

func clusterShards(ctx context.Context, db store.Store) ([]Shard, error) {
	var rows []struct {
		Num      uint32 `ch:"num"`
		Weight   uint32 `ch:"weight"`
		Replicas string `ch:"replicas"`
	}
	if err := db.Select(ctx, &rows, `SELECT shard_num AS num, any(shard_weight) AS weight,
		arrayStringConcat(groupArray(concat(host_address, ':', toString(port))), '|') AS replicas
		FROM system.clusters WHERE cluster = ? GROUP BY shard_num ORDER BY shard_num`, db.Info().Cluster); err != nil {
		return nil, fmt.Errorf("cluster %s: list shards: %w", db.Info().Cluster, err)
	}
	shards := make([]Shard, 0, len(rows))
	for _, r := range rows {
		shards = append(shards, Shard{Num: r.Num, Weight: r.Weight, Dir: "shard-" + strconv.Itoa(int(r.Num)), Replicas: r.Replicas})
	}
	if len(shards) == 0 {
		return nil, fmt.Errorf("cluster %s: no shards in system.clusters", db.Info().Cluster)
	}
	return shards, nil
}

// shardedParts are the local tables behind the Distributed tables among tables.
func shardedParts(tables []tableRow) map[string]bool {
	parts := map[string]bool{}
	for _, t := range tables {
		if t.Engine == "Distributed" {
			parts[t.Name+"_local"] = true
		}
	}
	return parts
}

func backupCluster(ctx context.Context, db store.Store, abs string, opts Options, m *Manifest, tables []tableRow) error {
	shards, err := clusterShards(ctx, db)
	if err != nil {
		return err
	}
	m.Cluster, m.Shards = db.Info().Cluster, shards
	for _, s := range shards {
		if err := os.Mkdir(filepath.Join(abs, s.Dir), 0o750); err != nil {
			return fmt.Errorf("backup folder of shard %d: %w", s.Num, err)
		}
	}
	parts := shardedParts(tables)
	for _, t := range tables {
		if _, skip := excluded[t.Name]; skip || strings.HasPrefix(t.Name, ".inner") {
			continue
		}
		create, err := showCreate(ctx, db, t.Name)
		if err != nil {
			return err
		}
		entry := Table{Name: t.Name, Engine: t.Engine, Create: create}
		switch {
		case isView(t.Engine) || t.Engine == "Distributed":
		case parts[t.Name]:
			entry.File, entry.Sharded = t.Name+".native", true
			for _, s := range shards {
				q := "SELECT * FROM remote(" + literal.Quote(s.Replicas) + ", " + literal.Quote(m.Database) + ", " + literal.Quote(t.Name) + ") FORMAT Native"
				if err := dumpHTTP(ctx, opts, m.Database, q, filepath.Join(abs, s.Dir, entry.File)); err != nil {
					return fmt.Errorf("backup %s of shard %d (%s): %w", t.Name, s.Num, s.Replicas, err)
				}
			}
		default:
			entry.File = t.Name + ".native"
			if err := dump(ctx, db, opts, m.Database, t.Name, filepath.Join(abs, entry.File)); err != nil {
				return err
			}
		}
		m.Tables = append(m.Tables, entry)
	}
	return nil
}

func restoreCluster(ctx context.Context, db store.Store, abs string, opts Options, m Manifest, database string) (int, error) {
	cluster := db.Info().Cluster
	switch {
	case m.Cluster == "":
		return 0, fmt.Errorf("restore: this is a backup of a single server; restore it onto a single server (a cluster restore puts each shard's rows back on the shard they came from)")
	case cluster == "":
		return 0, fmt.Errorf("restore: this is a backup of cluster %s; restore it with --cluster onto a cluster of %d shards", m.Cluster, len(m.Shards))
	}
	shards, err := clusterShards(ctx, db)
	if err != nil {
		return 0, err
	}
	if len(shards) != len(m.Shards) {
		return 0, fmt.Errorf("restore: the backup has %d shards and cluster %s has %d; rows go back to the shard they came from, so the counts must match",
			len(m.Shards), cluster, len(shards))
	}
	if _, err := store.Migrate(ctx, db); err != nil {
		return 0, fmt.Errorf("restore: migrate the cluster database: %w", err)
	}
	if err := requireEmpty(ctx, db, m); err != nil {
		return 0, err
	}
	// The views go while loading, so loaded events do not add to the rollups twice.
	var views []struct {
		Name string `ch:"name"`
	}
	if err := db.Select(ctx, &views, `SELECT name FROM system.tables WHERE database = currentDatabase()
		AND engine IN ('MaterializedView', 'View')`); err != nil {
		return 0, fmt.Errorf("restore: list views: %w", err)
	}
	for _, v := range views {
		if err := db.Exec(ctx, "DROP TABLE IF EXISTS `"+database+"`.`"+v.Name+"` ON CLUSTER `"+cluster+"`"); err != nil {
			return 0, fmt.Errorf("restore: drop view %s: %w", v.Name, err)
		}
	}
	n := 0
	for _, t := range m.Tables {
		var err error
		switch {
		case t.File == "" || t.Name == "schema_migrations":
			continue
		case t.Name == erasure.LedgerTable:
			err = loadLedger(ctx, db, opts, database, filepath.Join(abs, t.File))
		case t.Sharded:
			for i, s := range m.Shards {
				if err = loadShard(ctx, db, opts, cluster, database, t.Name, slot(shards, i), filepath.Join(abs, s.Dir, t.File)); err != nil {
					err = fmt.Errorf("shard %d: %w", s.Num, err)
					break
				}
			}
		default:
			err = load(ctx, db, opts, database, t.Name, filepath.Join(abs, t.File))
		}
		if err != nil {
			return n, fmt.Errorf("restore %s: %w (the database %s is now partly loaded and without its views: drop it ON CLUSTER and restore into a new one)", t.Name, err, database)
		}
		n++
	}
	for _, t := range m.Tables {
		if !isView(t.Engine) {
			continue
		}
		if err := db.Exec(ctx, onCluster(requalify(t.Create, m.Database, database), cluster)); err != nil {
			return n, fmt.Errorf("restore: create view %s: %w", t.Name, err)
		}
		n++
	}
	return n, nil
}

// requireEmpty refuses a target that holds data the backup would add to: a cluster
// restore loads, it does not replace (dropping tables ON CLUSTER is slow and racy on
// 18.16's DDL queue).
func requireEmpty(ctx context.Context, db store.Store, m Manifest) error {
	for _, t := range m.Tables {
		if t.File == "" || kept[t.Name] {
			continue
		}
		var rows []struct {
			N uint64 `ch:"n"`
		}
		if err := db.Select(ctx, &rows, "SELECT count() AS n FROM "+clusterWide(t)); err != nil {
			return fmt.Errorf("restore: count rows of %s: %w", t.Name, err)
		}
		if len(rows) > 0 && rows[0].N > 0 {
			return fmt.Errorf("restore: %s already holds %d rows; on a cluster, restore into a new (or emptied) database", t.Name, rows[0].N)
		}
	}
	return nil
}

// clusterWide is the table that reads t across the cluster: a shard's part is read
// through its Distributed table.
func clusterWide(t Table) string {
	if t.Sharded {
		return "`" + t.Name[:len(t.Name)-len("_local")] + "`"
	}
	return "`" + t.Name + "`"
}

// slot is a sharding key value that a Distributed table of the cluster sends to shard
// i: Distributed picks the shard by key modulo the total weight, shards taking
// consecutive ranges of that size in their order.
func slot(shards []Shard, i int) uint32 {
	var s uint32
	for _, sh := range shards[:i] {
		s += sh.Weight
	}
	return s
}

// loadShard inserts one shard's Native file into table (a local table) on that shard,
// through a Distributed table on the connected server whose sharding key is the
// constant key, waiting until the shard has the rows (insert_distributed_sync).
func loadShard(ctx context.Context, db store.Store, opts Options, cluster, database, table string, key uint32, path string) error {
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		return err
	}
	tmp := "`" + database + "`.`" + restoreTmp + table + "`"
	if err := db.Exec(ctx, "DROP TABLE IF EXISTS "+tmp); err != nil {
		return err
	}
	create := fmt.Sprintf("CREATE TABLE %s AS `%s`.`%s` ENGINE = Distributed(`%s`, `%s`, `%s`, %d)", tmp, database, table, cluster, database, table, key)
	if err := db.Exec(ctx, create); err != nil {
		return fmt.Errorf("helper table: %w", err)
	}
	defer db.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+tmp)
	return loadHTTP(ctx, opts, database, "INSERT INTO "+tmp+" FORMAT Native", path, url.Values{"insert_distributed_sync": {"1"}})
}

// loadLedger adds the backup's ledger entries the target lacks: the target's own
// entries (erasures recorded since the backup, or by a collector already serving the
// restored database) stay, and erasure.Reapply then runs them all.
func loadLedger(ctx context.Context, db store.Store, opts Options, database, path string) error {
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		return err
	}
	tmp := "`" + database + "`.`" + restoreTmp + erasure.LedgerTable + "`"
	if err := db.Exec(ctx, "DROP TABLE IF EXISTS "+tmp); err != nil {
		return err
	}
	if err := db.Exec(ctx, "CREATE TABLE "+tmp+" AS `"+database+"`.`"+erasure.LedgerTable+"` ENGINE = Log"); err != nil {
		return fmt.Errorf("helper table: %w", err)
	}
	defer db.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+tmp)
	if err := loadHTTP(ctx, opts, database, "INSERT INTO "+tmp+" FORMAT Native", path, nil); err != nil {
		return err
	}
	return db.Exec(ctx, "INSERT INTO `"+database+"`.`"+erasure.LedgerTable+"` SELECT * FROM "+tmp+
		" WHERE id NOT IN (SELECT id FROM `"+database+"`.`"+erasure.LedgerTable+"`)")
}

var viewName = regexp.MustCompile(`^(CREATE (?:MATERIALIZED )?VIEW (?:IF NOT EXISTS )?\S+)`)

// onCluster makes a view's CREATE statement (as one server shows it) run on every
// server of the cluster.
func onCluster(create, cluster string) string {
	return viewName.ReplaceAllString(create, "${1} ON CLUSTER `"+cluster+"`")
}
