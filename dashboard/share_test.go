package dashboard

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/shares"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

// shareFixture stores page views of site on a page only it has (/only-SITE), on the
// days before the test clock's now.
func shareFixture(t *testing.T, e *testEnv, site, page string) {
	t.Helper()
	var evs []store.Event
	for i := range 3 {
		evs = append(evs, store.Event{EventID: uuid.New(), Site: site, Hostname: site, Pathname: page,
			Timestamp: e.clock.Now().Add(-time.Duration(24*(i+1)) * time.Hour), Name: "pageview",
			VisitorID: uint64(700 + i), SessionID: uint64(7000 + i), IP: "203.0.0.0"})
	}
	if err := store.InsertEvents(context.Background(), e.db, evs); err != nil {
		t.Fatal(err)
	}
}

// createLink makes a link through the staff API as b (signed in) and returns its path.
func createLink(t *testing.T, b *browser, site string, in map[string]any) (string, linkView) {
	t.Helper()
	r := b.api(http.MethodPost, "/api/v1/shares?site="+url.QueryEscape(site), in)
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("create link: %d %s", r.StatusCode, r.body)
	}
	var v linkView
	r.json(t, &v)
	if !strings.HasPrefix(v.Path, shares.PathPrefix) || len(v.Path) < len(shares.PathPrefix)+43 {
		t.Fatalf("link path %q", v.Path)
	}
	return v.Path, v
}

