package collector

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/erasure"
	"github.com/websystems/loendur/internal/salt"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

// privacyRequest sends a self-service request as curl would: without an Origin.
func privacyRequest(t *testing.T, c *Collector, method, target, body, clientIP string) (int, map[string]any) {
	t.Helper()
	status, _, out := privacyRequestFrom(t, c, "", method, target, body, clientIP)
	return status, out
}

// privacyRequestFrom sends a self-service request as a page of origin would ("" for none).
func privacyRequestFrom(t *testing.T, c *Collector, origin, method, target, body, clientIP string) (int, http.Header, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("User-Agent", firefoxUA)
	req.Header.Set("X-Forwarded-For", clientIP)
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := testApp(t, c).Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if method != http.MethodOptions {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %d %s", method, target, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, resp.Header, out
}

func TestForgetErasesThisBrowserOnly(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			site := engine + ".forget.test"
			c := newTestCollector(t, db, site, nil)
			me, other := "203.0.113.7", "203.0.113.8" // same /16: same stored address, different visitors
			for i := 0; i < 3; i++ {
				post(t, c, `{"site":"`+site+`","name":"pageview","url":"https://`+site+`/me"}`, me).Body.Close()
			}
			for i := 0; i < 2; i++ {
				post(t, c, `{"site":"`+site+`","name":"pageview","url":"https://`+site+`/other"}`, other).Body.Close()
			}
			waitRows(t, db, site, 5)
			status, got := privacyRequest(t, c, http.MethodGet, "/api/me?site="+site, "", me)
			if status != 200 || got["events"] != float64(3) || got["visitor_id"] == "" {
				t.Fatalf("/api/me: %d %v", status, got)
			}
			if _, ok := got["pages"]; ok || len(got) != 2 {
				t.Errorf("/api/me says more than the id and a count: %v", got)
			}
			// One more event, still queued when forget arrives.
			post(t, c, `{"site":"`+site+`","name":"pageview","url":"https://`+site+`/late"}`, me).Body.Close()
			status, got = privacyRequest(t, c, http.MethodPost, "/api/forget", `{"site":"`+site+`"}`, me)
			if status != 200 || got["erased"] != float64(4) || got["from"] == "" || got["to"] == "" {
				t.Fatalf("/api/forget: %d %v", status, got)
			}
			rows := waitRows(t, db, site, 2)
			if len(rows) != 2 || rows[0].Pathname != "/other" || rows[1].Pathname != "/other" {
				t.Errorf("left after forget: %d rows %v", len(rows), rows)
			}
			if _, got = privacyRequest(t, c, http.MethodGet, "/api/me?site="+site, "", me); got["events"] != float64(0) {
				t.Errorf("/api/me after forget: %v", got)
			}
			entries, err := erasure.Ledger(t.Context(), db)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range entries {
				found = found || e.Site == site && e.RequestedBy == RequestedByForget && e.Kind == "visitor"
			}
			if !found {
				t.Errorf("no ledger entry for the forget request: %+v", entries)
			}
			// Unknown site and rate limit.
			if status, _ := privacyRequest(t, c, http.MethodPost, "/api/forget", `{"site":"nope.example"}`, me); status != 403 {
				t.Errorf("unknown site: %d", status)
			}
			// A fresh address: the limit's next request is refused (the few requests
			// take seconds, well within the minute the limiter looks back over).
			limited := false
			for i := 0; i < forgetPerMinute+1 && !limited; i++ {
				status, _ := privacyRequest(t, c, http.MethodPost, "/api/forget", `{"site":"`+site+`"}`, "198.51.100.1")
				limited = status == 429
			}
			if !limited {
				t.Errorf("forget is not rate-limited")
			}
		})
	}
}

