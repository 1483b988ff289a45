package dashboard

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/notice"
	"github.com/websystems/loendur/internal/store/storetest"
)

// The privacy page and its API: admins and the site's managers read it; another
// site's manager is refused exactly like an unknown site; admins change consent mode
// and the privacy page, and the check and the notice follow at once.
func TestPrivacyPageAndAPI(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, db, "privacy-"+engine, "mine", "theirs")
			mine, theirs := e.sites[0], e.sites[1]
			e.dash.opts.Notice = NoticeOptions{Agency: notice.Agency{Name: "Agentuur", Domains: []string{"agency.test"}}}
			e.dash.opts.PublicURL = "https://stats.agency.test"
			admin := e.addUser("ana-"+engine+"@agency.test", auth.RoleAdmin, nil)
			mgr := e.addUser("mari-"+engine+"@"+mine, auth.RoleManager, []string{mine})
			other := e.addUser("olev-"+engine+"@"+theirs, auth.RoleManager, []string{theirs})

			m := e.browser()
			m.mustLogin(mgr)
			page := m.get("/sites/" + mine + "/privacy")
			text := pageText(page.body)
			if page.StatusCode != http.StatusOK || !strings.Contains(text, "Consent exemption") || !strings.Contains(text, "No privacy page is recorded") {
				t.Fatalf("manager's own privacy page: %d\n%s", page.StatusCode, page.body)
			}
			if strings.Contains(text, `id="privacy-settings"`) || !strings.Contains(text, "Consent mode: ") {
				t.Error("a manager is offered the settings form")
			}
			if !strings.Contains(text, "one person of ours who manages this site") || !strings.Contains(text, "https://stats.agency.test/js/script.js") {
				t.Errorf("notice on the page:\n%s", text)
			}
			if et := pageText(m.get("/sites/" + mine + "/privacy?lang=et").body); !strings.Contains(et, "Külastusstatistika") || !strings.Contains(et, "Andmeid hoitakse 25 kuud") {
				t.Errorf("Estonian notice:\n%s", et)
			}

			forbidden, unknown := m.get("/sites/"+theirs+"/privacy"), m.get("/sites/unknown.test/privacy")
			if forbidden.StatusCode != http.StatusForbidden || unknown.StatusCode != http.StatusForbidden || forbidden.body != unknown.body ||
				strings.Contains(forbidden.body, "Consent exemption") {
				t.Errorf("another site's privacy page: %d, unknown site's: %d; bodies equal: %v", forbidden.StatusCode, unknown.StatusCode, forbidden.body == unknown.body)
			}
			apiForbidden, apiUnknown := m.get("/api/v1/sites/"+theirs+"/privacy"), m.get("/api/v1/sites/unknown.test/privacy")
			if apiForbidden.StatusCode != http.StatusForbidden || apiForbidden.body != apiUnknown.body {
				t.Errorf("API for another site: %d %s; unknown: %s", apiForbidden.StatusCode, apiForbidden.body, apiUnknown.body)
			}
			var rep notice.Report
			own := m.get("/api/v1/sites/" + mine + "/privacy")
			own.json(t, &rep)
			if own.StatusCode != http.StatusOK || len(rep.Check.Conditions) != 7 || rep.Check.Exempt ||
				!strings.Contains(rep.Notices["en"].HTML, "<h2>Visitor statistics</h2>") || !strings.Contains(rep.Notices["et"].Text, "Külastusstatistika") {
				t.Fatalf("manager's own privacy JSON: %d %+v", own.StatusCode, rep.Check)
			}
			// Other tests add admins to the shared embedded database: at least this one.
			if rc := rep.Facts.ReaderCounts; rc.Managers != 1 || rc.Admins < 1 || strings.Contains(own.body, admin) {
				t.Errorf("readers in the JSON: %+v; admin's address shown: %v", rep.Facts.ReaderCounts, strings.Contains(own.body, admin))
			}
			if own.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("privacy JSON Cache-Control %q", own.Header.Get("Cache-Control"))
			}
			if r := m.api(http.MethodPatch, "/api/v1/sites/"+mine+"/privacy", map[string]any{"consent_required": true}); r.StatusCode != http.StatusForbidden {
				t.Errorf("manager changes consent mode: %d", r.StatusCode)
			}
			if r := m.post("/sites/"+mine+"/privacy", url.Values{"consent_required": {"1"}}); r.StatusCode != http.StatusForbidden {
				t.Errorf("manager posts the settings form: %d", r.StatusCode)
			}

			o := e.browser()
			o.mustLogin(other)
			if r := o.get("/sites/" + mine + "/privacy"); r.StatusCode != http.StatusForbidden {
				t.Errorf("another site's manager: %d", r.StatusCode)
			}

			// An admin with an API key turns consent mode on and records the page.
			key, err := auth.AddAPIKey(t.Context(), db, admin)
			if err != nil {
				t.Fatal(err)
			}
			bearer := map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"}
			script := e.browser()
			bad := script.do(http.MethodPatch, "/api/v1/sites/"+mine+"/privacy", strings.NewReader(`{"privacy_page":"https://evil.test/"}`), bearer)
			if bad.StatusCode != http.StatusBadRequest || !strings.Contains(bad.body, "the privacy page must be an http(s) address of a page of "+mine) {
				t.Errorf("privacy page on another site: %d %s", bad.StatusCode, bad.body)
			}
			r := script.do(http.MethodPatch, "/api/v1/sites/"+mine+"/privacy",
				strings.NewReader(`{"consent_required":true,"privacy_page":"https://`+mine+`/privacy"}`), bearer)
			rep = notice.Report{}
			r.json(t, &rep)
			if r.StatusCode != http.StatusOK || !rep.Check.ConsentRequired || !rep.Check.Exempt ||
				!strings.Contains(rep.Notices["en"].Tracker, `data-consent="required"`) || !strings.Contains(rep.Notices["en"].Text, "We count your visit only after you agree") {
				t.Fatalf("after PATCH: %d %+v\n%s", r.StatusCode, rep.Check, rep.Notices["en"].Text)
			}
			// The Sites page shows the tracker tag as the settings want it.
			a := e.browser()
			a.mustLogin(admin)
			want := `<script defer src="https://stats.agency.test/js/script.js" data-site="` + mine + `" data-consent="required"></script>`
			if sitesPage := pageText(a.get("/admin/sites").body); !strings.Contains(sitesPage, want) {
				t.Errorf("the Sites page does not show %s", want)
			}
			if setup := pageText(a.get("/sites/" + mine).body); !strings.Contains(setup, want) {
				t.Errorf("the report page's set-up card does not show %s", want)
			}
			if !e.auditHas("site_privacy_update", mine) {
				t.Error("privacy settings change not audited")
			}

			// Retention raised to 36 months: refused no more, and the check says consent is needed.
			if r := script.do(http.MethodPatch, "/api/v1/sites/"+mine, strings.NewReader(`{"retention_months":36}`), bearer); r.StatusCode != http.StatusOK {
				t.Fatalf("retention 36: %d %s", r.StatusCode, r.body)
			}
			page = m.get("/sites/" + mine + "/privacy")
			if text = pageText(page.body); !strings.Contains(text, "Retention is 36 months; the exemption allows at most 25.") || !strings.Contains(text, "kept for 36 months") {
				t.Errorf("after retention 36:\n%s", text)
			}

			// The admin's form: consent mode off again.
			saved := a.post("/sites/"+mine+"/privacy", url.Values{"privacy_page": {"https://" + mine + "/privacy"}})
			if text = pageText(saved.body); saved.StatusCode != http.StatusOK || !strings.Contains(text, "Saved the privacy settings of "+mine) ||
				!strings.Contains(text, "We count visits without asking first") || !strings.Contains(text, `id="privacy-settings"`) {
				t.Errorf("admin's form: %d\n%s", saved.StatusCode, text)
			}
		})
	}
}

