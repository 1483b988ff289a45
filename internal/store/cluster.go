package store

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/store/clusterddl"
	"github.com/websystems/loendur/schema"
)

// clusterSettings go with every query on a cluster.
//
//   - insert_distributed_sync: an INSERT into a Distributed table returns only once
//     every shard's part is written to a replica of that shard, so an acknowledged
//     batch is stored, and a failed one (a shard down, ZooKeeper down: "Table is in
//     readonly mode") fails at once and goes to the spool. It must be a query setting
//     as sent here: in a SETTINGS clause of INSERT … SELECT, 18.16 applies it to the
//     SELECT only, and the insert then waits in the Distributed table's folder.
//
// The servers' profile must also set distributed_product_mode = 'local' (clickhouse-go
// sends only numeric settings to 18.16, so it cannot travel with the query; Open
// checks it): an IN subquery of a Distributed table inside a query of one (a visit's
// events, a session's rows) then reads the local part on each shard. Events and visits
// are sharded by visitor (clusterddl.VisitorKey), so a visit's rows are all on its shard
// and the answer equals a single server's.
func clusterSettings() clickhouse.Settings {
	return clickhouse.Settings{"insert_distributed_sync": 1}
}

// ProductModeSetting is the profile setting every server of a cluster needs (README,
// "Scaling out").
const ProductModeSetting = "distributed_product_mode"

// clusterStore renders what a server store runs on a cluster.
type clusterStore struct {
	s      *server
	ddl    clusterddl.Cluster
	layout clusterddl.Layout
	opts   *clickhouse.Options // the store's, for connections to single servers

	mu    sync.Mutex
	conns map[string]driver.Conn
}

func newClusterStore(ctx context.Context, s *server, opts *clickhouse.Options, cluster, database string) (*clusterStore, error) {
	var n []struct {
		N uint64 `ch:"n"`
	}
	if err := s.conn.Select(ctx, &n, "SELECT count() AS n FROM system.clusters WHERE cluster = ?", cluster); err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cluster, err)
	}
	if len(n) == 0 || n[0].N == 0 {
		return nil, fmt.Errorf("cluster %s: not in the server's remote_servers (see system.clusters)", cluster)
	}
	var mode []struct {
		Value string `ch:"value"`
	}
	if err := s.conn.Select(ctx, &mode, "SELECT value FROM system.settings WHERE name = ?", ProductModeSetting); err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cluster, err)
	}
	if len(mode) == 0 || mode[0].Value != "local" {
		return nil, fmt.Errorf("cluster %s: the servers' default profile must set <%s>local</%s> (see README, \"Scaling out\")",
			cluster, ProductModeSetting, ProductModeSetting)
	}
	layout, err := clusterLayout(schema.Files, s.info)
	if err != nil {
		return nil, err
	}
	return &clusterStore{s: s, ddl: clusterddl.Cluster{Name: cluster, Database: database}, layout: layout,
		opts: opts, conns: map[string]driver.Conn{}}, nil
}

