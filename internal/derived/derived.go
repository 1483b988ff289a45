// Package derived owns every table derived from raw events: the visits (sessions, one
// row per ended visit, written by the Finalizer that serve starts), the page and
// custom-event rollups per hour and per day, and the per-day visit states (mergeable
// uniq states and sums) that overview and time series merge instead of scanning visits.
// One definition per table renders its migration for each deployment, the query that
// computes it (for a rollup also its materialized view; for visits also the reports'
// live part), and its rebuild for a site's days after an erasure or a replayed batch
// (RebuildDays). Retention removes whole old days, from these tables as from events.
//
// Of loendur's own packages it imports only the leaves privacy and store/literal (its
// SQL literals): internal/store runs the migrations it renders beside schema/*.sql,
// and its runtime (RebuildDays, Finalizer) works through the small DB interface, which
// store.Store satisfies.
package derived

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/websystems/loendur/internal/store/clusterddl"
)

// DB is what rebuilding needs of the database (store.Store has it).
type DB interface {
	Exec(ctx context.Context, query string, args ...any) error
	Select(ctx context.Context, dest any, query string, args ...any) error
	Insert(ctx context.Context, table string, columns []string, rows [][]any) error
}

// Deployment is what the rendered DDL depends on.
type Deployment struct {
	// Modern engines (newer than ClickHouse 18.16) understand more settings.
	Modern bool
	// Cluster, when set, is the cluster of the servers' remote_servers that a clustered
	// deployment runs on, and Database its database there: the tables are rendered by
	// clusterddl's rule (ON CLUSTER, Replicated local tables per shard behind
	// Distributed ones, shared tables replicated to every server) with ShardKeys.
	Cluster  string
	Database string
}

// RollupShardKey spreads a rollup's rows over the shards when a rebuild inserts them
// through the Distributed table; the materialized views write each shard's own rows
// into its local table. Readers merge every shard's rows of a key (sums and uniq
// states add up), so where a row lands does not change a figure.
const RollupShardKey = "rand()"

// ShardKeys are the sharded tables this package reads or writes and their sharding
// keys: events and visits by visitor, so that one visit, and all of one visitor's, are
// on one shard; the rollups anywhere (RollupShardKey). The progress table is shared.
// The sample's first table is here for the migrations that create and drop it.
func ShardKeys() clusterddl.Layout {
	l := clusterddl.Layout{EventsTable: clusterddl.VisitorKey, SessionsTable: clusterddl.VisitorKey,
		VisitSample.Name: clusterddl.VisitorKey, firstSample.Name: clusterddl.VisitorKey}
	for _, t := range All() {
		l[t.Name()] = RollupShardKey
	}
	return l
}

// render is a definition's single-server statements as this deployment runs them.
func (d Deployment) render(stmts []string) ([]string, error) {
	if d.Cluster == "" {
		return stmts, nil
	}
	c := clusterddl.Cluster{Name: d.Cluster, Database: d.Database}
	var out []string
	for _, s := range stmts {
		r, err := c.Render(s, ShardKeys())
		if err != nil {
			return nil, fmt.Errorf("derived tables: %w", err)
		}
		out = append(out, r...)
	}
	return out, nil
}

// Column is a column of a derived table.
type Column struct{ Name, Type string }

// Measure is an aggregate column: its type in the table and the expression over the
// source rows that computes it (an aggregate state or a sum, so rows of one key add up).
type Measure struct{ Name, Type, Expr string }

// Bucket is the time grain of a rollup: its key column and how a source time maps to it.
type Bucket struct {
	Suffix string // table name suffix: "hourly", "daily", "monthly"
	Column Column // "hour" DateTime('UTC'), "day" Date or "month" Date
	Func   string // toStartOfHour, toDate or toStartOfMonth
}

// Covers is what a bucket's rows for a set of UTC days are: the condition on its own
// column that selects them and the one on the source's time column that computes them.
// Hourly and daily rows lie within one day; a monthly row holds its whole month, so a
// change of one day recomputes the month.
func (b Bucket) covers(timeCol string, days []time.Time) (rows, source string) {
	if b.Func != Monthly.Func {
		in := dayList(days)
		return "toDate(" + b.Column.Name + ") IN " + in, "toDate(" + timeCol + ") IN " + in
	}
	in := dayList(monthsOf(days))
	return b.Column.Name + " IN " + in, "toStartOfMonth(" + timeCol + ") IN " + in
}

// monthsOf is the first day of each month that days fall in.
func monthsOf(days []time.Time) []time.Time {
	seen := map[time.Time]bool{}
	var out []time.Time
	for _, d := range days {
		m := time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC)
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}

