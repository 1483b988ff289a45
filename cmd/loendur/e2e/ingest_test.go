package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/geo"
	"github.com/websystems/loendur/internal/geo/geotest"
	"github.com/websystems/loendur/internal/store"
)

const canary = "198.51.100.77" // a visitor's address, as a trusted proxy forwards it

// proxied is what the trusted proxy 127.0.0.1 adds to a visitor's request.
var proxied = map[string]string{"X-Forwarded-For": canary}

var pageview = event("pageview", "https://site.test/pricing?utm_source=news&secret=x",
	map[string]any{"referrer": "https://www.google.com/search?q=a", "width": 1280})

// One page view over real HTTP becomes one enriched row, on both engines.
func TestPageviewStoredWithEnrichment(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			d := newDB(t, engine)
			p := start(t, run{DB: d, Args: []string{"--site", site, "--trusted-proxy", "127.0.0.1/32"}})
			sent := time.Now()
			if r := p.post(pageview, proxied); r.Status != 202 {
				t.Fatalf("POST pageview: %d %s %s, want 202", r.Status, r.Reason, r.Body)
			}
			if d.Engine == "server" {
				// Stored within the flush interval (1s), without waiting for shutdown.
				q := "SELECT count() AS n FROM events"
				if n := waitForCount(t, d.open(t), 1, 15*time.Second, q); n != 1 {
					t.Fatalf("after 15 s the events table has %d rows, want 1", n)
				}
			}
			p.stopClean()

			rows := d.events(t)
			if len(rows) != 1 {
				t.Fatalf("events has %d rows, want 1: %+v", len(rows), rows)
			}
			e := rows[0]
			for _, c := range []struct {
				col       string
				got, want any
			}{
				{"site", e.Site, site},
				{"name", e.Name, "pageview"},
				{"hostname", e.Hostname, site},
				{"pathname", e.Pathname, "/pricing"},
				{"referrer_source", e.ReferrerSource, "Google"},
				{"utm_source", e.UTMSource, "news"},
				{"browser", e.Browser, "Firefox"},
				{"os", e.OS, "Linux"},
				{"device", e.Device, "desktop"},
				{"width", e.Width, uint16(1280)},
				{"ip", e.IP, "198.51.0.0"},
				{"country_code", e.CountryCode, ""}, // no --geoip
			} {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.col, c.got, c.want)
				}
			}
			if e.ReferrerHost != "google.com" && e.ReferrerHost != "www.google.com" {
				t.Errorf("referrer_host = %q, want google.com", e.ReferrerHost)
			}
			if e.VisitorID == 0 || e.SessionID == 0 {
				t.Errorf("visitor_id = %d, session_id = %d, want both non-zero", e.VisitorID, e.SessionID)
			}
			if d := e.Timestamp.Sub(sent); d < -time.Minute || d > time.Minute {
				t.Errorf("timestamp = %s, want within a minute of %s (UTC)", e.Timestamp.UTC(), sent.UTC())
			}
			if row := fmt.Sprintf("%+v", e); strings.Contains(row, "secret") || strings.Contains(row, "?") {
				t.Errorf("a query string was stored: %s", row)
			}
		})
	}
}

// With --geoip, country, region and city come from the full address before it is
// truncated; an unreadable database stops the start with one line.
func TestGeoIP(t *testing.T) {
	t.Run("lookup", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "city.mmdb")
		err := geotest.WriteCityDB(path, []geotest.Entry{{CIDR: "198.51.100.0/24",
			Location: geo.Location{CountryCode: "EE", Region: "Harju", City: "Tallinn"}}})
		if err != nil {
			t.Fatal(err)
		}
		d := newDB(t, "server")
		p := start(t, run{DB: d, Args: []string{"--site", site, "--trusted-proxy", "127.0.0.1/32", "--geoip", path}})
		if r := p.post(pageview, proxied); r.Status != 202 {
			t.Fatalf("POST pageview: %d %s %s, want 202", r.Status, r.Reason, r.Body)
		}
		p.stopClean()
		rows := d.events(t)
		if len(rows) != 1 {
			t.Fatalf("events has %d rows, want 1", len(rows))
		}
		e := rows[0]
		if e.CountryCode != "EE" || e.Region != "Harju" || e.City != "Tallinn" {
			t.Errorf("geo = %q/%q/%q, want EE/Harju/Tallinn", e.CountryCode, e.Region, e.City)
		}
		if e.IP != "198.51.0.0" {
			t.Errorf("ip = %q, want 198.51.0.0", e.IP)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		res := runToExit(t, run{DB: newDB(t, "server"), Args: []string{"--site", site, "--geoip", "/nonexistent"}})
		checkOneLineFailure(t, res, "/nonexistent")
		if lines := strings.Split(strings.TrimSpace(res.Stderr), "\n"); len(lines) != 1 {
			t.Errorf("stderr has %d lines, want exactly one:\n%s", len(lines), res.Stderr)
		}
	})
}

