package dashboard

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/store/storetest"
)

// The Data requests page answers preview and erase with a redirect (303) to itself: a
// reload shows the page and sends nothing again, and the person's identifiers never
// appear in the URL.
func TestRequestsPageRedirectsAfterPost(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, db, "reqprg-"+engine, "a", "b")
			site, other := e.sites[0], e.sites[1]
			requestFixture(t, db, site, other)
			admin := e.browser()
			admin.mustLogin(e.addUser("ida-"+engine+"@reqprg.test", auth.RoleAdmin, nil))
			send := func(path string, form url.Values) response {
				form.Set("csrf", admin.csrf)
				return admin.do(http.MethodPost, path, strings.NewReader(form.Encode()),
					map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
			}

			r := send("/admin/requests/preview", url.Values{"site": {site}, "kind": {"visitor"}, "ids": {"1"}})
			if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin/requests" {
				t.Fatalf("preview: %d %q, want 303 to /admin/requests", r.StatusCode, r.Header.Get("Location"))
			}
			page := pageText(admin.get("/admin/requests").body)
			if !strings.Contains(page, "3 events match") || !strings.Contains(page, `name="ids" value="1"`) {
				t.Fatalf("the page after the preview's redirect: %s", page)
			}
			if again := pageText(admin.get("/admin/requests").body); strings.Contains(again, "3 events match") {
				t.Error("a reload shows the preview again")
			}

			// Erase: once, however often the page is reloaded afterwards.
			r = send("/admin/requests/erase", url.Values{"site": {site}, "kind": {"visitor"}, "ids": {"1"}, "confirm": {"1"}})
			if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin/requests" {
				t.Fatalf("erase: %d %q, want 303 to /admin/requests", r.StatusCode, r.Header.Get("Location"))
			}
			page = pageText(admin.get("/admin/requests").body)
			if !strings.Contains(page, "Erased 3 events") || !strings.Contains(page, "Verified: every table") {
				t.Fatalf("the page after the erasure's redirect: %s", page)
			}
			admin.get("/admin/requests")
			if led := ledgerOf(t, db, site); len(led) != 1 {
				t.Errorf("ledger after reloads: %d entries, want 1", len(led))
			}
			// A failed form is shown at once (no redirect), with what was typed.
			r = send("/admin/requests/preview", url.Values{"site": {site}, "kind": {"ip"}, "ip": {"not-an-address"}})
			if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, `value="not-an-address"`) {
				t.Errorf("a failed preview: %d, typed address not kept", r.StatusCode)
			}
		})
	}
}
