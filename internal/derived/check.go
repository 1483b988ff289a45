package derived

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/websystems/loendur/internal/store/literal"
)

// Drift names the derived tables whose rows for site differ from what their definition
// computes from the sources now: the rollups by their keys and sums, the written visits
// (those that ended before the progress mark) by id, page views, entry and exit page,
// and their sample by the same against the sampled visitors' written visits.
// Empty when every derived table agrees. For tests of every path that changes events
// (erasure, retention, replay), and for an operator who doubts a figure.
func Drift(ctx context.Context, db DB, site string) ([]string, error) {
	var out []string
	done, err := Done(ctx, db, site)
	if err != nil {
		return nil, err
	}
	visitRow := "concat(toString(session_id), '|', toString(pageviews), '|', entry_page, '|', exit_page)"
	stored := "SELECT " + visitRow + " AS r FROM " + Visits.Name + " FINAL WHERE site = ? AND end_time < " + literal.DateTime(done)
	computed := "SELECT " + visitRow + " AS r FROM (" + VisitSpan{Site: site, From: time.Unix(1, 0), To: done.Add(2 * MaxVisitLength),
		EndFrom: time.Unix(1, 0), EndTo: done}.Query() + ")"
	if done.Unix() > 0 {
		d, err := differ(ctx, db, Visits.Name, stored, computed, site, false)
		out = appendNonEmpty(out, d)
		if err != nil {
			return out, err
		}
	}
	sample := func(table, cond string) string {
		return "SELECT " + visitRow + " AS r FROM " + table + " FINAL WHERE site = ?" + cond
	}
	d, err := differ(ctx, db, VisitSample.Name, sample(VisitSample.Name, ""), sample(Visits.Name, " AND "+VisitSample.Where()), site, true)
	out = appendNonEmpty(out, d)
	if err != nil {
		return out, err
	}
	for _, t := range All() {
		keys := t.keyNames()[1:]
		var sums, vals []string
		for _, m := range t.Measures {
			if m.Type != "UInt64" {
				continue // aggregate states: compared through the sums beside them
			}
			sums = append(sums, "sum("+m.Name+") AS "+m.Name)
			vals = append(vals, "toString("+m.Name+")")
		}
		row := "concat(" + strings.Join(append(toStrings(keys), vals...), ", '|', ") + ")"
		stored := "SELECT " + row + " AS r FROM (SELECT " + strings.Join(append(slices.Clone(keys), sums...), ", ") +
			" FROM " + t.Name() + " WHERE site = ? GROUP BY " + strings.Join(keys, ", ") + ")"
		from := t.Source
		if t.Source == SessionsTable {
			from += " FINAL"
		}
		computed := "SELECT " + row + " AS r FROM (" + strings.Replace(t.Query("site = ?"), "FROM "+t.Source, "FROM "+from, 1) + ")"
		d, err := differ(ctx, db, t.Name(), stored, computed, site, true)
		out = appendNonEmpty(out, d)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// differ compares the rows of two queries; bothBound says whether the second takes the
// site argument too.
func differ(ctx context.Context, db DB, name, stored, computed, site string, bothBound bool) (string, error) {
	read := func(q string, args ...any) ([]string, error) {
		var rows []struct {
			R string `ch:"r"`
		}
		if err := db.Select(ctx, &rows, q, args...); err != nil {
			return nil, fmt.Errorf("drift of %s: %w", name, err)
		}
		out := make([]string, len(rows))
		for i, r := range rows {
			out[i] = r.R
		}
		slices.Sort(out)
		return out, nil
	}
	have, err := read(stored, site)
	if err != nil {
		return "", err
	}
	var args []any
	if bothBound {
		args = append(args, site)
	}
	want, err := read(computed, args...)
	if err != nil {
		return "", err
	}
	if slices.Equal(have, want) {
		return "", nil
	}
	return fmt.Sprintf("%s holds %v, its definition computes %v", name, have, want), nil
}

func toStrings(cols []string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = "toString(" + c + ")"
	}
	return out
}

func appendNonEmpty(out []string, s string) []string {
	if s == "" {
		return out
	}
	return append(out, s)
}
