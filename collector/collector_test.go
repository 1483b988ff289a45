package collector

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/websystems/loendur/internal/clientip"
	"github.com/websystems/loendur/internal/geo"
	"github.com/websystems/loendur/internal/geo/geotest"
	"github.com/websystems/loendur/internal/salt"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

const firefoxUA = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"

// newTestCollector builds a collector on db for site, trusting every proxy so tests can
// set the client address with X-Forwarded-For.
func newTestCollector(t testing.TB, db store.Store, site string, geoDB *geo.Reader) *Collector {
	t.Helper()
	return newTestCollectorFlushing(t, db, site, geoDB, 50*time.Millisecond)
}

// newTestCollectorFlushing is newTestCollector with the given flush interval.
func newTestCollectorFlushing(t testing.TB, db store.Store, site string, geoDB *geo.Reader, flush time.Duration) *Collector {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	registry := sites.NewRegistry(db, log)
	if _, err := registry.Ensure(ctx, []string{site}); err != nil {
		t.Fatal(err)
	}
	keeper := salt.New(db, log, nil)
	if err := keeper.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	proxies, _ := clientip.NewResolver([]string{"0.0.0.0/0", "::/0"})
	c, err := New(Options{DB: db, Sites: registry, Salts: keeper, Geo: geoDB, Proxies: proxies, Log: log,
		Registry: prometheus.NewRegistry(), FlushInterval: flush, RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	c.Start(ctx)
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.Shutdown(sctx)
	})
	return c
}

func post(t *testing.T, c *Collector, body, clientIP string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/api/event", strings.NewReader(body))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("User-Agent", firefoxUA)
	req.Header.Set("X-Forwarded-For", clientIP)
	resp, err := testApp(t, c).Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// waitRows polls until the site has want rows, and returns them.
func waitRows(t *testing.T, db store.Store, site string, want int) []store.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var rows []store.Event
		err := db.Select(context.Background(), &rows, "SELECT "+strings.Join(store.EventColumns, ", ")+
			" FROM events WHERE site = ? ORDER BY timestamp, name", site)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) >= want || time.Now().After(deadline) {
			if len(rows) != want {
				t.Fatalf("site %s has %d rows, want %d", site, len(rows), want)
			}
			return rows
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestPageviewEnrichedOnEveryEngine(t *testing.T) {
	geoPath := filepath.Join(t.TempDir(), "city.mmdb")
	err := geotest.WriteCityDB(geoPath, []geotest.Entry{{CIDR: "198.51.100.0/24",
		Location: geo.Location{CountryCode: "EE", Region: "Harju", City: "Tallinn"}}})
	if err != nil {
		t.Fatal(err)
	}
	geoDB, err := geo.Open(geoPath)
	if err != nil {
		t.Fatal(err)
	}
	defer geoDB.Close()

	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			site := "enrich-" + engine + ".test"
			c := newTestCollector(t, db, site, geoDB)
			body := `{"site":"` + site + `","name":"pageview","url":"https://www.` + site +
				`/pricing?utm_source=news&utm_campaign=nov&email=jane@example.org#top","referrer":"https://www.google.de/search?q=x","width":1280}`
			if resp := post(t, c, body, "198.51.100.77"); resp.StatusCode != http.StatusAccepted {
				t.Fatalf("status %d", resp.StatusCode)
			}
			ev := waitRows(t, db, site, 1)[0]
			want := map[string][2]string{
				"hostname": {ev.Hostname, "www." + site}, "pathname": {ev.Pathname, "/pricing"},
				"referrer_host": {ev.ReferrerHost, "google.de"}, "referrer_source": {ev.ReferrerSource, "Google"},
				"utm_source": {ev.UTMSource, "news"}, "utm_campaign": {ev.UTMCampaign, "nov"},
				"country_code": {ev.CountryCode, "EE"}, "region": {ev.Region, "Harju"}, "city": {ev.City, "Tallinn"},
				"browser": {ev.Browser, "Firefox"}, "browser_version": {ev.BrowserVersion, "120"},
				"os": {ev.OS, "Linux"}, "device": {ev.Device, "desktop"}, "ip": {ev.IP, "198.51.0.0"},
				"name": {ev.Name, "pageview"},
			}
			for col, gw := range want {
				if gw[0] != gw[1] {
					t.Errorf("%s = %q, want %q", col, gw[0], gw[1])
				}
			}
			if ev.Width != 1280 || ev.VisitorID == 0 || ev.SessionID == 0 {
				t.Errorf("width/visitor/session = %d/%d/%d", ev.Width, ev.VisitorID, ev.SessionID)
			}
			if d := time.Since(ev.Timestamp); d < 0 || d > time.Minute {
				t.Errorf("timestamp %v is not the server's time", ev.Timestamp)
			}
		})
	}
}

