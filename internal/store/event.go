package store

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/store/literal"
)

// Event is one row of the events table: what is left of a page view or custom event
// after enrichment. It holds no full IP address and no query string.
type Event struct {
	EventID        uuid.UUID `ch:"event_id"`
	Site           string    `ch:"site"`
	Timestamp      time.Time `ch:"timestamp"`
	Name           string    `ch:"name"`
	Hostname       string    `ch:"hostname"`
	Pathname       string    `ch:"pathname"`
	ReferrerHost   string    `ch:"referrer_host"`
	ReferrerSource string    `ch:"referrer_source"`
	UTMSource      string    `ch:"utm_source"`
	UTMMedium      string    `ch:"utm_medium"`
	UTMCampaign    string    `ch:"utm_campaign"`
	UTMTerm        string    `ch:"utm_term"`
	UTMContent     string    `ch:"utm_content"`
	CountryCode    string    `ch:"country_code"`
	Region         string    `ch:"region"`
	City           string    `ch:"city"`
	Browser        string    `ch:"browser"`
	BrowserVersion string    `ch:"browser_version"`
	OS             string    `ch:"os"`
	OSVersion      string    `ch:"os_version"`
	Device         string    `ch:"device"`
	Width          uint16    `ch:"width"`
	VisitorID      uint64    `ch:"visitor_id"`
	SessionID      uint64    `ch:"session_id"`
	IP             string    `ch:"ip"`
	EngagedMS      uint32    `ch:"engaged_ms"`
	Scroll         uint8     `ch:"scroll"`
	PropKeys       []string  `ch:"prop_keys"`
	PropValues     []string  `ch:"prop_values"`
}

// EventColumns are the columns of the events table that Event holds, in the table's
// order (what an export of events shows).
var EventColumns = func() []string {
	names := make([]string, len(eventColumns)-1)
	for i, c := range eventColumns[:len(names)] {
		names[i] = c.name
	}
	return names
}()

// insertColumns is the explicit column list every insert names (ClickHouse 18.16 needs
// it): EventColumns and time_us, which is derived from Timestamp.
var insertColumns = append(slices.Clip(EventColumns), TimeColumn)

// TimeColumn orders events within a visit: Unix microseconds of Timestamp. The
// collector's clock makes it unique and increasing within a process (collector.clock);
// readers order by (time_us, event_id), so the remaining ties have one fixed order.
const TimeColumn = "time_us"

// eventColumn is one column of the events table: its Event field, and how a batch is
// encoded into it, as one slice of values, as clickhouse-go takes a column, and as a
// TabSeparated field, as chDB takes a row. The list is the one place that knows the
// columns and their order.
type eventColumn struct {
	name   string
	value  func(e *Event) any // the field, as EventValues gives it
	values func(events []Event) any
	tsv    func(b []byte, e *Event) []byte
	// rows, for Array(String) columns only: the field's address, which clickhouse-go
	// takes row by row without an allocation (server.insertEvents).
	rows func(e *Event) *[]string
}

