package reports

import (
	"embed"
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/store"
)

// The report SQL lives in sql/*.sql, one file per query, each starting with a comment
// that names its caller, so ClickHouse's query log tells who asked. Files are
// text/template: every value from a request enters through the literal functions below
// (str, ts, date, int), never as raw text; fragments built in Go (filters, funnel steps)
// are made of the same literals.
//
//go:embed sql/*.sql
var sqlFiles embed.FS

var queries = template.Must(template.New("").Funcs(template.FuncMap{
	"str":  sqlString,
	"ts":   sqlTime,
	"date": sqlDate,
	"int":  func(n int) string { return strconv.Itoa(n) },
	"sub":  func(n int) int { return n - 1 },
	// rollup is a rollup's aggregates computed from events, for spans its tables cannot
	// answer: the expressions live once, in the rollup's definition (internal/derived).
	"rollup":     func(r derived.Rollup, cond string) string { return r.Grouped(cond) },
	"pageStats":  func() derived.Rollup { return derived.PageStats },
	"eventStats": func() derived.Rollup { return derived.EventStats },
}).ParseFS(sqlFiles, "sql/*.sql"))

// render executes the named template (a file name without .sql) with data.
func render(name string, data any) (string, error) {
	var b strings.Builder
	if err := queries.ExecuteTemplate(&b, name+".sql", data); err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	return b.String(), nil
}

// sqlString is a ClickHouse string literal.
func sqlString(s string) string { return store.Quote(s) }

// sqlTime is a DateTime('UTC') literal of t.
func sqlTime(t time.Time) string {
	return "toDateTime('" + t.UTC().Format("2006-01-02 15:04:05") + "', 'UTC')"
}

// sqlDate is a Date literal of t's UTC calendar day.
func sqlDate(t time.Time) string {
	return "toDate('" + t.UTC().Format(dateLayout) + "')"
}

// likePattern turns a page pattern with `*` wildcards into a LIKE pattern: `*` matches
// anything, while %, _ and \ in the value match themselves.
func likePattern(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '%', '_', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '*':
			b.WriteByte('%')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// matchPath is a condition on column col for a page value: equality, or LIKE when the
// value has a `*` wildcard.
func matchPath(col, v string) string {
	if strings.Contains(v, "*") {
		return col + " LIKE " + sqlString(likePattern(v))
	}
	return col + " = " + sqlString(v)
}