// The self-service limit holds over any minute, not per clock minute: requests at the
// end of one minute and the start of the next count together.
func TestMinuteLimiterSlides(t *testing.T) {
	l := newMinuteLimiter(3, 5)
	a, b := addr("192.0.2.1"), addr("192.0.2.2")
	t0 := time.Date(2026, 12, 5, 12, 0, 59, 0, time.UTC)
	for i := range 3 {
		if ok, _ := l.allow(a, t0); !ok {
			t.Fatalf("request %d of 3 refused", i+1)
		}
	}
	if ok, global := l.allow(a, t0.Add(2*time.Second)); ok || global {
		t.Errorf("a fourth request two seconds later, in the next clock minute: allowed %v (global %v), want refused for the address", ok, global)
	}
	if ok, _ := l.allow(b, t0.Add(2*time.Second)); !ok {
		t.Error("another address refused")
	}
	if ok, _ := l.allow(a, t0.Add(time.Minute+time.Second)); !ok {
		t.Error("a request a minute after the first three refused")
	}
	// The total over all addresses slides too; addresses whose requests left the window
	// are forgotten.
	l = newMinuteLimiter(3, 5)
	for i := range 5 {
		if ok, _ := l.allow(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), t0); !ok {
			t.Fatalf("address %d of 5 refused", i+1)
		}
	}
	if ok, global := l.allow(a, t0.Add(30*time.Second)); ok || !global {
		t.Errorf("a sixth request within the minute: allowed %v (global %v), want refused for the total", ok, global)
	}
	at := t0.Add(time.Minute + time.Second)
	for i := range 100 {
		if ok, _ := l.allow(netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}), at); !ok {
			t.Fatalf("address %d, one request a minute, refused", i+1)
		}
		at = at.Add(time.Minute)
	}
	if len(l.byAddr) > l.total+1 {
		t.Errorf("%d addresses remembered; no more than %d can be live", len(l.byAddr), l.total)
	}
}

// A page of another origin (another registered site included) can neither read
// /api/me nor make /api/forget erase anything; pages of the site and its subdomains,
// and requests without an Origin, can.
func TestVisitorEndpointsOnlyForTheSitesOwnPages(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			site, otherSite := engine+".origin.test", engine+".other-origin.test"
			c := newTestCollector(t, db, site, nil)
			if _, err := c.opts.Sites.Ensure(t.Context(), []string{otherSite}); err != nil {
				t.Fatal(err)
			}
			const me = "203.0.113.7"
			for i := 0; i < 2; i++ {
				post(t, c, `{"site":"`+site+`","name":"pageview","url":"https://`+site+`/me"}`, me).Body.Close()
			}
			waitRows(t, db, site, 2)
			ledgerBefore := ledgerRows(t, db, site)

			for _, origin := range []string{"https://evil.test", "https://" + otherSite, "null", "https://" + site + ".evil.test", "ftp://" + site} {
				for _, r := range []struct{ method, target, body string }{
					{http.MethodGet, "/api/me?site=" + site, ""},
					{http.MethodPost, "/api/forget", `{"site":"` + site + `"}`},
					{http.MethodOptions, "/api/me?site=" + site, ""},
					{http.MethodOptions, "/api/forget", ""},
				} {
					if r.method == http.MethodOptions && r.target == "/api/forget" && origin == "https://"+otherSite {
						// A preflight has no body, so no site: a page of any registered site
						// passes it, and the POST that follows is refused (checked above).
						continue
					}
					status, hdr, got := privacyRequestFrom(t, c, origin, r.method, r.target, r.body, me)
					if status != http.StatusForbidden || hdr.Get("X-Loendur-Reason") != reasonForbiddenOrigin {
						t.Errorf("%s %s from %s: %d %s %v, want 403 forbidden_origin", r.method, r.target, origin, status, hdr.Get("X-Loendur-Reason"), got)
					}
					if acao := hdr.Get("Access-Control-Allow-Origin"); acao != "" {
						t.Errorf("%s %s from %s: Access-Control-Allow-Origin %q lets the page read the answer", r.method, r.target, origin, acao)
					}
				}
			}
			waitRows(t, db, site, 2) // nothing erased
			if n := ledgerRows(t, db, site); n != ledgerBefore {
				t.Errorf("refused requests wrote %d ledger rows", n-ledgerBefore)
			}

			for _, origin := range []string{"https://" + site, "http://blog." + site + ":8080"} {
				status, hdr, got := privacyRequestFrom(t, c, origin, http.MethodGet, "/api/me?site="+site, "", me)
				if status != 200 || got["events"] != float64(2) || hdr.Get("Access-Control-Allow-Origin") != origin {
					t.Errorf("GET /api/me from %s: %d %v (Access-Control-Allow-Origin %q)", origin, status, got, hdr.Get("Access-Control-Allow-Origin"))
				}
				if status, hdr, _ := privacyRequestFrom(t, c, origin, http.MethodOptions, "/api/forget", "", me); status != 204 || hdr.Get("Access-Control-Allow-Origin") != origin {
					t.Errorf("preflight of /api/forget from %s: %d (Access-Control-Allow-Origin %q)", origin, status, hdr.Get("Access-Control-Allow-Origin"))
				}
			}
			status, hdr, got := privacyRequestFrom(t, c, "https://www."+site, http.MethodPost, "/api/forget", `{"site":"`+site+`"}`, me)
			if status != 200 || got["erased"] != float64(2) || hdr.Get("Access-Control-Allow-Origin") != "https://www."+site {
				t.Errorf("POST /api/forget from the site's page: %d %v", status, got)
			}
			waitRows(t, db, site, 0)
		})
	}
}

