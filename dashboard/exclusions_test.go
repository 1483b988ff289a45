package dashboard

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/store/storetest"
)

// Admins edit a site's excluded traffic on the Sites page and through the API; the
// shared set the collector reads applies it at once; bad entries get a 400 that names
// them; managers cannot see or change it; every change is in the audit log.
func TestSiteExclusions(t *testing.T) {
	db := storetest.Server(t)
	e := newEnv(t, db, "excl", "shop")
	site := e.sites[0]
	admin := e.browser()
	admin.mustLogin(e.addUser("ada@excl.test", auth.RoleAdmin, nil))

	r := admin.post("/admin/sites/"+site+"/exclusions", url.Values{
		"user_agents": {"AcmeWatch\r\nUptimeRobot"}, "addresses": {"203.0.113.0/24\r\n2001:db8::/48"}})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Saved the excluded traffic") {
		t.Fatalf("save exclusions form: %d %s", r.StatusCode, r.body)
	}
	page := pageText(admin.get("/admin/sites").body)
	if !strings.Contains(page, "203.0.113.0/24\n2001:db8::/48") || !strings.Contains(page, "AcmeWatch\nUptimeRobot") {
		t.Errorf("the Sites page does not show the exclusions:\n%s", page)
	}
	set := e.dash.opts.Exclusions
	if !set.Excluded(site, netip.MustParseAddr("203.0.113.9"), "Firefox") || !set.Excluded(site, netip.MustParseAddr("192.0.2.1"), "x uptimerobot/2.0") {
		t.Error("the saved exclusions do not apply")
	}
	if !e.auditHas("site_exclusions", site) {
		t.Error("no audit entry for the change")
	}

	var got struct {
		Site       string   `json:"site"`
		UserAgents []string `json:"user_agents"`
		Addresses  []string `json:"addresses"`
	}
	r = admin.api(http.MethodPut, "/api/v1/sites/"+site+"/exclusions", map[string]any{"user_agents": []string{}, "addresses": []string{"198.51.100.7"}})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("PUT exclusions: %d %s", r.StatusCode, r.body)
	}
	r = admin.get("/api/v1/sites/" + site + "/exclusions")
	r.json(t, &got)
	if r.StatusCode != http.StatusOK || got.Site != site || len(got.UserAgents) != 0 || len(got.Addresses) != 1 || got.Addresses[0] != "198.51.100.7" {
		t.Errorf("GET exclusions: %d %s", r.StatusCode, r.body)
	}
	if set.Excluded(site, netip.MustParseAddr("203.0.113.9"), "AcmeWatch") {
		t.Error("replaced exclusions still apply")
	}
	for _, bad := range []map[string]any{
		{"addresses": []string{"203.0.113.0/40"}},
		{"user_agents": []string{"tab\there"}},
	} {
		if r := admin.api(http.MethodPut, "/api/v1/sites/"+site+"/exclusions", bad); r.StatusCode != http.StatusBadRequest {
			t.Errorf("PUT %v: %d %s, want 400", bad, r.StatusCode, r.body)
		}
	}
	if r := admin.api(http.MethodPut, "/api/v1/sites/"+site+"/exclusions", "not an object"); r.StatusCode != http.StatusBadRequest {
		t.Errorf("PUT a string: %d, want 400", r.StatusCode)
	}
	if r := admin.api(http.MethodPut, "/api/v1/sites/unknown-excl.test/exclusions", map[string]any{}); r.StatusCode != http.StatusNotFound {
		t.Errorf("PUT for an unknown site: %d %s, want 404", r.StatusCode, r.body)
	}

	mgr := e.browser()
	mgr.mustLogin(e.addUser("max@excl.test", auth.RoleManager, []string{site}))
	if r := mgr.get("/api/v1/sites/" + site + "/exclusions"); r.StatusCode != http.StatusForbidden {
		t.Errorf("manager GET exclusions: %d, want 403", r.StatusCode)
	}
	if r := mgr.api(http.MethodPut, "/api/v1/sites/"+site+"/exclusions", map[string]any{}); r.StatusCode != http.StatusForbidden {
		t.Errorf("manager PUT exclusions: %d, want 403", r.StatusCode)
	}
}