var (
	// Hourly rolls up by UTC hour: the ragged edges of a period in the site's zone.
	Hourly = Bucket{"hourly", Column{"hour", "DateTime('UTC')"}, "toStartOfHour"}
	// Daily rolls up by UTC day: the bulk of a period.
	Daily = Bucket{"daily", Column{"day", "Date"}, "toDate"}
	// Monthly rolls up by UTC month: the whole months of a long period, so a year
	// merges a dozen rows per key instead of 365.
	Monthly = Bucket{"monthly", Column{"month", "Date"}, "toStartOfMonth"}
)

// LaterBucket is a bucket added to a rollup after its first release, by its own
// migration (which fills it from the sources already stored).
type LaterBucket struct {
	Bucket
	Version uint32
}

// Rollup is one definition of aggregates over a source table, kept per bucket.
type Rollup struct {
	Base      string   // table name without the bucket suffix
	Comment   string   // why the table exists, rendered into its migration
	Source    string   // the table it is computed from: events or sessions
	Time      string   // the source's time column
	Keys      []Column // besides site and the bucket
	KeyExprs  []string // how each key is computed from the source ("" = same name)
	ArrayJoin string   // optional ARRAY JOIN clause of the source
	Where     string   // which source rows count
	Measures  []Measure
	Buckets   []Bucket
	Version   uint32 // the migration that creates its tables
	Later     []LaterBucket
	// LeadKeys is how many of Keys come before the bucket in the sort key: a table read
	// by one key value (a dimension) over many days keeps that value's rows together.
	LeadKeys int
	// Granularity, when set, is the table's index granularity: a table read a few rows
	// at a time (one dimension value per day) deserializes fewer uniq states with small
	// granules than with the default 8,192 rows.
	Granularity int
}

// Table is one rollup table: a definition at one bucket.
type Table struct {
	Rollup
	Bucket Bucket
}

// Name of the table.
func (t Table) Name() string { return t.Base + "_" + t.Bucket.Suffix }

// View is the name of the materialized view that keeps the table as rows arrive.
func (t Table) View() string { return t.Name() + "_mv" }

// Columns are the table's columns in order: site, the bucket, the keys, the measures.
func (t Table) Columns() []Column {
	cols := []Column{{"site", "String"}, t.Bucket.Column}
	cols = append(cols, t.Keys...)
	for _, m := range t.Measures {
		cols = append(cols, Column{m.Name, m.Type})
	}
	return cols
}

func (t Table) keyNames() []string {
	names := []string{"site", t.Bucket.Column.Name}
	for _, k := range t.Keys {
		names = append(names, k.Name)
	}
	return names
}

// sortKey is keyNames with the first LeadKeys keys moved before the bucket.
func (t Table) sortKey() []string {
	names := t.keyNames()
	lead := names[2 : 2+t.LeadKeys]
	return append(append(append([]string{"site"}, lead...), names[1]), names[2+t.LeadKeys:]...)
}

// Query is the SELECT that computes the table's rows from its source; cond, when not
// empty, narrows the source rows (a site's days for a rebuild).
func (t Table) Query(cond string) string {
	return t.selectFrom([]string{"site", t.Bucket.Func + "(" + t.Time + ") AS " + t.Bucket.Column.Name},
		t.keyNames(), cond)
}

// Grouped is the SELECT that computes the rollup's keys and measures (in the tables'
// column order, without site and bucket) from the source rows that match cond: a
// report's span too short for a whole hour or day reads events through it, so the
// aggregates are written once, here.
func (r Rollup) Grouped(cond string) string {
	var keys []string
	for _, k := range r.Keys {
		keys = append(keys, k.Name)
	}
	return r.selectFrom(nil, keys, cond)
}

// selectFrom is the SELECT of lead columns, the keys and the measures from the source,
// grouped by groupBy.
func (r Rollup) selectFrom(lead, groupBy []string, cond string) string {
	sel := lead
	for i, k := range r.Keys {
		if i < len(r.KeyExprs) && r.KeyExprs[i] != "" {
			sel = append(sel, r.KeyExprs[i]+" AS "+k.Name)
		} else {
			sel = append(sel, k.Name)
		}
	}
	for _, m := range r.Measures {
		sel = append(sel, m.Expr+" AS "+m.Name)
	}
	var b strings.Builder
	b.WriteString("SELECT " + strings.Join(sel, ",\n    ") + "\nFROM " + r.Source)
	if r.ArrayJoin != "" {
		b.WriteString("\nARRAY JOIN " + r.ArrayJoin)
	}
	where := r.Where
	if cond != "" {
		where = "(" + where + ") AND " + cond
	}
	b.WriteString("\nWHERE " + where)
	b.WriteString("\nGROUP BY " + strings.Join(groupBy, ", "))
	return b.String()
}