// /api/me counts and /api/forget erases only the days whose salts are still held, a
// forget that erased nothing leaves no ledger row, and all addresses together are
// limited too.
func TestForgetBoundedToTheSaltsWindow(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			site := engine + ".window.test"
			c := newTestCollector(t, db, site, nil)
			const me = "203.0.113.7"
			post(t, c, `{"site":"`+site+`","name":"pageview","url":"https://`+site+`/today"}`, me).Body.Close()
			today := waitRows(t, db, site, 1)[0]
			// The same id on a row older than any live salt: it cannot be this browser's
			// (the id of that day was made with a deleted salt), and nothing reads or
			// rewrites that far back.
			old := today
			old.EventID, old.Timestamp, old.Pathname = uuid.New(), today.Timestamp.AddDate(0, 0, -40), "/old"
			if err := store.InsertEvents(t.Context(), db, []store.Event{old}); err != nil {
				t.Fatal(err)
			}
			waitRows(t, db, site, 2)
			if status, got := privacyRequest(t, c, http.MethodGet, "/api/me?site="+site, "", me); status != 200 || got["events"] != float64(1) {
				t.Errorf("/api/me: %d %v, want 1 event (today's only)", status, got)
			}
			status, got := privacyRequest(t, c, http.MethodPost, "/api/forget", `{"site":"`+site+`"}`, me)
			if status != 200 || got["erased"] != float64(1) {
				t.Errorf("/api/forget: %d %v, want 1 erased", status, got)
			}
			if rows := waitRows(t, db, site, 1); rows[0].Pathname != "/old" {
				t.Errorf("left: %v, want the row outside the window", rows[0])
			}
			if n := ledgerRows(t, db, site); n != 1 {
				t.Errorf("%d ledger rows after one erasure, want 1", n)
			}
			// Nothing left to erase: answered, and no ledger row.
			if status, got := privacyRequest(t, c, http.MethodPost, "/api/forget", `{"site":"`+site+`"}`, me); status != 200 || got["erased"] != float64(0) {
				t.Errorf("second /api/forget: %d %v", status, got)
			}
			if n := ledgerRows(t, db, site); n != 1 {
				t.Errorf("%d ledger rows after an erasure of nothing, want still 1", n)
			}
			// All addresses together: at most forgetGlobalPerMinute a minute (the two
			// above count; a new minute may start while this runs, hence the margin).
			limited := false
			for i := 0; i < 2*forgetGlobalPerMinute && !limited; i++ {
				status, got := privacyRequest(t, c, http.MethodPost, "/api/forget", `{"site":"`+site+`"}`, fmt.Sprintf("198.51.%d.%d", 100+i/200, 1+i%200))
				limited = status == 429
				if limited && !strings.Contains(fmt.Sprint(got["message"]), "right now") {
					t.Errorf("429 from a fresh address: %v, want the global limit's message", got)
				}
			}
			if !limited {
				t.Errorf("%d erasure requests from distinct addresses all answered: no global limit", 2*forgetGlobalPerMinute)
			}
		})
	}
}

