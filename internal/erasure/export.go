package erasure

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

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
	events := Table{Name: EventsTable, Columns: map[string]string{"visitor_id": "UInt64", "session_id": "UInt64",
		"event_id": "UUID", "ip": "String", "timestamp": "DateTime", "pathname": "String"}}
	where, args, _ := directPredicate(events, sel)
	var rows []store.Event
	if err := db.Select(ctx, &rows, "SELECT "+joinColumns()+" FROM events WHERE "+where+" ORDER BY timestamp, event_id", args...); err != nil {
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

func joinColumns() string {
	out := ""
	for i, c := range store.EventColumns {
		if i > 0 {
			out += ", "
		}
		out += c
	}
	return out
}

// eventMap names an event's fields by their column names. Ids are text: JSON numbers
// lose 64-bit precision in most readers.
func eventMap(e *store.Event) map[string]any {
	keys, vals := e.PropKeys, e.PropValues
	if keys == nil {
		keys = []string{}
	}
	if vals == nil {
		vals = []string{}
	}
	return map[string]any{
		"event_id": e.EventID.String(), "site": e.Site, "timestamp": e.Timestamp.UTC().Format(time.RFC3339),
		"name": e.Name, "hostname": e.Hostname, "pathname": e.Pathname,
		"referrer_host": e.ReferrerHost, "referrer_source": e.ReferrerSource,
		"utm_source": e.UTMSource, "utm_medium": e.UTMMedium, "utm_campaign": e.UTMCampaign,
		"utm_term": e.UTMTerm, "utm_content": e.UTMContent,
		"country_code": e.CountryCode, "region": e.Region, "city": e.City,
		"browser": e.Browser, "browser_version": e.BrowserVersion, "os": e.OS, "os_version": e.OSVersion,
		"device": e.Device, "width": e.Width,
		"visitor_id": strconv.FormatUint(e.VisitorID, 10), "session_id": strconv.FormatUint(e.SessionID, 10),
		"ip": e.IP, "engaged_ms": e.EngagedMS, "scroll": e.Scroll,
		"prop_keys": keys, "prop_values": vals,
	}
}
