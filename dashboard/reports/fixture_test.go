package reports

import (
	"context"
	"encoding/csv"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/testclock"
)

// fixtureVisitor is a row of testdata/visitors.csv: what every event of a visitor carries.
type fixtureVisitor struct {
	country, region, city, device, browser, os string
}

// loadFixture stores testdata/events.csv as events of site. Rows starting with # are
// comments; the first column names the scenario and is not stored.
func loadFixture(t *testing.T, db store.Store, site string) []store.Event {
	t.Helper()
	visitors := map[string]fixtureVisitor{}
	for _, rec := range readCSV(t, "testdata/visitors.csv") {
		visitors[rec[0]] = fixtureVisitor{rec[1], rec[2], rec[3], rec[4], rec[5], rec[6]}
	}
	var events []store.Event
	for _, rec := range readCSV(t, "testdata/events.csv") {
		ts, err := time.ParseInLocation("2006-01-02 15:04:05", rec[1], time.UTC)
		if err != nil {
			t.Fatalf("fixture time %q: %v", rec[1], err)
		}
		v, ok := visitors[rec[2]]
		if !ok {
			t.Fatalf("fixture visitor %q missing from visitors.csv", rec[2])
		}
		ev := store.Event{
			EventID: uuid.New(), Site: site, Timestamp: ts, Name: rec[4], Hostname: site, Pathname: rec[5],
			ReferrerSource: rec[6], ReferrerHost: rec[7],
			CountryCode: v.country, Region: v.region, City: v.city, Device: v.device, Browser: v.browser, OS: v.os,
			VisitorID: mustUint(t, rec[2]), SessionID: mustUint(t, rec[3]),
			EngagedMS: uint32(mustUint(t, rec[9])), Scroll: uint8(mustUint(t, rec[10])), IP: "203.0.0.0",
		}
		if rec[8] != "" {
			utm := strings.Split(rec[8], "/")
			ev.UTMSource, ev.UTMMedium, ev.UTMCampaign = utm[0], utm[1], utm[2]
		}
		for _, kv := range strings.Split(rec[11], "|") {
			if k, val, ok := strings.Cut(kv, "="); ok {
				ev.PropKeys = append(ev.PropKeys, k)
				ev.PropValues = append(ev.PropValues, val)
			}
		}
		events = append(events, ev)
	}
	insertEvents(t, db, events)
	return events
}

func insertEvents(t *testing.T, db store.Store, events []store.Event) {
	t.Helper()
	if err := store.InsertEvents(context.Background(), db, events); err != nil {
		t.Fatalf("insert events: %v", err)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comment = '#'
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return recs[1:] // header
}

func mustUint(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("fixture number %q: %v", s, err)
	}
	return n
}

// newSite registers site with time zone tz and returns a Reports on db whose clock is c.
func newSite(t *testing.T, db store.Store, c *testclock.Clock, tz string, domains ...string) (*Service, *sites.Registry) {
	t.Helper()
	ctx := context.Background()
	var rows [][]any
	for _, d := range domains {
		rows = append(rows, []any{d, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), tz, uint16(25), uint8(1), uint8(0), uint64(time.Now().UnixNano())})
	}
	if err := db.Insert(ctx, "sites", []string{"domain", "created", "timezone", "retention_months", "honour_dnt", "deleted", "version"}, rows); err != nil {
		t.Fatalf("register sites: %v", err)
	}
	reg := sites.NewRegistry(db, slog.New(slog.DiscardHandler))
	if err := reg.Load(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := New(Deps{DB: db, Sites: reg, Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return r, reg
}

// lines renders rows as one line each, the named fields' values separated by spaces,
// so expectations read like the table the dashboard shows.
func lines(rows []Row, fields ...string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		vals := make([]string, len(fields))
		for j, f := range fields {
			v := r.Get(f)
			if p, ok := v.(*float64); ok && p != nil {
				v = *p
			}
			vals[j] = fmt.Sprint(v)
			if vals[j] == "" {
				vals[j] = `""`
			}
		}
		out[i] = strings.Join(vals, " ")
	}
	return out
}

func equalLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
