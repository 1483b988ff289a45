package store

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
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

// EventColumns is the explicit column list every insert names (ClickHouse 18.16 needs it).
var EventColumns = strings.Split(eventColumns, ", ")

const eventColumns = "event_id, site, timestamp, name, hostname, pathname, referrer_host, referrer_source, " +
	"utm_source, utm_medium, utm_campaign, utm_term, utm_content, country_code, region, city, " +
	"browser, browser_version, os, os_version, device, width, visitor_id, session_id, ip, " +
	"engaged_ms, scroll, prop_keys, prop_values"

// InsertEvents writes one batch of events in a single insert. Both backends encode the
// batch straight from the events, column by column or as one VALUES text, because
// boxing every field of every event in an []any row cost more than the rest of the
// writer together.
func InsertEvents(ctx context.Context, s Store, events []Event) error {
	if ei, ok := s.(eventInserter); ok {
		return ei.insertEvents(ctx, events)
	}
	rows := make([][]any, len(events))
	for i := range events {
		rows[i] = events[i].values()
	}
	return s.Insert(ctx, "events", EventColumns, rows)
}

// eventInserter is a backend with its own encoding of event batches.
type eventInserter interface {
	insertEvents(ctx context.Context, events []Event) error
}

// values lists the event's fields in eventColumns order.
func (e *Event) values() []any {
	keys, vals := e.props()
	return []any{
		e.EventID, e.Site, e.Timestamp.UTC(), e.Name, e.Hostname, e.Pathname, e.ReferrerHost, e.ReferrerSource,
		e.UTMSource, e.UTMMedium, e.UTMCampaign, e.UTMTerm, e.UTMContent, e.CountryCode, e.Region, e.City,
		e.Browser, e.BrowserVersion, e.OS, e.OSVersion, e.Device, e.Width, e.VisitorID, e.SessionID, e.IP,
		e.EngagedMS, e.Scroll, keys, vals,
	}
}

// props are the event's property keys and values, never nil (an Array column needs []).
func (e *Event) props() (keys, vals []string) {
	keys, vals = e.PropKeys, e.PropValues
	if keys == nil {
		keys = []string{}
	}
	if vals == nil {
		vals = []string{}
	}
	return keys, vals
}

// eventStringColumns are the String columns in EventColumns order, each with its field.
var eventStringColumns = []struct {
	name  string
	field func(*Event) string
}{
	{"site", func(e *Event) string { return e.Site }},
	{"name", func(e *Event) string { return e.Name }},
	{"hostname", func(e *Event) string { return e.Hostname }},
	{"pathname", func(e *Event) string { return e.Pathname }},
	{"referrer_host", func(e *Event) string { return e.ReferrerHost }},
	{"referrer_source", func(e *Event) string { return e.ReferrerSource }},
	{"utm_source", func(e *Event) string { return e.UTMSource }},
	{"utm_medium", func(e *Event) string { return e.UTMMedium }},
	{"utm_campaign", func(e *Event) string { return e.UTMCampaign }},
	{"utm_term", func(e *Event) string { return e.UTMTerm }},
	{"utm_content", func(e *Event) string { return e.UTMContent }},
	{"country_code", func(e *Event) string { return e.CountryCode }},
	{"region", func(e *Event) string { return e.Region }},
	{"city", func(e *Event) string { return e.City }},
	{"browser", func(e *Event) string { return e.Browser }},
	{"browser_version", func(e *Event) string { return e.BrowserVersion }},
	{"os", func(e *Event) string { return e.OS }},
	{"os_version", func(e *Event) string { return e.OSVersion }},
	{"device", func(e *Event) string { return e.Device }},
	{"ip", func(e *Event) string { return e.IP }},
}

// eventColumnSlices turns a batch into one slice per column, in EventColumns order, as
// a column-oriented driver takes them.
func eventColumnSlices(events []Event) []any {
	n := len(events)
	ids, times := make([]uuid.UUID, n), make([]time.Time, n)
	widths, visitors, sessions := make([]uint16, n), make([]uint64, n), make([]uint64, n)
	engaged, scrolls := make([]uint32, n), make([]uint8, n)
	keys, vals := make([][]string, n), make([][]string, n)
	for i := range events {
		e := &events[i]
		ids[i], times[i] = e.EventID, e.Timestamp.UTC()
		widths[i], visitors[i], sessions[i] = e.Width, e.VisitorID, e.SessionID
		engaged[i], scrolls[i] = e.EngagedMS, e.Scroll
		keys[i], vals[i] = e.props()
	}
	byName := map[string]any{"event_id": ids, "timestamp": times, "width": widths, "visitor_id": visitors,
		"session_id": sessions, "engaged_ms": engaged, "scroll": scrolls, "prop_keys": keys, "prop_values": vals}
	for _, c := range eventStringColumns {
		col := make([]string, n)
		for i := range events {
			col[i] = c.field(&events[i])
		}
		byName[c.name] = col
	}
	cols := make([]any, len(EventColumns))
	for i, name := range EventColumns {
		cols[i] = byName[name]
	}
	return cols
}