func TestSessionAndVisitorAcrossEvents(t *testing.T) {
	db := storetest.Server(t)
	site := "visit.test"
	c := newTestCollector(t, db, site, nil)
	for _, body := range []string{
		`{"site":"visit.test","name":"pageview","url":"https://visit.test/"}`,
		`{"site":"visit.test","name":"engagement","url":"https://visit.test/","engaged_ms":4200,"scroll":90}`,
		`{"site":"visit.test","name":"Signup","url":"https://visit.test/","props":{"plan":"pro"}}`,
	} {
		if resp := post(t, c, body, "203.0.113.9"); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("status %d for %s", resp.StatusCode, body)
		}
	}
	post(t, c, `{"site":"visit.test","name":"pageview","url":"https://visit.test/"}`, "203.0.114.9")
	rows := waitRows(t, db, site, 4)
	byIP := map[string][]store.Event{}
	for _, r := range rows {
		byIP[r.IP] = append(byIP[r.IP], r)
	}
	same := byIP["203.0.0.0"]
	if len(same) != 4 {
		t.Fatalf("rows by truncated address: %v", byIP)
	}
	var signup, engagement store.Event
	visitors := map[uint64]bool{}
	for _, r := range rows {
		visitors[r.VisitorID] = true
		switch r.Name {
		case "Signup":
			signup = r
		case "engagement":
			engagement = r
		}
	}
	if len(visitors) != 2 {
		t.Errorf("want 2 visitors (two addresses in one /16 are still two people), got %d", len(visitors))
	}
	if engagement.EngagedMS != 4200 || engagement.Scroll != 90 {
		t.Errorf("engagement stored as %d ms / %d%%", engagement.EngagedMS, engagement.Scroll)
	}
	if len(signup.PropKeys) != 1 || signup.PropKeys[0] != "plan" || signup.PropValues[0] != "pro" {
		t.Errorf("props stored as %v=%v", signup.PropKeys, signup.PropValues)
	}
}

// WaitQueued stores what was accepted before it at once, without waiting for the
// flush interval (an hour here, so only the flush request can have stored the events).
func TestWaitQueuedStoresWhatWasAccepted(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			site := engine + ".waitqueued.test"
			c := newTestCollectorFlushing(t, db, site, nil, time.Hour)
			for i := range 3 {
				resp := post(t, c, `{"site":"`+site+`","name":"pageview","url":"https://`+site+`/`+strconv.Itoa(i)+`"}`, "203.0.113.7")
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					t.Fatalf("event %d: %d", i, resp.StatusCode)
				}
			}
			if err := c.WaitQueued(t.Context()); err != nil {
				t.Fatal(err)
			}
			if n := c.held.Load(); n != 0 {
				t.Errorf("%d events still held after WaitQueued", n)
			}
			waitRows(t, db, site, 3) // not an hour: the flush request stored them
			// Nothing queued: it returns at once.
			if err := c.WaitQueued(t.Context()); err != nil {
				t.Fatal(err)
			}
		})
	}
}