// A shared link shows its one site's reports and nothing else: no other site through
// any parameter of its API, no staff page or API, no CSV unless allowed.
func TestSharedLinkReachesOnlyItsSite(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, db, "shareonly-"+engine, "a", "b")
			a, other := e.sites[0], e.sites[1]
			shareFixture(t, e, a, "/only-a")
			shareFixture(t, e, other, "/only-b")
			admin := e.browser()
			admin.mustLogin(e.addUser("ada-"+engine+"@shareonly.test", auth.RoleAdmin, nil))
			// A funnel of the other site, whose id a link's visitor could try.
			r := admin.api(http.MethodPost, "/api/v1/funnels?site="+other, map[string]any{"name": "B",
				"steps": []map[string]string{{"type": "page", "value": "/only-b"}, {"type": "page", "value": "/"}}})
			if r.StatusCode != http.StatusCreated {
				t.Fatalf("funnel: %d %s", r.StatusCode, r.body)
			}
			var funnel struct{ ID string }
			r.json(t, &funnel)
			path, _ := createLink(t, admin, a, map[string]any{"name": "client"})

			v := e.browser() // the client: no account, no cookie
			v.addr = "198.51.100.7"
			page := v.get(path)
			if page.StatusCode != http.StatusOK || !strings.Contains(page.body, `data-site="`+a+`"`) ||
				!strings.Contains(page.body, `data-api="`+path+`/api/stats/"`) || !strings.Contains(page.body, `data-csv="false"`) {
				t.Fatalf("shared page: %d %s", page.StatusCode, page.body)
			}
			for _, staff := range []string{"/admin", "/account", "logout", "account-menu", "site-menu", other, "/shares/"} {
				if strings.Contains(page.body, staff) {
					t.Errorf("shared page mentions %q", staff)
				}
			}
			if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") ||
				page.Header.Get("X-Frame-Options") != "DENY" {
				t.Errorf("a link without embed origins is framable: %q %q", csp, page.Header.Get("X-Frame-Options"))
			}

			api := path + "/api/stats/top-pages?period=30d"
			var ans struct {
				Site string
				Rows []map[string]any
			}
			r = v.get(api)
			r.json(t, &ans)
			if r.StatusCode != http.StatusOK || ans.Site != a || !strings.Contains(r.body, "/only-a") {
				t.Fatalf("link's own report: %d %s", r.StatusCode, r.body)
			}
			// Every way of naming another site: refused, or answered for the link's site.
			for _, q := range []string{"&site=" + other, "&site=" + strings.ToUpper(other), "&site=www." + other,
				"&site=" + other + "&site=" + a, "&site=" + a + "&site=" + other, "&site=" + url.QueryEscape(other+"\x00"),
				"&site=" + url.QueryEscape(a+","+other), "&filters=" + url.QueryEscape("page==/only-b"),
				"&site=" + url.QueryEscape(" "+other), "&site=" + url.QueryEscape("https://"+other+"/")} {
				for _, rep := range []string{"top-pages", "overview", "sources", "realtime"} {
					r := v.get(path + "/api/stats/" + rep + "?period=30d" + q)
					if r.StatusCode != http.StatusOK {
						if strings.Contains(r.body, "/only-b") || strings.Contains(r.body, other) {
							t.Errorf("%s%s: refusal names the other site: %d %s", rep, q, r.StatusCode, r.body)
						}
						continue
					}
					var got struct {
						Site    string
						Rows    []map[string]any
						Metrics map[string]struct{ Value float64 }
					}
					r.json(t, &got)
					rows, _ := json.Marshal(got.Rows)
					if got.Site != a || strings.Contains(string(rows), "/only-b") || got.Metrics["visitors"].Value > 0 && strings.Contains(q, "only-b") {
						t.Errorf("%s%s reached the other site: %d %s", rep, q, r.StatusCode, r.body)
					}
				}
			}
			if r := v.get(path + "/api/stats/top-pages?period=30d&site=" + other); r.StatusCode != http.StatusForbidden {
				t.Errorf("?site=other: %d %s", r.StatusCode, r.body)
			}
			if r := v.get(path + "/api/funnels?site=" + other); r.StatusCode != http.StatusForbidden {
				t.Errorf("other site's funnels: %d %s", r.StatusCode, r.body)
			}
			if r := v.get(path + "/api/stats/funnel?period=30d&funnel=" + funnel.ID); r.StatusCode != http.StatusNotFound ||
				strings.Contains(r.body, "/only-b") {
				t.Errorf("other site's funnel by id: %d %s", r.StatusCode, r.body)
			}
			// CSV is off for this link.
			for _, q := range []string{"&format=csv", "&format=csv&site=" + other} {
				if r := v.get(api + q); r.StatusCode != http.StatusForbidden || strings.Contains(r.body, "/only") {
					t.Errorf("CSV of a link without CSV: %d %s", r.StatusCode, r.body)
				}
			}
			// The link's visitor has no staff access of any kind.
			for _, p := range []string{"/api/v1/stats/top-pages?period=30d&site=" + a, "/api/v1/stats/top-pages?period=30d&site=" + other,
				"/api/v1/sites", "/api/v1/me", "/api/v1/keys", "/api/v1/shares?site=" + a} {
				if r := v.get(p); r.StatusCode != http.StatusUnauthorized {
					t.Errorf("GET %s from a link's visitor: %d %s", p, r.StatusCode, r.body)
				}
			}
			if r := v.api(http.MethodPost, "/api/v1/keys", map[string]string{"name": "x"}); r.StatusCode != http.StatusUnauthorized {
				t.Errorf("key creation from a link's visitor: %d %s", r.StatusCode, r.body)
			}
			if r := v.api(http.MethodPost, path+"/api/funnels?site="+a, map[string]any{"name": "x"}); r.StatusCode < 400 {
				t.Errorf("funnel creation through a link: %d %s", r.StatusCode, r.body)
			}
			for _, p := range []string{"/admin/users", "/admin/sites", "/account", "/sites/" + a, "/shares/" + a, "/"} {
				if r := v.get(p); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
					t.Errorf("GET %s from a link's visitor: %d %s", p, r.StatusCode, r.Header.Get("Location"))
				}
			}

			// A link that allows CSV downloads its own site's rows only.
			csvPath, _ := createLink(t, admin, a, map[string]any{"name": "with csv", "csv": true})
			rows := csvAnswer(t, "link CSV", v.get(csvPath+"/api/stats/top-pages?period=30d&format=csv"))
			if len(rows) != 2 || rows[1][0] != "/only-a" {
				t.Errorf("link CSV rows: %q", rows)
			}
			if r := v.get(csvPath + "/api/stats/top-pages?period=30d&format=csv&site=" + other); r.StatusCode != http.StatusForbidden {
				t.Errorf("CSV of the other site: %d %s", r.StatusCode, r.body)
			}
		})
	}
}

