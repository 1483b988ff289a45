package store

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/store/clusterddl"
	"github.com/websystems/loendur/schema"
)

// Migrate applies the schema/ migrations not yet recorded in schema_migrations, in
// order. Each migration is idempotent, so running twice, or from two processes at
// once, ends in the same schema; a duplicate record is harmless.
func Migrate(ctx context.Context, s Store) (applied []string, err error) {
	return migrate(ctx, s, schema.Files, true)
}

// Versions are the numbers of every migration Migrate applies on an engine like info's
// (schema/'s files and the derived tables'), in order: what schema_migrations records
// once a database is current.
func Versions(info Info) ([]uint32, error) {
	all, err := migrations(schema.Files, info, true)
	if err != nil {
		return nil, err
	}
	versions := make([]uint32, len(all))
	for i, m := range all {
		versions[i] = m.Version
	}
	return versions, nil
}

// migrate applies the .sql files of files and, withDerived, the derived tables' migrations.
func migrate(ctx context.Context, s Store, files fs.FS, withDerived bool) ([]string, error) {
	creates, err := forDeployment(s.Info(), clusterddl.Layout{}, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version UInt32, name String, applied_at DateTime('UTC')
	) ENGINE = MergeTree ORDER BY version`)
	if err != nil {
		return nil, err
	}
	for _, create := range creates {
		if err := s.Exec(ctx, create); err != nil {
			return nil, fmt.Errorf("create schema_migrations: %w", err)
		}
	}
	done, err := appliedVersions(ctx, s)
	if err != nil {
		return nil, err
	}
	all, err := migrations(files, s.Info(), withDerived)
	if err != nil {
		return nil, err
	}
	var applied []string
	for _, m := range all {
		if done[m.Version] {
			continue
		}
		for _, stmt := range m.Statements {
			if err := execStatement(ctx, s, stmt); err != nil {
				return applied, fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		if err := s.Insert(ctx, "schema_migrations", []string{"version", "name", "applied_at"},
			[][]any{{m.Version, m.Name, time.Now().UTC()}}); err != nil {
			return applied, fmt.Errorf("record migration %s: %w", m.Name, err)
		}
		applied = append(applied, m.Name)
	}
	return applied, nil
}

// migrations are the .sql files and the derived tables' rendered migrations, in
// version order. Two with one version are a mistake caught here.
func migrations(files fs.FS, info Info, withDerived bool) ([]derived.Migration, error) {
	var all []derived.Migration
	if withDerived {
		var err error
		d := derived.Deployment{Modern: info.Features().ModernSettings, Cluster: info.Cluster, Database: info.Database}
		if all, err = derived.Migrations(d); err != nil {
			return nil, err
		}
	}
	var layout clusterddl.Layout
	if info.Cluster != "" {
		var err error
		if layout, err = clusterLayout(files, info); err != nil {
			return nil, err
		}
	}
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	for _, name := range names {
		version, err := migrationVersion(name)
		if err != nil {
			return nil, err
		}
		body, err := fs.ReadFile(files, name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		sql, err := render(name, string(body), info)
		if err != nil {
			return nil, err
		}
		stmts, err := forDeployment(info, layout, statements(sql)...)
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", name, err)
		}
		all = append(all, derived.Migration{Version: version, Name: name, Statements: stmts})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Version < all[j].Version })
	for i := 1; i < len(all); i++ {
		if all[i].Version == all[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s have the same number", all[i-1].Name, all[i].Name)
		}
	}
	return all, nil
}

func appliedVersions(ctx context.Context, s Store) (map[uint32]bool, error) {
	var rows []struct {
		Version uint32 `ch:"version"`
	}
	if err := s.Select(ctx, &rows, "SELECT DISTINCT version FROM schema_migrations"); err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	done := make(map[uint32]bool, len(rows))
	for _, r := range rows {
		done[r.Version] = true
	}
	return done, nil
}

func migrationVersion(name string) (uint32, error) {
	prefix, _, _ := strings.Cut(name, "_")
	v, err := strconv.ParseUint(prefix, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("migration %s: name must start with a number, e.g. 0004_name.sql", name)
	}
	return uint32(v), nil
}

// forDeployment renders statements for the cluster of info (clusterddl's rule, with the
// sharded tables of layout), or returns them as they are on a single server.
func forDeployment(info Info, layout clusterddl.Layout, stmts ...string) ([]string, error) {
	if info.Cluster == "" {
		return stmts, nil
	}
	c := clusterddl.Cluster{Name: info.Cluster, Database: info.Database}
	var out []string
	for _, stmt := range stmts {
		r, err := c.Render(stmt, layout)
		if err != nil {
			return nil, err
		}
		out = append(out, r...)
	}
	return out, nil
}

// addColumn finds "ALTER TABLE t ADD COLUMN c ..." in a migration.
var addColumn = regexp.MustCompile(`(?i)^ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+(\w+)\s`)

// execStatement runs one statement of a migration.
func execStatement(ctx context.Context, s Store, stmt string) error {
	if m := addColumn.FindStringSubmatch(stmt); m != nil {
		return addColumnOnce(ctx, s, stmt, m[1], m[2])
	}
	return s.Exec(ctx, stmt)
}

// database is what addColumnOnce needs of a store, or of one server of a cluster.
type database interface {
	Exec(ctx context.Context, query string, args ...any) error
	Select(ctx context.Context, dest any, query string, args ...any) error
}

// addColumnOnce runs stmt, an ADD COLUMN of column to table. ClickHouse 18.16 knows no
// ADD COLUMN IF NOT EXISTS, so the column is looked up first, and a failed add is
// forgiven when the column is there after all (another process added it meanwhile).
func addColumnOnce(ctx context.Context, db database, stmt, table, column string) error {
	if ok, err := hasColumn(ctx, db, table, column); err != nil || ok {
		return err
	}
	err := db.Exec(ctx, stmt)
	if err == nil {
		return nil
	}
	if ok, _ := hasColumn(ctx, db, table, column); ok {
		return nil
	}
	return err
}

func hasColumn(ctx context.Context, db database, table, column string) (bool, error) {
	var rows []struct {
		N uint64 `ch:"n"`
	}
	if err := db.Select(ctx, &rows, `SELECT count() AS n FROM system.columns
		WHERE database = currentDatabase() AND table = ? AND name = ?`, table, column); err != nil {
		return false, fmt.Errorf("look up column %s.%s: %w", table, column, err)
	}
	return len(rows) > 0 && rows[0].N > 0, nil
}

// render expands a migration's template: `{{if .Modern}}…{{end}}` keeps statements
// that only engines newer than ClickHouse 18.16 understand (see Info.Features).
func render(name, body string, info Info) (string, error) {
	tmpl, err := template.New(name).Option("missingkey=error").Parse(body)
	if err != nil {
		return "", fmt.Errorf("migration %s: %w", name, err)
	}
	var out strings.Builder
	data := struct{ Modern bool }{info.Features().ModernSettings}
	if err := tmpl.Execute(&out, data); err != nil {
		return "", fmt.Errorf("migration %s: %w", name, err)
	}
	return out.String(), nil
}

// statements splits a migration into statements at semicolons that end a line, and
// drops comment lines, which some engines reject as an empty query.
func statements(sql string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "--") || trimmed == "" {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if rest := strings.TrimSpace(cur.String()); rest != "" {
		out = append(out, rest)
	}
	return out
}
