// Package clusterddl renders loendur's single-server DDL for a ClickHouse cluster, by
// one rule that every migration in the house style obeys (schema/*.sql and the
// derived tables' definitions alike), so that a new migration needs no cluster variant
// of its own:
//
//   - A sharded table (one that holds events: it has a visitor_id column, or its
//     definition says so, as the derived rollups do) becomes a local table NAME_local on
//     every server, Replicated* of its engine in the shard's ZooKeeper path
//     (/clickhouse/tables/{shard}/DB/NAME_local, replica {replica}), and a Distributed
//     table NAME over them, sharded by its key (visitor_id: a visitor's events, visits
//     and funnels are on one shard). Readers and writers keep using NAME.
//   - Every other table (sites, users, salts, the ledger, the audit log, …) is small
//     and shared: one Replicated* table NAME on every server of the cluster, all in one
//     ZooKeeper path (/clickhouse/tables/all/DB/NAME, replica {shard}-{replica}).
//   - Every CREATE and DROP runs ON CLUSTER with database-qualified names (a server that
//     runs a distributed DDL task resolves unqualified names in its default database).
//   - A materialized view is created on every server over the local tables, writing
//     into the local table of its target.
//   - ALTER TABLE stays as written, never ON CLUSTER: every table it can name is
//     replicated, and the store runs it at run time on one replica of each shard's local
//     table, or on one server for a shared table (OnServer); replication carries it to
//     the other replicas. After a column change of a sharded table the Distributed
//     table is made again over the local tables. INSERT … SELECT runs once, through the
//     Distributed tables.
//
// Statements it does not recognise are refused with the statement named, so a
// migration the rule does not cover fails its test rather than half a cluster.
package clusterddl

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// LocalSuffix names a sharded table's local part on each server.
const LocalSuffix = "_local"

// VisitorKey is the sharding key of every table with a visitor_id column: a visitor's
// events, visits and funnel steps are on one shard, so a query over one visit or one
// visitor (GROUP BY session_id, IN subqueries of session ids, windowFunnel) needs no
// data from another shard (distributed_product_mode = 'local' relies on it).
const VisitorKey = "visitor_id"

// Cluster is where statements are rendered for: a cluster of the servers'
// remote_servers and the database loendur uses on it.
type Cluster struct {
	Name     string
	Database string
}

// Layout says which tables are sharded and by what key; every other table is shared.
type Layout map[string]string

// Learn adds the sharded tables that stmt creates: a CREATE TABLE with a visitor_id
// column is sharded by it.
func (l Layout) Learn(stmt string) {
	m := createTable.FindStringSubmatch(strings.TrimSpace(stmt))
	if m == nil {
		return
	}
	if hasColumn(m[2], VisitorKey) {
		l[m[1]] = VisitorKey
	}
}

// Local is the name of a sharded table's local part.
func Local(name string) string { return name + LocalSuffix }

var (
	createTable = regexp.MustCompile(`(?is)^CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\((.*)\)\s*ENGINE\s*=\s*(\w+)(?:\s*\(([^)]*)\))?(.*)$`)
	createView  = regexp.MustCompile(`(?is)^CREATE\s+MATERIALIZED\s+VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s+TO\s+(\w+)\s+AS\s+(.*)$`)
	alterTable  = regexp.MustCompile("(?is)^ALTER\\s+TABLE\\s+`?(\\w+)`?\\s+(.*)$")
	onShards    = regexp.MustCompile("(?is)^(ALTER|OPTIMIZE)\\s+TABLE\\s+`?(\\w+)`?(?:\\s+(.*))?$")
	dropTable   = regexp.MustCompile(`(?is)^DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(\w+)$`)
	insertInto  = regexp.MustCompile(`(?is)^INSERT\s+INTO\s`)
	columnAlter = regexp.MustCompile(`(?is)^(ADD|DROP|MODIFY)\s+COLUMN\s`)
	sourceTable = regexp.MustCompile(`(?i)\b(FROM|JOIN)\s+(\w+)\b(\s*\(|\.)?`)
)