// An unknown, a malformed, a revoked and an expired link get one and the same answer.
func TestSharedLinksGoneLookTheSame(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, db, "sharegone-"+engine, "a")
			admin := e.browser()
			admin.mustLogin(e.addUser("gus-"+engine+"@sharegone.test", auth.RoleAdmin, nil))
			revoked, rv := createLink(t, admin, e.sites[0], map[string]any{"name": "revoked"})
			tomorrow := e.clock.Now().UTC().Format(time.DateOnly)
			expiring, _ := createLink(t, admin, e.sites[0], map[string]any{"name": "expiring", "expires": tomorrow})
			v := e.browser()
			if r := v.get(revoked); r.StatusCode != http.StatusOK {
				t.Fatalf("link before revocation: %d", r.StatusCode)
			}
			if r := v.get(expiring); r.StatusCode != http.StatusOK {
				t.Fatalf("link before expiry: %d", r.StatusCode)
			}
			if r := admin.api(http.MethodDelete, "/api/v1/shares/"+rv.ID+"?site="+e.sites[0], nil); r.StatusCode != http.StatusNoContent {
				t.Fatalf("revoke: %d %s", r.StatusCode, r.body)
			}
			if r := admin.api(http.MethodDelete, "/api/v1/shares/"+rv.ID+"?site="+e.sites[0], nil); r.StatusCode != http.StatusNotFound {
				t.Errorf("revoke twice: %d %s", r.StatusCode, r.body)
			}
			e.clock.Add(48 * time.Hour)
			unknown := shares.PathPrefix + strings.Repeat("A", 43)
			malformed := shares.PathPrefix + "nope"
			for _, suffix := range []string{"", "/api/stats/overview?period=7d", "/api/funnels"} {
				want := v.get(unknown + suffix)
				if want.StatusCode != http.StatusNotFound {
					t.Fatalf("unknown link%s: %d %s", suffix, want.StatusCode, want.body)
				}
				for name, p := range map[string]string{"malformed": malformed, "revoked": revoked, "expired": expiring} {
					r := v.get(p + suffix)
					if r.StatusCode != want.StatusCode || r.body != want.body || r.Header.Get("Content-Type") != want.Header.Get("Content-Type") ||
						r.Header.Get("Content-Security-Policy") != want.Header.Get("Content-Security-Policy") {
						t.Errorf("%s link%s: %d %q, unknown: %d %q", name, suffix, r.StatusCode, r.body, want.StatusCode, want.body)
					}
				}
			}
			if r := v.post(revoked, url.Values{"password": {"anything at all"}}); r.StatusCode != http.StatusNotFound {
				t.Errorf("password to a revoked link: %d", r.StatusCode)
			}
		})
	}
}