// TestPrivacyCheckSeesSharing: the check reads the site's real shared links and e-mail
// recipients, so sharing figures outside the agency fails "own use" and stopping it
// brings the condition back.
func TestPrivacyCheckSeesSharing(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, db, "privacy-sharing-"+engine, "shared")
			site := e.sites[0]
			e.dash.opts.Notice = NoticeOptions{Agency: notice.Agency{Name: "Agentuur", Domains: []string{"agency.test"}}}
			admin := e.browser()
			admin.mustLogin(e.addUser("ana-sharing-"+engine+"@agency.test", auth.RoleAdmin, nil))
			ownUse := func() notice.Condition {
				t.Helper()
				var rep notice.Report
				admin.get("/api/v1/sites/"+site+"/privacy").json(t, &rep)
				for _, c := range rep.Check.Conditions {
					if c.ID == notice.CondOwnUse {
						return c
					}
				}
				t.Fatalf("no %s condition in %+v", notice.CondOwnUse, rep.Check)
				return notice.Condition{}
			}
			if c := ownUse(); !c.Met {
				t.Fatalf("nothing shared yet, own use not met: %s", c.Reason)
			}

			recipients := []string{"ana@agency.test", "cfo@partner.test"}
			if r := admin.api(http.MethodPatch, "/api/v1/sites/"+site+"/notify", map[string]any{"weekly": true, "recipients": recipients}); r.StatusCode != http.StatusOK {
				t.Fatalf("save e-mail reports: %d %s", r.StatusCode, r.body)
			}
			if c := ownUse(); c.Met || !strings.Contains(c.Reason, "cfo@partner.test") || strings.Contains(c.Reason, "ana@agency.test") {
				t.Errorf("a recipient outside the agency: met %v, %q", c.Met, c.Reason)
			}
			recipients = recipients[:1]
			if r := admin.api(http.MethodPatch, "/api/v1/sites/"+site+"/notify", map[string]any{"recipients": recipients}); r.StatusCode != http.StatusOK {
				t.Fatalf("save e-mail reports: %d %s", r.StatusCode, r.body)
			}
			if c := ownUse(); !c.Met {
				t.Errorf("only the agency receives reports, still not met: %s", c.Reason)
			}

			var link struct {
				ID string `json:"id"`
			}
			r := admin.api(http.MethodPost, "/api/v1/shares?site="+site, map[string]any{"name": "for the board"})
			r.json(t, &link)
			if c := ownUse(); c.Met || !strings.Contains(c.Reason, "for the board") {
				t.Errorf("a link anyone holding it can open: met %v, %q", c.Met, c.Reason)
			}
			if r := admin.api(http.MethodDelete, "/api/v1/shares/"+link.ID+"?site="+site, nil); r.StatusCode >= 300 {
				t.Fatalf("revoke: %d %s", r.StatusCode, r.body)
			}
			if c := ownUse(); !c.Met {
				t.Errorf("the link is revoked, still not met: %s", c.Reason)
			}
		})
	}
}