// Render turns one single-server statement into the statements of the cluster, in order.
func (c Cluster) Render(stmt string, l Layout) ([]string, error) {
	s := strings.TrimSpace(stmt)
	switch {
	case createTable.MatchString(s):
		m := createTable.FindStringSubmatch(s)
		return c.createTable(m[1], m[2], m[3], m[4], m[5], l), nil
	case createView.MatchString(s):
		m := createView.FindStringSubmatch(s)
		return []string{c.createView(m[1], m[2], m[3], l)}, nil
	case alterTable.MatchString(s):
		m := alterTable.FindStringSubmatch(s)
		return c.alter(s, m[1], m[2], l), nil
	case dropTable.MatchString(s):
		name := dropTable.FindStringSubmatch(s)[1]
		out := []string{"DROP TABLE IF EXISTS " + c.qualify(name) + c.onCluster()}
		if _, sharded := l[name]; sharded {
			out = append(out, "DROP TABLE IF EXISTS "+c.qualify(Local(name))+c.onCluster())
		}
		return out, nil
	case insertInto.MatchString(s):
		return []string{s}, nil // once, through the Distributed and shared tables
	default:
		return nil, fmt.Errorf("cluster: no cluster rendering for this statement (CREATE TABLE, CREATE MATERIALIZED VIEW … TO, ALTER TABLE, DROP TABLE and INSERT are known): %.120s", s)
	}
}

func (c Cluster) onCluster() string { return " ON CLUSTER " + c.Name }

func (c Cluster) qualify(name string) string { return c.Database + "." + name }

// createTable renders CREATE TABLE name (cols) ENGINE = engine(args) rest.
func (c Cluster) createTable(name, cols, engine, args, rest string, l Layout) []string {
	key, sharded := l[name]
	if !sharded {
		return []string{"CREATE TABLE IF NOT EXISTS " + c.qualify(name) + c.onCluster() + " (" + cols + ") ENGINE = " +
			c.replicated(engine, args, "all", name, "{shard}-{replica}") + rest}
	}
	local := Local(name)
	return []string{
		"CREATE TABLE IF NOT EXISTS " + c.qualify(local) + c.onCluster() + " (" + cols + ") ENGINE = " +
			c.replicated(engine, args, "{shard}", local, "{replica}") + withDedupWindow(rest),
		c.distributed(name, key),
	}
}

// DedupWindow is how many recent inserted blocks a sharded table remembers to drop a
// repeat (ClickHouse's default is 100). A batch that failed on one shard is inserted
// again, whole, when it is replayed from a collector's spool, after an outage of
// minutes in which every collector went on inserting about one batch a second: the
// part the healthy shard took must still be remembered then.
const DedupWindow = 10000

// withDedupWindow adds the dedup window to a CREATE TABLE's tail (its SETTINGS clause,
// or a new one).
func withDedupWindow(rest string) string {
	setting := "replicated_deduplication_window = " + strconv.Itoa(DedupWindow)
	if settingsClause.MatchString(rest) {
		return settingsClause.ReplaceAllString(rest, "${0}"+setting+", ")
	}
	return strings.TrimRight(rest, " \n") + "\nSETTINGS " + setting
}

var settingsClause = regexp.MustCompile(`(?i)\bSETTINGS\s+`)

// replicated is the Replicated variant of a MergeTree-family engine, its ZooKeeper path
// under group (a shard, or "all" for a table every server holds whole). Other engines
// stay what they are, one copy per server.
func (c Cluster) replicated(engine, args, group, table, replica string) string {
	if !strings.HasSuffix(engine, "MergeTree") || strings.HasPrefix(engine, "Replicated") {
		if args == "" {
			return engine
		}
		return engine + "(" + args + ")"
	}
	params := "'/clickhouse/tables/" + group + "/" + c.Database + "/" + table + "', '" + replica + "'"
	if strings.TrimSpace(args) != "" {
		params += ", " + args
	}
	return "Replicated" + engine + "(" + params + ")"
}

// createView renders a materialized view writing TO a table: on every server, reading
// the local tables it names and writing the local part of its target.
func (c Cluster) createView(name, target, query string, l Layout) string {
	if _, sharded := l[target]; sharded {
		target = Local(target)
	}
	return "CREATE MATERIALIZED VIEW IF NOT EXISTS " + c.qualify(name) + c.onCluster() + " TO " + c.qualify(target) +
		" AS " + c.localSources(query, l)
}

