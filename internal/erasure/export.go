package erasure

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/websystems/loendur/internal/csvout"
	"github.com/websystems/loendur/internal/store"
)

// Export writes the events the selector matches (the rows of the events table, which
// every other table derives from) as "json" (an array of objects) or "csv" (a header
// row of column names; properties as JSON arrays). It returns how many it wrote.
func Export(ctx context.Context, db store.Store, sel Selector, format string, w io.Writer) (int, error) {
	if err := sel.Validate(); err != nil {
		return 0, err
	}
	if format != "json" && format != "csv" {
		return 0, fmt.Errorf("export format %q: use json or csv", format)
	}
	cat, err := Discover(ctx, db)
	if err != nil {
		return 0, err
	}
	where, args, err := eventsPredicate(cat, sel)
	if err != nil {
		return 0, err
	}
	// On a cluster, an event stored a moment ago may be on one replica only.
	if err := store.SyncReplicas(ctx, db, EventsTable); err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	var rows []store.Event
	if err := db.Select(ctx, &rows, "SELECT "+strings.Join(store.EventColumns, ", ")+" FROM events WHERE "+where+" ORDER BY timestamp, event_id", args...); err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	if format == "json" {
		out := make([]map[string]any, len(rows))
		for i := range rows {
			out[i] = eventMap(&rows[i])
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return len(rows), enc.Encode(out)
	}
	// Every text cell is neutralised against spreadsheet formulas: names, paths and UTM
	// values come from visitors, and this file goes to a person's spreadsheet.
	cw := csvout.NewWriter(w)
	if err := cw.WriteStrings(store.EventColumns); err != nil {
		return 0, err
	}
	for i := range rows {
		m := eventMap(&rows[i])
		rec := make([]any, len(store.EventColumns))
		for j, c := range store.EventColumns {
			rec[j] = m[c]
		}
		if err := cw.Write(rec...); err != nil {
			return i, err
		}
	}
	return len(rows), cw.Flush()
}

// eventMap names an event's values by their column names (store.EventColumns), each
// as a file shows it: ids as text (JSON numbers lose 64-bit precision in most readers),
// times in RFC 3339.
func eventMap(e *store.Event) map[string]any {
	m := make(map[string]any, len(store.EventColumns))
	for i, v := range store.EventValues(e) {
		switch x := v.(type) {
		case uuid.UUID:
			v = x.String()
		case time.Time:
			v = x.UTC().Format(time.RFC3339)
		case uint64:
			v = strconv.FormatUint(x, 10)
		}
		m[store.EventColumns[i]] = v
	}
	return m
}
