package collector

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/websystems/loendur/internal/erasure"
	"github.com/websystems/loendur/internal/store/storetest"
)

func privacyRequest(t *testing.T, c *Collector, method, target, body, clientIP string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("User-Agent", firefoxUA)
	req.Header.Set("X-Forwarded-For", clientIP)
	resp, err := testApp(t, c).Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("%s %s: no CORS header", method, target)
	}
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d %s", method, target, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
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