// The full address of a visitor reaches no stored column, no file of the embedded
// engine, no log line and no metric; only its truncated form is stored.
func TestCanaryAddressNeverStored(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			d := newDB(t, engine)
			p := start(t, run{DB: d, Args: []string{"--site", site, "--trusted-proxy", "127.0.0.1/32"}})
			with := func(h map[string]string) map[string]string {
				m := map[string]string{"X-Forwarded-For": canary}
				for k, v := range h {
					m[k] = v
				}
				return m
			}
			for _, c := range []struct {
				body   string
				hdr    map[string]string
				status int
			}{
				{pageview, nil, 202},
				{event("signup", "https://site.test/pricing", map[string]any{"props": map[string]string{"plan": "pro", "button": "footer"}}), nil, 202},
				{event("engagement", "https://site.test/pricing", map[string]any{"engaged_ms": 5300, "scroll": 75}), nil, 202},
				{event("pageview", "https://blog.site.test/post", nil), nil, 202},
				{event("pageview", "https://elsewhere.test/", nil), nil, 403},  // refused: foreign URL
				{pageview, map[string]string{"Sec-GPC": "1"}, 202},             // dropped: GPC
				{pageview, map[string]string{"User-Agent": "curl/8.5.0"}, 202}, // dropped: bot
			} {
				if r := p.post(c.body, with(c.hdr)); r.Status != c.status {
					t.Fatalf("POST %s %v: %d %s %s, want %d", c.body, c.hdr, r.Status, r.Reason, r.Body, c.status)
				}
			}
			metrics := p.metricsText()
			p.stopClean()

			if strings.Contains(metrics, canary) {
				t.Errorf("GET /metrics contains %s", canary)
			}
			if log := p.Log(); strings.Contains(log, canary) {
				t.Errorf("the log contains %s:\n%s", canary, log)
			}
			s := d.open(t)
			scope := "database = currentDatabase()"
			if d.Engine == "chdb" {
				scope = "database NOT IN ('system', 'information_schema', 'INFORMATION_SCHEMA')"
			}
			dump := dumpTables(t, s, scope)
			for table, text := range dump {
				if strings.Contains(text, canary) {
					t.Errorf("table %s holds %s:\n%s", table, canary, text)
				}
			}
			if text, ok := dump["events"]; !ok {
				t.Fatalf("no events table among %v", slices.Collect(maps.Keys(dump)))
			} else if !strings.Contains(text, "198.51.0.0") {
				t.Errorf("events does not hold the truncated address 198.51.0.0:\n%s", text)
			}
			events := selectEvents(t, s, "")
			if len(events) != 4 {
				t.Errorf("events has %d rows, want 4 (3 refused or dropped)", len(events))
			}
			for _, e := range events {
				if e.IP != "198.51.0.0" {
					t.Errorf("%s event: ip = %q, want 198.51.0.0", e.Name, e.IP)
				}
				switch e.Name {
				case "signup":
					if !slices.Contains(e.PropKeys, "plan") || !slices.Contains(e.PropValues, "pro") {
						t.Errorf("signup props = %v=%v, want plan=pro among them", e.PropKeys, e.PropValues)
					}
				case "engagement":
					if e.EngagedMS != 5300 || e.Scroll != 75 {
						t.Errorf("engagement: engaged_ms=%d scroll=%d, want 5300 and 75", e.EngagedMS, e.Scroll)
					}
				}
			}
			if d.Engine == "chdb" {
				err := filepath.WalkDir(d.Dir, func(path string, de fs.DirEntry, err error) error {
					if err != nil || !de.Type().IsRegular() {
						return err
					}
					b, err := os.ReadFile(path)
					if err != nil {
						return err
					}
					if bytes.Contains(b, []byte(canary)) {
						t.Errorf("file %s contains %s", path, canary)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// dumpTables renders every row of every table matching scope (a condition on
// system.tables) as tab-separated text, one string per table. Every column goes
// through toString, which both engines have (ClickHouse 18.16 cannot toString an Array,
// so arrays are joined element by element).
func dumpTables(t *testing.T, s store.Store, scope string) map[string]string {
	t.Helper()
	ctx := context.Background()
	var tables []struct {
		Database string `ch:"database"`
		Name     string `ch:"name"`
	}
	if err := s.Select(ctx, &tables, "SELECT database, name FROM system.tables WHERE "+scope); err != nil {
		t.Fatalf("list tables: %v", err)
	}
	out := map[string]string{}
	for _, tb := range tables {
		var cols []struct {
			Name string `ch:"name"`
			Type string `ch:"type"`
		}
		if err := s.Select(ctx, &cols, "SELECT name, type FROM system.columns WHERE database = ? AND table = ?", tb.Database, tb.Name); err != nil {
			t.Fatalf("columns of %s: %v", tb.Name, err)
		}
		var exprs []string
		for _, c := range cols {
			col := "`" + c.Name + "`"
			if strings.HasPrefix(c.Type, "Array(") {
				exprs = append(exprs, "arrayStringConcat(arrayMap(x -> toString(x), "+col+"), ',')")
			} else {
				exprs = append(exprs, "toString("+col+")")
			}
		}
		q := "SELECT concat(" + strings.Join(exprs, ", '\\t', ") + ", '') AS line FROM `" + tb.Database + "`.`" + tb.Name + "`"
		var rows []struct {
			Line string `ch:"line"`
		}
		if err := s.Select(ctx, &rows, q); err != nil {
			t.Fatalf("dump %s: %v", tb.Name, err)
		}
		var b strings.Builder
		for _, r := range rows {
			b.WriteString(r.Line + "\n")
		}
		out[tb.Name] = b.String()
	}
	return out
}

// X-Forwarded-For is believed only from a trusted proxy, and an IPv6 visitor is
// stored as its /48.
func TestClientAddress(t *testing.T) {
	t.Run("untrusted X-Forwarded-For ignored", func(t *testing.T) {
		t.Parallel()
		d := newDB(t, "server")
		p := start(t, run{DB: d, Args: []string{"--site", site}}) // no --trusted-proxy
		if r := p.post(pageview, proxied); r.Status != 202 {
			t.Fatalf("POST: %d %s, want 202", r.Status, r.Reason)
		}
		p.stopClean()
		rows := d.events(t)
		if len(rows) != 1 || rows[0].IP != "127.0.0.0" {
			t.Errorf("stored %+v, want one row with ip 127.0.0.0 (the connection's address, truncated)", rows)
		}
	})
	t.Run("IPv6 truncated to /48", func(t *testing.T) {
		t.Parallel()
		d := newDB(t, "server")
		p := start(t, run{DB: d, Args: []string{"--site", site, "--trusted-proxy", "127.0.0.1/32"}})
		const v6 = "2001:db8:abcd:12:34:56:78:9a"
		if r := p.post(pageview, map[string]string{"X-Forwarded-For": v6}); r.Status != 202 {
			t.Fatalf("POST: %d %s, want 202", r.Status, r.Reason)
		}
		p.stopClean()
		rows := d.events(t)
		if len(rows) != 1 || rows[0].IP != "2001:db8:abcd::" {
			t.Errorf("stored %+v, want one row with ip 2001:db8:abcd::", rows)
		}
		if strings.Contains(p.Log(), v6) {
			t.Errorf("the log contains %s", v6)
		}
	})
}