// clusterLayout is which tables are sharded: those of the derived definitions, and
// those the migrations create with a visitor_id column.
func clusterLayout(files fs.FS, info Info) (clusterddl.Layout, error) {
	layout := derived.ShardKeys()
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	for _, name := range names {
		body, err := fs.ReadFile(files, name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		sql, err := render(name, string(body), info)
		if err != nil {
			return nil, err
		}
		for _, stmt := range statements(sql) {
			layout.Learn(stmt)
		}
	}
	return layout, nil
}

// exec runs a statement on the cluster. An ALTER TABLE of a table (a column change, a
// delete, a dropped partition) or an OPTIMIZE TABLE (merging visits written twice) runs
// on one replica of each shard's local table (or on one server, for a table every
// server holds), and replication carries it to the other replicas. The store then waits until every replica of every shard has done it: a
// column change, so that the next statement (the Distributed table made again over
// the local ones) finds the new columns on every server; a delete or update, so that
// the callers' own wait (mutation.Wait, which looks at one server) and their counts
// see it done everywhere.
func (c *clusterStore) exec(ctx context.Context, query string, args ...any) error {
	table, onShards := clusterddl.OnShards(query)
	if !onShards {
		if insertSelect.MatchString(query) {
			ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_deduplicate": 0}))
		}
		return c.s.conn.Exec(ctx, query, args...)
	}
	stmt, sharded, err := c.ddl.OnServer(query, c.layout)
	if err != nil {
		return err
	}
	target := table
	if sharded {
		target = clusterddl.Local(table)
	}
	run := func(conn driver.Conn) error { return conn.Exec(ctx, stmt, args...) }
	if m := addColumn.FindStringSubmatch(query); m != nil {
		// A migration stopped halfway added the column on some shards only.
		run = func(conn driver.Conn) error { return addColumnOnce(ctx, conn, stmt, target, m[2]) }
	}
	if !sharded {
		err = run(c.s.conn)
	} else {
		err = c.onEachShard(ctx, run)
	}
	if err != nil {
		return err
	}
	if clusterddl.ColumnChange(query) {
		return c.waitColumns(ctx, target)
	}
	if _, isMutation := clusterddl.Mutation(query); isMutation {
		return c.waitMutations(ctx, target)
	}
	return nil
}

// insertSelect finds an INSERT … SELECT: derived rows computed again (a day rebuilt,
// visits written, a table filled). A replicated table drops an inserted block equal to
// one of its last DedupWindow blocks, so a day rebuilt a second time from the same
// events lost its rows: the first rebuild's were deleted, and the second's were taken
// for a repeat of them. Batches of events are inserted with Insert and stay
// deduplicated (a replay must not store them twice).
var insertSelect = regexp.MustCompile(`(?is)^\s*INSERT\s+INTO\s.*\bSELECT\b`)

// replica is one server of the cluster, as system.clusters lists it.
type replica struct {
	Shard uint32 `ch:"shard_num"`
	Host  string `ch:"host_address"`
	Port  uint16 `ch:"port"`
}

func (r replica) addr() string { return net.JoinHostPort(r.Host, strconv.Itoa(int(r.Port))) }

func (c *clusterStore) replicas(ctx context.Context) ([]replica, error) {
	var rs []replica
	if err := c.s.conn.Select(ctx, &rs, "SELECT shard_num, host_address, port FROM system.clusters WHERE cluster = ? ORDER BY shard_num, replica_num", c.ddl.Name); err != nil {
		return nil, fmt.Errorf("cluster %s: list servers: %w", c.ddl.Name, err)
	}
	return rs, nil
}

// onEachShard runs run on one replica of every shard: the first that takes it.
func (c *clusterStore) onEachShard(ctx context.Context, run func(driver.Conn) error) error {
	rs, err := c.replicas(ctx)
	if err != nil {
		return err
	}
	done := map[uint32]bool{}
	failed := map[uint32]error{}
	for _, r := range rs {
		if done[r.Shard] {
			continue
		}
		conn, err := c.conn(r.addr())
		if err == nil {
			err = run(conn)
		}
		if err != nil {
			failed[r.Shard] = fmt.Errorf("%s: %w", r.addr(), err)
			continue
		}
		done[r.Shard] = true
	}
	for shard, err := range failed {
		if !done[shard] {
			return fmt.Errorf("cluster %s: shard %d: no replica took it: %w", c.ddl.Name, shard, err)
		}
	}
	return nil
}

// conn is a connection pool to one server of the cluster, opened once.
func (c *clusterStore) conn(addr string) (driver.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if conn, ok := c.conns[addr]; ok {
		return conn, nil
	}
	opts := *c.opts
	opts.Addr = []string{addr}
	opts.MaxOpenConns, opts.MaxIdleConns = 2, 1
	conn, err := clickhouse.Open(&opts)
	if err != nil {
		return nil, err
	}
	c.conns[addr] = conn
	return conn, nil
}

func (c *clusterStore) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

// SyncReplicas waits until every replica of tables holds the parts written to its shard
// so far. An insert is acknowledged once one replica of each shard has it, and a read
// through a Distributed table asks one replica per shard, at random: without this, a
// count right after an insert could read the replica that has not fetched it yet (an
// erasure would then skip a row it should delete). On one server, and for a table that
// is not sharded, there is nothing to wait for. A server that does not answer fails it:
// the caller cannot know what that replica holds.
func SyncReplicas(ctx context.Context, s Store, tables ...string) error {
	srv, ok := s.(*server)
	if !ok || srv.cluster == nil {
		return nil
	}
	return srv.cluster.syncReplicas(ctx, tables)
}

func (c *clusterStore) syncReplicas(ctx context.Context, tables []string) error {
	hosts, err := c.replicas(ctx)
	if err != nil {
		return err
	}
	for _, table := range tables {
		if _, sharded := c.layout[table]; !sharded {
			continue
		}
		stmt := "SYSTEM SYNC REPLICA " + c.ddl.Database + "." + clusterddl.Local(table)
		for _, h := range hosts {
			conn, err := c.conn(h.addr())
			if err == nil {
				err = conn.Exec(ctx, stmt)
			}
			if err != nil {
				return fmt.Errorf("cluster %s: wait for %s on %s to catch up: %w", c.ddl.Name, table, h.addr(), err)
			}
		}
	}
	return nil
}

// waitMutations polls system.mutations of every server of the cluster until none of
// table's is pending there. A server that does not answer is asked again: the delete
// is not done until it has done it too.
func (c *clusterStore) waitMutations(ctx context.Context, table string) error {
	hosts, err := c.replicas(ctx)
	if err != nil {
		return err
	}
	for _, h := range hosts {
		err := until(ctx, func() (bool, error) {
			var rows []struct {
				N uint64 `ch:"n"`
			}
			err := c.s.conn.Select(ctx, &rows, "SELECT count() AS n FROM remote(?, system, mutations) WHERE database = ? AND table = ? AND is_done = 0",
				h.addr(), c.ddl.Database, table)
			return err == nil && len(rows) > 0 && rows[0].N == 0, err
		})
		if err != nil {
			return fmt.Errorf("the delete in %s is not done on %s yet (see its system.mutations): %w", table, h.addr(), err)
		}
	}
	return nil
}

// waitColumns polls every server of the cluster until all of them hold table with the
// same columns.
func (c *clusterStore) waitColumns(ctx context.Context, table string) error {
	hosts, err := c.replicas(ctx)
	if err != nil {
		return err
	}
	var differing string
	err = until(ctx, func() (bool, error) {
		var first string
		for _, h := range hosts {
			var cols []struct {
				Name string `ch:"name"`
				Type string `ch:"type"`
			}
			if err := c.s.conn.Select(ctx, &cols, "SELECT name, type FROM remote(?, system, columns) WHERE database = ? AND table = ? ORDER BY name",
				h.addr(), c.ddl.Database, table); err != nil {
				return false, err
			}
			if got := fmt.Sprint(cols); first == "" {
				first = got
			} else if got != first {
				differing = h.addr()
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("the columns of %s on %s differ from another server's yet: %w", table, differing, err)
	}
	return nil
}

// until calls check, pausing longer each time up to a second, until it reports done
// or the context ends; the error then names check's last one.
func until(ctx context.Context, check func() (bool, error)) error {
	delay := 20 * time.Millisecond
	for {
		done, err := check()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
			}
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}