var eventColumns = []eventColumn{
	column("event_id", func(e *Event) uuid.UUID { return e.EventID }, literal.AppendUUIDText),
	stringColumn("site", func(e *Event) string { return e.Site }),
	column("timestamp", func(e *Event) time.Time { return e.Timestamp.UTC() },
		func(b []byte, t time.Time) []byte { return t.AppendFormat(b, dateTimeLayout) }),
	stringColumn("name", func(e *Event) string { return e.Name }),
	stringColumn("hostname", func(e *Event) string { return e.Hostname }),
	stringColumn("pathname", func(e *Event) string { return e.Pathname }),
	stringColumn("referrer_host", func(e *Event) string { return e.ReferrerHost }),
	stringColumn("referrer_source", func(e *Event) string { return e.ReferrerSource }),
	stringColumn("utm_source", func(e *Event) string { return e.UTMSource }),
	stringColumn("utm_medium", func(e *Event) string { return e.UTMMedium }),
	stringColumn("utm_campaign", func(e *Event) string { return e.UTMCampaign }),
	stringColumn("utm_term", func(e *Event) string { return e.UTMTerm }),
	stringColumn("utm_content", func(e *Event) string { return e.UTMContent }),
	stringColumn("country_code", func(e *Event) string { return e.CountryCode }),
	stringColumn("region", func(e *Event) string { return e.Region }),
	stringColumn("city", func(e *Event) string { return e.City }),
	stringColumn("browser", func(e *Event) string { return e.Browser }),
	stringColumn("browser_version", func(e *Event) string { return e.BrowserVersion }),
	stringColumn("os", func(e *Event) string { return e.OS }),
	stringColumn("os_version", func(e *Event) string { return e.OSVersion }),
	stringColumn("device", func(e *Event) string { return e.Device }),
	uintColumn("width", func(e *Event) uint16 { return e.Width }),
	uintColumn("visitor_id", func(e *Event) uint64 { return e.VisitorID }),
	uintColumn("session_id", func(e *Event) uint64 { return e.SessionID }),
	stringColumn("ip", func(e *Event) string { return e.IP }),
	uintColumn("engaged_ms", func(e *Event) uint32 { return e.EngagedMS }),
	uintColumn("scroll", func(e *Event) uint8 { return e.Scroll }),
	arrayColumn("prop_keys", func(e *Event) *[]string { return &e.PropKeys }),
	arrayColumn("prop_values", func(e *Event) *[]string { return &e.PropValues }),
	// Last: EventColumns leaves it out (Event has no field of its own for it).
	uintColumn(TimeColumn, func(e *Event) uint64 { return uint64(max(e.Timestamp.UnixMicro(), 0)) }),
}

// EventValues are the fields of e in the order of EventColumns: a uuid.UUID, strings,
// a time.Time (UTC), unsigned integers and []string (never nil), as the columns hold them.
func EventValues(e *Event) []any {
	vals := make([]any, len(EventColumns))
	for i := range vals {
		vals[i] = eventColumns[i].value(e)
	}
	return vals
}

// column is a column of field's type T; tsv writes one value as a TabSeparated field.
func column[T any](name string, field func(*Event) T, tsv func(b []byte, v T) []byte) eventColumn {
	return eventColumn{
		name:  name,
		value: func(e *Event) any { return field(e) },
		values: func(events []Event) any {
			col := make([]T, len(events))
			for i := range events {
				col[i] = field(&events[i])
			}
			return col
		},
		tsv: func(b []byte, e *Event) []byte { return tsv(b, field(e)) },
	}
}

func stringColumn(name string, field func(*Event) string) eventColumn {
	return column(name, field, appendTSV)
}

func uintColumn[T uint8 | uint16 | uint32 | uint64](name string, field func(*Event) T) eventColumn {
	return column(name, field, func(b []byte, n T) []byte { return strconv.AppendUint(b, uint64(n), 10) })
}

// arrayColumn is an Array(String) column; a nil slice is stored as [].
func arrayColumn(name string, addr func(*Event) *[]string) eventColumn {
	never := func(e *Event) []string {
		if list := *addr(e); list != nil {
			return list
		}
		return []string{}
	}
	// The field is the array's quoted literal, which escapes tabs and newlines itself.
	tsv := func(b []byte, list []string) []byte {
		b = append(b, '[')
		for i, s := range list {
			if i > 0 {
				b = append(b, ',')
			}
			b = literal.AppendQuote(b, s)
		}
		return append(b, ']')
	}
	c := column(name, never, tsv)
	c.rows = addr
	return c
}

// InsertEvents writes one batch of events in a single insert. Each backend encodes the
// batch straight from the events (eventColumns), because boxing every field of every
// event in an []any row cost more than the rest of the writer together.
func InsertEvents(ctx context.Context, s Store, events []Event) error {
	return s.insertEvents(ctx, [][]Event{events})
}

// InsertEventChunks writes the events of several chunks, in order, in a single insert,
// without joining them first: the batch writer inserts what its queue holds, chunk by
// chunk, and ClickHouse's cost is mostly per insert.
func InsertEventChunks(ctx context.Context, s Store, chunks [][]Event) error {
	return s.insertEvents(ctx, chunks)
}

func countEvents(chunks [][]Event) int {
	n := 0
	for _, c := range chunks {
		n += len(c)
	}
	return n
}