// A password-protected link asks for it (the page and the API), refuses a wrong one,
// opens with the right one in that browser only, and throttles guesses like sign-ins.
func TestSharedLinkPassword(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, db, "sharepw-"+engine, "a")
			shareFixture(t, e, e.sites[0], "/only-a")
			admin := e.browser()
			admin.mustLogin(e.addUser("pat-"+engine+"@sharepw.test", auth.RoleAdmin, nil))
			if r := admin.api(http.MethodPost, "/api/v1/shares?site="+e.sites[0], map[string]any{"password": "short"}); r.StatusCode != http.StatusBadRequest {
				t.Errorf("short password: %d %s", r.StatusCode, r.body)
			}
			const pw = "client sees figures"
			path, lv := createLink(t, admin, e.sites[0], map[string]any{"name": "locked", "password": pw})
			other, _ := createLink(t, admin, e.sites[0], map[string]any{"name": "other locked", "password": pw})
			if !lv.Password {
				t.Fatal("link not marked as password-protected")
			}
			api := path + "/api/stats/top-pages?period=30d"

			v := e.browser()
			v.addr = "198.51.100.20"
			if r := v.get(path); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, `name="password"`) ||
				strings.Contains(r.body, "data-site") {
				t.Fatalf("locked page: %d %s", r.StatusCode, r.body)
			}
			if r := v.get(api); r.StatusCode != http.StatusUnauthorized || strings.Contains(r.body, "/only-a") {
				t.Fatalf("locked API: %d %s", r.StatusCode, r.body)
			}
			if r := v.post(path, url.Values{"password": {"wrong password!"}}); r.StatusCode != http.StatusUnauthorized ||
				!strings.Contains(r.body, "wrong password") || v.cookies[shareCookie] != nil {
				t.Fatalf("wrong password: %d %s", r.StatusCode, r.body)
			}
			r := v.post(path, url.Values{"password": {pw}})
			if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != path {
				t.Fatalf("right password: %d %s", r.StatusCode, r.body)
			}
			ck := v.cookies[shareCookie]
			if ck == nil || !ck.HttpOnly || ck.Path != path || ck.SameSite != http.SameSiteLaxMode || strings.Contains(ck.Value, pw) {
				t.Fatalf("unlock cookie: %+v", ck)
			}
			// In a frame of another site only a SameSite=None cookie comes back.
			embedded, _ := createLink(t, admin, e.sites[0], map[string]any{"password": pw, "embed_origins": []string{"https://intranet.example"}})
			fr := e.browser()
			if r := fr.post(embedded, url.Values{"password": {pw}}); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("embeddable link's password: %d", r.StatusCode)
			}
			if c := fr.cookies[shareCookie]; c == nil || c.SameSite != http.SameSiteNoneMode || !c.Secure || c.Path != embedded {
				t.Errorf("embeddable link's unlock cookie: %+v", c)
			}
			if r := fr.get(embedded); r.StatusCode != http.StatusOK || !strings.Contains(r.Header.Get("Content-Security-Policy"), "frame-ancestors https://intranet.example;") {
				t.Errorf("embeddable link after its password: %d %q", r.StatusCode, r.Header.Get("Content-Security-Policy"))
			}
			if r := v.get(path); r.StatusCode != http.StatusOK || !strings.Contains(r.body, `data-site="`+e.sites[0]+`"`) {
				t.Fatalf("unlocked page: %d %s", r.StatusCode, r.body)
			}
			if r := v.get(api); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "/only-a") {
				t.Fatalf("unlocked API: %d %s", r.StatusCode, r.body)
			}
			// The cookie opens its own link only, even sent on purpose to another.
			forged := e.browser()
			forged.cookies[shareCookie] = &http.Cookie{Name: shareCookie, Value: ck.Value}
			if r := forged.get(other); r.StatusCode != http.StatusUnauthorized {
				t.Errorf("one link's cookie opened another: %d", r.StatusCode)
			}
			forged.cookies[shareCookie] = &http.Cookie{Name: shareCookie, Value: "9999999999." + strings.Repeat("0", 64)}
			if r := forged.get(path); r.StatusCode != http.StatusUnauthorized {
				t.Errorf("a made-up cookie opened the link: %d", r.StatusCode)
			}
			// It wears off.
			e.clock.Add(unlockedFor + time.Minute)
			if r := v.get(path); r.StatusCode != http.StatusUnauthorized {
				t.Errorf("unlock after %v: %d", unlockedFor, r.StatusCode)
			}

			// Guessing: 5 failures lock this address out of this link, right password or not.
			g := e.browser()
			g.addr = "203.0.113.50"
			for i := range 5 {
				if r := g.post(path, url.Values{"password": {"guess number " + string(rune('a'+i))}}); r.StatusCode != http.StatusUnauthorized {
					t.Fatalf("guess %d: %d", i+1, r.StatusCode)
				}
			}
			r = g.post(path, url.Values{"password": {pw}})
			if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "60" || g.cookies[shareCookie] != nil ||
				!strings.Contains(r.body, "try again in 1 minute") {
				t.Fatalf("sixth attempt: %d %q %s", r.StatusCode, r.Header.Get("Retry-After"), r.body)
			}
			if r := v.post(path, url.Values{"password": {pw}}); r.StatusCode != http.StatusSeeOther {
				t.Errorf("another address was locked out too: %d", r.StatusCode)
			}
			e.clock.Add(61 * time.Second)
			if r := g.post(path, url.Values{"password": {pw}}); r.StatusCode != http.StatusSeeOther {
				t.Errorf("after the lock: %d %s", r.StatusCode, r.body)
			}
		})
	}
}

