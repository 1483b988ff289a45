package dashboard

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/store/storetest"
)

// Every answer of the dashboard's API, JSON, CSV and error alike, and the pages and
// downloads of Data requests, tell every cache not to keep them and browsers not to
// guess their type: they hold personal data.
func TestAnswersAreNotCachedNorSniffed(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, db, "headers-"+engine, "h")
			site := e.sites[0]
			formulaFixture(t, db, site)
			admin := e.browser()
			admin.mustLogin(e.addUser("ada-"+engine+"@headers.test", auth.RoleAdmin, nil))
			mgr := e.addUser("max-"+engine+"@headers.test", auth.RoleManager, []string{site})
			key, err := auth.AddAPIKey(context.Background(), db, mgr)
			if err != nil {
				t.Fatal(err)
			}
			bearer := func(k, method, path string) response {
				return e.browser().do(method, path, nil, map[string]string{"Authorization": "Bearer " + k})
			}
			sel := map[string]any{"site": site, "kind": "ip", "ip": "203.0.113.7", "from": "2026-03-10", "to": "2026-03-10"}
			period := "?site=" + site + "&period=custom&from=2026-03-10&to=2026-03-10"
			noCSRF := e.browser() // the admin's session cookie, without the token
			maps.Copy(noCSRF.cookies, admin.cookies)

			for _, c := range []struct {
				what   string
				status int
				ctype  string
				r      response
			}{
				{"me (session)", 200, "application/json", admin.get("/api/v1/me")},
				{"sites (session)", 200, "application/json", admin.get("/api/v1/sites")},
				{"report JSON (session)", 200, "application/json", admin.get("/api/v1/stats/overview" + period)},
				{"report CSV (session)", 200, "text/csv", admin.get("/api/v1/stats/top-pages" + period + "&format=csv")},
				{"report JSON (key)", 200, "application/json", bearer(key, http.MethodGet, "/api/v1/stats/events"+period)},
				{"report CSV (key)", 200, "text/csv", bearer(key, http.MethodGet, "/api/v1/stats/utm"+period+"&format=csv")},
				{"data request preview", 200, "application/json", admin.api(http.MethodPost, "/api/v1/requests/preview", sel)},
				{"data request export CSV", 200, "text/csv", admin.api(http.MethodPost, "/api/v1/requests/export?format=csv", sel)},
				{"data request export JSON", 200, "application/json", admin.api(http.MethodPost, "/api/v1/requests/export", sel)},
				{"ledger", 200, "application/json", admin.get("/api/v1/requests/ledger")},
				{"bad report request", 400, "application/json", admin.get("/api/v1/stats/top-pages" + period + "&limit=0")},
				{"unknown report", 404, "application/json", admin.get("/api/v1/stats/bogus" + period)},
				{"bad data request", 400, "application/json", admin.api(http.MethodPost, "/api/v1/requests/export?format=csv", map[string]any{"site": site})},
				{"unknown API route", 404, "", admin.get("/api/v1/no-such-thing")},
				{"missing CSRF token", 403, "application/json", noCSRF.api(http.MethodPost, "/api/v1/requests/preview", sel)},
				{"no credentials", 401, "application/json", e.browser().get("/api/v1/me")},
				{"revoked or unknown key", 401, "application/json", bearer("lnd_not-a-key", http.MethodGet, "/api/v1/me")},
				{"admins only (key)", 403, "application/json", bearer(key, http.MethodGet, "/api/v1/users")},
				{"no such site (key)", 403, "application/json", bearer(key, http.MethodGet, "/api/v1/stats/overview?site=nope.test")},
				{"Data requests page", 200, "text/html", admin.get("/admin/requests")},
				{"Data requests download", 200, "text/csv", admin.post("/admin/requests/export",
					url.Values{"site": {site}, "kind": {"ip"}, "ip": {"203.0.113.7"}, "from": {"2026-03-10"}, "to": {"2026-03-10"}, "format": {"csv"}})},
			} {
				r := c.r
				if r.StatusCode != c.status || !strings.HasPrefix(r.Header.Get("Content-Type"), c.ctype) {
					t.Errorf("%s: %d %s, want %d %s: %.200s", c.what, r.StatusCode, r.Header.Get("Content-Type"), c.status, c.ctype, r.body)
				}
				if got := r.Header.Get("Cache-Control"); got != "no-store" {
					t.Errorf("%s: Cache-Control %q, want no-store", c.what, got)
				}
				if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("%s: X-Content-Type-Options %q, want nosniff", c.what, got)
				}
			}
		})
	}
}