// Until its salts are loaded the collector answers 503 "starting" (not "queue_full",
// which tells an operator to look at the writer).
func TestStartingHasItsOwnReason(t *testing.T) {
	db := storetest.Server(t)
	site := "starting.test"
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	registry := sites.NewRegistry(db, log)
	if _, err := registry.Ensure(t.Context(), []string{site}); err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{DB: db, Sites: registry, Salts: salt.New(db, log, nil), Log: log, RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	resp := post(t, c, `{"site":"`+site+`","name":"pageview","url":"https://`+site+`/"}`, "203.0.113.7")
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("X-Loendur-Reason") != "starting" {
		t.Errorf("beacon before the salts: %d %q, want 503 starting", resp.StatusCode, resp.Header.Get("X-Loendur-Reason"))
	}
	for _, r := range []struct{ method, target, body string }{
		{http.MethodGet, "/api/me?site=" + site, ""}, {http.MethodPost, "/api/forget", `{"site":"` + site + `"}`},
	} {
		status, hdr, _ := privacyRequestFrom(t, c, "", r.method, r.target, r.body, "203.0.113.7")
		if status != 503 || hdr.Get("X-Loendur-Reason") != "starting" {
			t.Errorf("%s %s before the salts: %d %q, want 503 starting", r.method, r.target, status, hdr.Get("X-Loendur-Reason"))
		}
	}
}

func ledgerRows(t *testing.T, db store.Store, site string) int {
	t.Helper()
	entries, err := erasure.Ledger(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Site == site {
			n++
		}
	}
	return n
}

// When the events queued before a forget request cannot be stored first, the erasure
// service erases nothing and the visitor is told it failed (503 erasure_failed), not
// that it was done. The collector's real queue gives up only after QueuedWait, so the
// service given here stands for a writer that cannot deliver.
func TestForgetFailsWhenTheQueueIsNotStored(t *testing.T) {
	db := storetest.Embedded(t)
	const site, me = "stuck.forget.test", "203.0.113.7"
	c := newTestCollector(t, db, site, nil)
	post(t, c, `{"site":"`+site+`","name":"pageview","url":"https://`+site+`/me"}`, me).Body.Close()
	waitRows(t, db, site, 1)
	c.opts.Erasure = erasure.NewService(erasure.ServiceOptions{DB: db, Queue: erasure.QueueFunc(func(context.Context) error {
		return ErrQueueNotFlushed
	})})
	status, hdr, got := privacyRequestFrom(t, c, "", http.MethodPost, "/api/forget", `{"site":"`+site+`"}`, me)
	if status != http.StatusServiceUnavailable || hdr.Get("X-Loendur-Reason") != reasonErasureFailed {
		t.Errorf("/api/forget with the queue not stored: %d %q %v", status, hdr.Get("X-Loendur-Reason"), got)
	}
	if rows := waitRows(t, db, site, 1); len(rows) != 1 {
		t.Errorf("erased although the queue was not stored: %d rows left", len(rows))
	}
	if n := ledgerRows(t, db, site); n != 0 {
		t.Errorf("%d ledger rows for a failed forget", n)
	}
}
