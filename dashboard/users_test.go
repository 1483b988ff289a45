package dashboard

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/store/storetest"
)

// userRowOf returns the Users table's row for email, as text without tags.
func userRowOf(page, email string) string {
	m := regexp.MustCompile(`(?s)<tr data-user="` + regexp.QuoteMeta(email) + `">(.*?)</tr>`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return strings.Join(strings.Fields(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(pageText(m[1]), " ")), " ")
}

// The Users page is a table (role, sites, 2FA, last login) with a search, and each
// account has a page where role and sites are edited, a password reset and keys revoked.
func TestUsersTableAndUserPage(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, db, "utab-"+engine, "a", "b")
			adminEmail := e.addUser("ula-"+engine+"@utab.test", auth.RoleAdmin, nil)
			admin := e.browser()
			admin.mustLogin(adminEmail)
			mgr := e.addUser("mel-"+engine+"@utab.test", auth.RoleManager, e.sites[:1])
			never := e.addUser("nev-"+engine+"@utab.test", auth.RoleManager, e.sites[1:])
			e.browser().mustLogin(mgr)

			page := admin.get("/admin/users").body
			row := userRowOf(page, mgr)
			if !strings.Contains(row, "manager") || !strings.Contains(row, e.sites[0]) || !strings.Contains(row, "off") ||
				!regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d UTC`).MatchString(row) {
				t.Errorf("manager's row %q: want role, site, 2FA off and a last login", row)
			}
			if row := userRowOf(page, never); !strings.HasSuffix(row, "never") {
				t.Errorf("row of an account never signed in: %q", row)
			}
			if row := userRowOf(page, adminEmail); !strings.Contains(row, "admin all off") {
				t.Errorf("admin's row %q", row)
			}
			// Search by site narrows the table.
			found := admin.get("/admin/users?q=" + url.QueryEscape(e.sites[1])).body
			if userRowOf(found, never) == "" || userRowOf(found, mgr) != "" {
				t.Errorf("search for %s: rows %q / %q", e.sites[1], userRowOf(found, never), userRowOf(found, mgr))
			}

			// The user's page: edit sites, then a failed edit keeps what was typed.
			id := userID(t, admin, mgr)
			if !strings.Contains(page, `href="/admin/users/`+id+`"`) {
				t.Fatal("the table does not link to the user's page")
			}
			form := url.Values{"csrf": {admin.csrf}, "role": {"manager"}, "sites": {e.sites[0], e.sites[1]}, "action": {"save"}}
			r := admin.do(http.MethodPost, "/admin/users/"+id, strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
			if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin/users/"+id {
				t.Fatalf("saving: %d %q, want 303 to the user's page", r.StatusCode, r.Header.Get("Location"))
			}
			p := admin.get("/admin/users/" + id)
			if p.StatusCode != http.StatusOK || !strings.Contains(p.body, "Saved "+mgr) ||
				strings.Count(p.body, `" checked> `+e.sites[0]) != 1 || strings.Count(p.body, `" checked> `+e.sites[1]) != 1 {
				t.Fatalf("user's page after saving: %d %s", p.StatusCode, p.body)
			}
			form.Set("sites", "nope.invalid")
			form.Set("totp_required", "1")
			r = admin.post("/admin/users/"+id, form)
			if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "not registered") ||
				!strings.Contains(r.body, `name="totp_required" value="1" checked`) || strings.Contains(r.body, `" checked> `+e.sites[0]) {
				t.Errorf("failed edit: %d, want the error and the typed (not stored) values: %s", r.StatusCode, r.body)
			}
			// New password from the user's page, shown once.
			r = admin.post("/admin/users/"+id, url.Values{"action": {"reset_password"}})
			m := regexp.MustCompile(`<code id="secret">([^<]+)</code>`).FindStringSubmatch(r.body)
			if r.StatusCode != http.StatusOK || m == nil || !strings.Contains(r.body, "<h1>"+mgr+"</h1>") {
				t.Fatalf("reset from the user's page: %d %s", r.StatusCode, r.body)
			}
			if r := e.browser().login(mgr, m[1], ""); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("login with the new password: %d", r.StatusCode)
			}
			if r := admin.get("/admin/users/no-such-id"); r.StatusCode != http.StatusNotFound {
				t.Errorf("unknown account's page: %d", r.StatusCode)
			}
		})
	}
}

// A site settings form that fails is shown again with what was typed, in that site's
// form only.
func TestFailedSiteEditKeepsWhatWasTyped(t *testing.T) {
	e := newEnv(t, storetest.Server(t), "sitetyped", "a", "b")
	admin := e.browser()
	admin.mustLogin(e.addUser("sta@sitetyped.test", auth.RoleAdmin, nil))
	r := admin.post("/admin/sites/"+e.sites[0], url.Values{"timezone": {"Mars/Olympus_Mons"}, "retention_months": {"13"}})
	if r.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad time zone: %d", r.StatusCode)
	}
	form := func(site string) string {
		i := strings.Index(r.body, `aria-label="Settings of `+site+`"`)
		if i < 0 {
			t.Fatalf("no settings form of %s", site)
		}
		return r.body[i : i+strings.Index(r.body[i:], "</form>")]
	}
	a, b := form(e.sites[0]), form(e.sites[1])
	if !strings.Contains(a, `value="Mars/Olympus_Mons"`) || !strings.Contains(a, `value="13"`) || strings.Contains(a, `name="honour_dnt" value="1" checked`) {
		t.Errorf("the failed form does not show what was typed: %s", a)
	}
	if !strings.Contains(b, `value="UTC"`) || strings.Contains(b, "Mars") {
		t.Errorf("another site's form changed: %s", b)
	}
}