// DDL renders the statements that create the table and its materialized view on a
// single server (Deployment.render makes them a cluster's).
func (t Table) DDL() []string {
	var cols []string
	for _, c := range t.Columns() {
		cols = append(cols, "    "+c.Name+" "+c.Type)
	}
	table := "CREATE TABLE IF NOT EXISTS " + t.Name() + " (\n" + strings.Join(cols, ",\n") + "\n) ENGINE = " +
		"SummingMergeTree\nPARTITION BY " + t.partition() + "\nORDER BY (" + strings.Join(t.sortKey(), ", ") + ")"
	if t.Granularity > 0 {
		table += "\nSETTINGS index_granularity = " + strconv.Itoa(t.Granularity)
	}
	view := "CREATE MATERIALIZED VIEW IF NOT EXISTS " + t.View() + " TO " + t.Name() + " AS\n" + t.Query("")
	return []string{table, view}
}

// partition splits a table by month of its bucket (by year for monthly rows, which
// would otherwise make a part per month).
func (t Table) partition() string {
	if t.Bucket.Func == Monthly.Func {
		return "toYear(" + t.Bucket.Column.Name + ")"
	}
	return "toYYYYMM(" + t.Bucket.Column.Name + ")"
}

// Tables are the rollup definitions at every bucket they are kept in.
func (r Rollup) Tables() []Table {
	out := make([]Table, 0, len(r.Buckets)+len(r.Later))
	for _, b := range r.Buckets {
		out = append(out, Table{r, b})
	}
	for _, l := range r.Later {
		out = append(out, Table{r, l.Bucket})
	}
	return out
}

// All is every derived rollup table.
func All() []Table {
	var out []Table
	for _, r := range Rollups {
		out = append(out, r.Tables()...)
	}
	return out
}

// Lookup finds a derived rollup table by name.
func Lookup(name string) (Table, bool) {
	for _, t := range All() {
		if t.Name() == name {
			return t, true
		}
	}
	return Table{}, false
}

// Names are the names of every table this package owns: the rollups at every bucket,
// the visits, their sample and their progress. A table holding event data that is not
// here, nor the events table, has no rebuild (the coverage test in internal/erasure
// fails).
func Names() []string {
	names := []string{Visits.Name, Visits.Progress, VisitSample.Name}
	for _, t := range All() {
		names = append(names, t.Name())
	}
	return names
}

// Migration is one numbered migration rendered from definitions.
type Migration struct {
	Version    uint32
	Name       string
	Statements []string
}

// Migrations renders the migrations of every derived table for a deployment. They take
// their place among schema/*.sql by version.
func Migrations(d Deployment) ([]Migration, error) {
	out := []Migration{Visits.migration(), firstSample.migration(), VisitSample.migration()}
	for _, r := range Rollups {
		m := Migration{Version: r.Version, Name: fmt.Sprintf("%04d_%s.derived", r.Version, r.Base)}
		for _, b := range r.Buckets {
			t := Table{r, b}
			m.Statements = append(m.Statements, t.DDL()...)
			m.Statements = append(m.Statements, t.backfill())
		}
		out = append(out, m)
		for _, l := range r.Later {
			t := Table{r, l.Bucket}
			out = append(out, Migration{Version: l.Version, Name: fmt.Sprintf("%04d_%s.derived", l.Version, t.Name()),
				Statements: append(t.DDL(), t.backfill())})
		}
	}
	for i := range out {
		var err error
		if out[i].Statements, err = d.render(out[i].Statements); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// backfill fills a new table from what a database upgraded from an earlier release
// already holds (on a new database the sources are empty and it adds nothing).
func (t Table) backfill() string {
	names := make([]string, 0, len(t.Columns()))
	for _, c := range t.Columns() {
		names = append(names, c.Name)
	}
	// Only into an empty table, so that a second run (two processes migrating at once)
	// adds nothing: the source side is empty once rows exist.
	return "INSERT INTO " + t.Name() + " (" + strings.Join(names, ", ") + ") " +
		strings.Replace(t.Query("(SELECT count() FROM "+t.Name()+") = 0"), "FROM "+t.Source, "FROM "+t.from(), 1)
}

// from is the source as a rebuild reads it: visits FINAL, since the finalizer may have
// written a visit twice and it must count once.
func (t Table) from() string {
	if t.Source == SessionsTable {
		return SessionsTable + " FINAL"
	}
	return t.Source
}
