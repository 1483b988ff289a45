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

// InsertEvents writes one batch of events in a single insert.
func InsertEvents(ctx context.Context, s Store, events []Event) error {
	rows := make([][]any, len(events))
	for i := range events {
		rows[i] = events[i].values()
	}
	return s.Insert(ctx, "events", EventColumns, rows)
}

// values lists the event's fields in eventColumns order.
func (e *Event) values() []any {
	keys, vals := e.PropKeys, e.PropValues
	if keys == nil {
		keys = []string{}
	}
	if vals == nil {
		vals = []string{}
	}
	return []any{
		e.EventID, e.Site, e.Timestamp.UTC(), e.Name, e.Hostname, e.Pathname, e.ReferrerHost, e.ReferrerSource,
		e.UTMSource, e.UTMMedium, e.UTMCampaign, e.UTMTerm, e.UTMContent, e.CountryCode, e.Region, e.City,
		e.Browser, e.BrowserVersion, e.OS, e.OSVersion, e.Device, e.Width, e.VisitorID, e.SessionID, e.IP,
		e.EngagedMS, e.Scroll, keys, vals,
	}
}