// localSources qualifies the tables a query reads, naming the local parts of sharded ones.
func (c Cluster) localSources(query string, l Layout) string {
	return sourceTable.ReplaceAllStringFunc(query, func(m string) string {
		parts := sourceTable.FindStringSubmatch(m)
		if parts[3] != "" { // a function (ARRAY JOIN arrayMap(…)) or a qualified name
			return m
		}
		table := parts[2]
		if _, sharded := l[table]; sharded {
			table = Local(table)
		}
		return parts[1] + " " + c.qualify(table)
	})
}

// alter renders ALTER TABLE name rest: the statement as written, for the store to run
// on one replica of each shard (OnServer), not ON CLUSTER. In ClickHouse 18.16's
// distributed DDL queue two replicas race on an ALTER of a replicated table: the second
// finds the change already made by replication, fails, and its DDL worker then stops
// for good on "Node exists", so every later ON CLUSTER statement times out. After a
// column change of a sharded table the Distributed table over its local parts is made
// again with their columns: it holds no rows (inserts are synchronous), and 18.16
// refuses ALTER … ON CLUSTER of a table that is not replicated on a cluster whose
// shards are.
func (c Cluster) alter(stmt, name, rest string, l Layout) []string {
	out := []string{stmt}
	if key, sharded := l[name]; sharded && columnAlter.MatchString(rest) {
		out = append(out, "DROP TABLE IF EXISTS "+c.qualify(name)+c.onCluster(), c.distributed(name, key))
	}
	return out
}

// distributed is the Distributed table name over the local tables of a sharded table.
func (c Cluster) distributed(name, key string) string {
	local := Local(name)
	return "CREATE TABLE IF NOT EXISTS " + c.qualify(name) + c.onCluster() + " AS " + c.qualify(local) +
		" ENGINE = Distributed(" + c.Name + ", " + c.Database + ", " + local + ", " + key + ")"
}

// hasColumn reports whether a CREATE TABLE's column list declares column.
func hasColumn(cols, column string) bool {
	re := regexp.MustCompile(`(?m)(^|[(,])\s*` + regexp.QuoteMeta(column) + `\s+\w`)
	return re.MatchString(cols)
}

// Mutation reports whether stmt is an ALTER TABLE … DELETE or … UPDATE (a mutation the
// caller must wait for on every server) and of which table.
func Mutation(stmt string) (table string, ok bool) {
	m := alterTable.FindStringSubmatch(strings.TrimSpace(stmt))
	if m == nil {
		return "", false
	}
	op := strings.ToUpper(strings.Fields(m[2] + " x")[0])
	return m[1], op == "DELETE" || op == "UPDATE"
}

// ColumnChange reports whether stmt is an ALTER TABLE that adds, drops or modifies a
// column (the caller waits until every replica has the table's new columns).
func ColumnChange(stmt string) bool {
	m := alterTable.FindStringSubmatch(strings.TrimSpace(stmt))
	return m != nil && columnAlter.MatchString(m[2])
}

// OnShards reports whether stmt is an ALTER TABLE or OPTIMIZE TABLE of an unqualified
// table name (as loendur's callers write them; a rendered one names its database), and
// of which: a statement that runs on the tables that hold the rows (OnServer), not on
// a Distributed table, which has neither.
func OnShards(stmt string) (table string, ok bool) {
	m := onShards.FindStringSubmatch(strings.TrimSpace(stmt))
	if m == nil {
		return "", false
	}
	return m[2], true
}

// OnServer renders an ALTER TABLE (a column change, a delete, a dropped partition) or an
// OPTIMIZE TABLE for one server, without ON CLUSTER: on the local table of a sharded
// table (run it on one replica of each shard) or on a shared table (run it on any one
// server). Replication carries it to the other replicas, which is sturdier than the
// distributed DDL queue (see alter); an OPTIMIZE of a replica that does not lead its
// shard is passed to the one that does.
func (c Cluster) OnServer(stmt string, l Layout) (sql string, sharded bool, err error) {
	m := onShards.FindStringSubmatch(strings.TrimSpace(stmt))
	if m == nil {
		return "", false, fmt.Errorf("cluster: not an ALTER or OPTIMIZE TABLE: %.120s", stmt)
	}
	table := m[2]
	if _, sharded = l[table]; sharded {
		table = Local(table)
	}
	return strings.TrimSpace(strings.ToUpper(m[1]) + " TABLE " + c.qualify(table) + " " + m[3]), sharded, nil
}