// Who may make links: admins; a client manager only for their sites, and only where an
// admin allows it; never with an API key. Each change is audited, and the list shows
// last use.
func TestShareManagement(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, db, "sharemgmt-"+engine, "a", "b")
			a, b := e.sites[0], e.sites[1]
			adminEmail := e.addUser("amy-"+engine+"@sharemgmt.test", auth.RoleAdmin, nil)
			mgrEmail := e.addUser("max-"+engine+"@sharemgmt.test", auth.RoleManager, []string{a})
			admin, mgr := e.browser(), e.browser()
			admin.mustLogin(adminEmail)
			mgr.mustLogin(mgrEmail)

			if r := mgr.api(http.MethodPost, "/api/v1/shares?site="+a, map[string]any{"name": "x"}); r.StatusCode != http.StatusForbidden ||
				!strings.Contains(r.body, "not allowed client managers") {
				t.Fatalf("manager before the admin allows it: %d %s", r.StatusCode, r.body)
			}
			if r := mgr.get("/sites/" + a); r.StatusCode != http.StatusOK || strings.Contains(r.body, "/shares/") {
				t.Errorf("report page offers sharing to a manager not allowed to: %d", r.StatusCode)
			}
			if r := mgr.api(http.MethodPut, "/api/v1/shares/settings?site="+a, map[string]any{"managers_may_share": true}); r.StatusCode != http.StatusForbidden {
				t.Fatalf("manager changes the setting: %d %s", r.StatusCode, r.body)
			}
			if r := admin.api(http.MethodPut, "/api/v1/shares/settings?site="+a, map[string]any{"managers_may_share": true}); r.StatusCode != http.StatusOK {
				t.Fatalf("admin allows managers: %d %s", r.StatusCode, r.body)
			}
			if r := mgr.get("/sites/" + a); !strings.Contains(r.body, `href="/shares/`+a+`"`) {
				t.Errorf("report page does not offer sharing to an allowed manager")
			}
			path, lv := createLink(t, mgr, a, map[string]any{"name": "by manager", "expires": "2099-12-31",
				"embed_origins": []string{"https://Intranet.Client.example/", "http://localhost:8081"}})
			if lv.CreatedBy != mgrEmail || len(lv.EmbedOrigins) != 2 || lv.EmbedOrigins[0] != "https://intranet.client.example" ||
				lv.Expires != "2100-01-01T00:00:00Z" {
				t.Errorf("created link: %+v", lv)
			}
			if r := mgr.api(http.MethodPost, "/api/v1/shares?site="+b, map[string]any{"name": "x"}); r.StatusCode != http.StatusForbidden {
				t.Errorf("manager shares a site not theirs: %d %s", r.StatusCode, r.body)
			}
			for _, bad := range []map[string]any{
				{"embed_origins": []string{"https://a.example; script-src *"}}, {"embed_origins": []string{"*"}},
				{"embed_origins": []string{"https://a.example/path"}}, {"embed_origins": []string{"javascript:alert(1)"}},
				{"expires": "yesterday"}, {"expires": "2001-01-01"}, {"expires": "2100-01-01"}, {"name": strings.Repeat("n", 101)},
			} {
				if r := admin.api(http.MethodPost, "/api/v1/shares?site="+a, bad); r.StatusCode != http.StatusBadRequest {
					t.Errorf("bad link %v: %d %s", bad, r.StatusCode, r.body)
				}
			}
			// An API key reads links but cannot publish or revoke any.
			keyResp := admin.api(http.MethodPost, "/api/v1/keys", map[string]string{"name": "k"})
			var key struct{ Key string }
			keyResp.json(t, &key)
			bearer := map[string]string{"Authorization": "Bearer " + key.Key, "Content-Type": "application/json"}
			if r := admin.e.browser().do(http.MethodPost, "/api/v1/shares?site="+a, strings.NewReader(`{"name":"k"}`), bearer); r.StatusCode != http.StatusForbidden {
				t.Errorf("link created with an API key: %d %s", r.StatusCode, r.body)
			}

			// The embed origins are the frame ancestors of that link's pages only.
			page := e.browser().get(path)
			csp := page.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "frame-ancestors https://intranet.client.example http://localhost:8081;") ||
				page.Header.Get("X-Frame-Options") != "" {
				t.Errorf("embeddable link headers: %q %q", csp, page.Header.Get("X-Frame-Options"))
			}
			if r := mgr.get("/sites/" + a); !strings.Contains(r.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
				r.Header.Get("X-Frame-Options") != "DENY" {
				t.Errorf("staff report page framable: %q", r.Header.Get("Content-Security-Policy"))
			}

			// Listed with last use; active ones readable by the privacy notice.
			var list struct {
				ManagersMayShare bool       `json:"managers_may_share"`
				Links            []linkView `json:"links"`
			}
			r := mgr.get("/api/v1/shares?site=" + a)
			r.json(t, &list)
			if r.StatusCode != http.StatusOK || !list.ManagersMayShare || len(list.Links) != 1 || list.Links[0].LastUsed == "" ||
				list.Links[0].Path != "" {
				t.Fatalf("list: %d %s", r.StatusCode, r.body)
			}
			active, err := shares.ListActive(context.Background(), db, a, e.clock.Now())
			if err != nil || len(active) != 1 || len(active[0].EmbedOrigins) != 2 {
				t.Fatalf("ListActive: %+v %v", active, err)
			}
			if r := mgr.api(http.MethodDelete, "/api/v1/shares/"+lv.ID+"?site="+a, nil); r.StatusCode != http.StatusNoContent {
				t.Fatalf("manager revokes: %d %s", r.StatusCode, r.body)
			}
			if active, err := shares.ListActive(context.Background(), db, a, e.clock.Now()); err != nil || len(active) != 0 {
				t.Fatalf("ListActive after revocation: %+v %v", active, err)
			}

			// The staff page: create, see once, revoke.
			r = admin.post("/shares/"+a, url.Values{"name": {"from the page"}, "csv": {"1"}, "embed_origins": {"https://x.example https://y.example"}})
			if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `<code id="secret">http://example.com/share/`) ||
				!strings.Contains(r.body, "from the page") || !strings.Contains(r.body, "embeddable in https://x.example, https://y.example") {
				t.Fatalf("create from the page: %d %s", r.StatusCode, r.body)
			}
			if r := mgr.get("/shares/" + b); r.StatusCode != http.StatusForbidden {
				t.Errorf("manager's page of another site: %d", r.StatusCode)
			}

			for _, want := range [][2]string{{"share_settings", a}, {"share_add", a}, {"share_revoke", a}} {
				if !e.auditHas(want[0], want[1]) {
					t.Errorf("audit log has no %s for %s", want[0], want[1])
				}
			}
			var entries []struct {
				Actor  string `ch:"actor"`
				Detail string `ch:"detail"`
			}
			if err := db.Select(context.Background(), &entries, "SELECT actor, detail FROM audit_log WHERE action = 'share_add' AND target = ?", a); err != nil {
				t.Fatal(err)
			}
			raw, _ := json.Marshal(entries)
			if !strings.Contains(string(raw), mgrEmail) || !strings.Contains(string(raw), "embed https://intranet.client.example") ||
				strings.Contains(string(raw), strings.TrimPrefix(path, shares.PathPrefix)) {
				t.Errorf("share_add entries: %s", raw)
			}
		})
	}
}
