// Package erasuretest is the data-subject fixture that the erasure tests and the
// dashboard's data-request tests share: three visitors on one site, two of them behind
// one address, with the visit rows the dashboard writes.
package erasuretest

import (
	"context"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/eventtest"
	"github.com/websystems/loendur/internal/store"
)

// Base is the time of the fixture's first event.
var Base = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// Events are the fixture's page views on site, in this order: visitor 1 in sessions 11
// and 12 (address 203.0.0.0, pages /a, /b/x, /a), visitor 2 in session 21 (same
// address, a day later), visitor 3 in session 31 (198.51.0.0, page /a). All come from
// Firefox in EE. Tests change what they need (a custom event, props) before Store.
func Events(site string) []store.Event {
	mk := func(visitor, session uint64, ip, page string, at time.Time) store.Event {
		e := eventtest.Pageview(site, at, page)
		e.VisitorID, e.SessionID, e.IP, e.Browser, e.CountryCode = visitor, session, ip, "Firefox", "EE"
		return e
	}
	return []store.Event{
		mk(1, 11, "203.0.0.0", "/a", Base),
		mk(1, 11, "203.0.0.0", "/b/x", Base.Add(time.Minute)),
		mk(1, 12, "203.0.0.0", "/a", Base.Add(3*time.Hour)),
		mk(2, 21, "203.0.0.0", "/a", Base.Add(24*time.Hour)),
		mk(3, 31, "198.51.0.0", "/a", Base.Add(time.Hour)),
	}
}

// Store inserts evs and, as the dashboard writes them, one visit row per session.
func Store(t testing.TB, db store.Store, evs []store.Event) {
	t.Helper()
	ctx := context.Background()
	if err := store.InsertEvents(ctx, db, evs); err != nil {
		t.Fatal(err)
	}
	type visit struct {
		site             string
		session, visitor uint64
	}
	var rows [][]any
	seen := map[visit]bool{}
	for _, e := range evs {
		v := visit{e.Site, e.SessionID, e.VisitorID}
		if seen[v] {
			continue
		}
		seen[v] = true
		rows = append(rows, []any{v.site, v.session, v.visitor, Base, Base, uint32(1), uint64(1)})
	}
	if err := db.Insert(ctx, "sessions", []string{"site", "session_id", "visitor_id", "start_time", "end_time", "pageviews", "version"}, rows); err != nil {
		t.Fatal(err)
	}
}
