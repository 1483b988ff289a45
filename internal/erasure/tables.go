package erasure

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/websystems/loendur/internal/store/clusterddl"

	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/store"
)

// LedgerTable is the erasure ledger. It has a site column but holds selectors, not
// events, and is never erased.
const LedgerTable = "erasure_ledger"

// EventsTable is the source of truth: every other event-holding table derives from it.
const EventsTable = "events"

// ImportedPrefix starts the name of every imported aggregate table.
const ImportedPrefix = "imported_"

// keyColumns are the columns whose presence (beside site) marks a table as holding
// data about single events or visitors.
var keyColumns = []string{"visitor_id", "session_id", "event_id", "ip"}

// timeColumns are the names a table's event time may have, most specific first.
var timeColumns = []string{"timestamp", "start_time", "hour", "day", "month", "date", "time"}

// Table is a table of the database with its columns (name → type).
type Table struct {
	Name    string
	Columns map[string]string
}

// Has reports whether the table has a column.
func (t Table) Has(col string) bool { _, ok := t.Columns[col]; return ok }

// TimeColumn is the column that dates a row, or "" when there is none.
func (t Table) TimeColumn() string {
	for _, c := range timeColumns {
		if typ, ok := t.Columns[c]; ok && strings.HasPrefix(typ, "Date") {
			return c
		}
	}
	return ""
}

// Rollup is a derived table (internal/derived) found in the database: aggregates
// without per-event keys (visitor sketches, counts), rebuilt from its definition after
// an erasure.
type Rollup struct {
	View   string        // the materialized view that keeps it
	Target Table         // the table, as the database has it
	Def    derived.Table // its definition: the query that computes it and its rebuild
}

// Catalog is every table of the database, sorted into what erasure must do with it.
type Catalog struct {
	Database string
	Erasable []Table  // have site and a key column: rows are deleted
	Rollups  []Rollup // materialized from events: recomputed
	Views    []string // materialized and plain views (they store nothing themselves)
	// Imported are the imported aggregates (imported_*: counts per site and day from
	// another tool's export, internal/imports): no visitor in them, so nothing to
	// erase, but aged out by retention like events.
	Imported []Table
	Other    []string // everything else: must hold no event data (tests check a list)
}

// Table finds an erasable table by name.
func (c Catalog) Table(name string) (Table, bool) {
	for _, t := range c.Erasable {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}

// Discover reads the tables of the current database from system.tables and
// system.columns. Any table with a site column and a visitor, session or event id or
// an address is erasable, whoever added it and whenever.
func Discover(ctx context.Context, db store.Store) (Catalog, error) {
	var dbs []struct {
		DB string `ch:"db"`
	}
	if err := db.Select(ctx, &dbs, "SELECT currentDatabase() AS db"); err != nil || len(dbs) == 0 {
		return Catalog{}, fmt.Errorf("erasure: current database: %v", err)
	}
	var tables []struct {
		Name   string `ch:"name"`
		Engine string `ch:"engine"`
		Create string `ch:"create_table_query"`
	}
	if err := db.Select(ctx, &tables, `SELECT name, engine, create_table_query FROM system.tables
		WHERE database = currentDatabase() AND NOT is_temporary ORDER BY name`); err != nil {
		return Catalog{}, fmt.Errorf("erasure: list tables: %w", err)
	}
	var cols []struct {
		Table string `ch:"table"`
		Name  string `ch:"name"`
		Type  string `ch:"type"`
	}
	if err := db.Select(ctx, &cols, `SELECT table, name, type FROM system.columns
		WHERE database = currentDatabase()`); err != nil {
		return Catalog{}, fmt.Errorf("erasure: list columns: %w", err)
	}
	byTable := map[string]map[string]string{}
	for _, c := range cols {
		if byTable[c.Table] == nil {
			byTable[c.Table] = map[string]string{}
		}
		byTable[c.Table][c.Name] = c.Type
	}
	cat := Catalog{Database: dbs[0].DB}
	distributed := map[string]bool{}
	for _, t := range tables {
		if t.Engine == "Distributed" {
			distributed[t.Name] = true
		}
	}
	for _, t := range tables {
		// On a cluster a table is a Distributed table over its local parts on each
		// shard: erased, counted and rebuilt through the Distributed one (the store runs
		// its deletes on the local parts of every replica).
		if base, ok := strings.CutSuffix(t.Name, clusterddl.LocalSuffix); ok && distributed[base] {
			continue
		}
		if t.Engine == "MaterializedView" || t.Engine == "View" {
			cat.Views = append(cat.Views, t.Name)
			continue
		}
		table := Table{Name: t.Name, Columns: byTable[t.Name]}
		def, isDerived := derived.Lookup(t.Name)
		switch {
		case t.Name == LedgerTable:
			cat.Other = append(cat.Other, t.Name)
		case table.Has("site") && slices.ContainsFunc(keyColumns, table.Has):
			cat.Erasable = append(cat.Erasable, table)
		case strings.HasPrefix(t.Name, ImportedPrefix) && table.Has("site"):
			cat.Imported = append(cat.Imported, table)
		case isDerived:
			cat.Rollups = append(cat.Rollups, Rollup{View: def.View(), Target: table, Def: def})
		default:
			// Kept by a view that no definition owns, say: then it has no rebuild, and
			// the allow-list test fails until someone decides.
			cat.Other = append(cat.Other, t.Name)
		}
	}
	return cat, nil
}

// quoteIdent quotes a table or column name.
func quoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "\\`") + "`"
}
