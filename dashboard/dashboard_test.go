package dashboard

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/pquerna/otp/totp"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/store/storetest"
)

func TestLogin(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, db, "login-"+engine, "a")
			email := e.addUser("ann-"+engine+"@login.test", auth.RoleAdmin, nil)
			b := e.browser()

			r := b.login(email, "wrong password!", "")
			if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, "wrong email or password") {
				t.Fatalf("wrong password: %d %s", r.StatusCode, r.body)
			}
			if b.session() != "" {
				t.Fatal("a failed login set a session cookie")
			}
			r = b.login(email, testPassword, "")
			if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
				t.Fatalf("login: %d %s", r.StatusCode, r.body)
			}
			c := b.cookies[auth.SessionCookie]
			if c == nil || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
				t.Fatalf("session cookie attributes: %+v", c)
			}
			if len(c.Value) < 43 || c.Expires.Sub(e.clock.Now()) > auth.SessionMaxAge+time.Minute {
				t.Fatalf("session cookie value/expiry: %d chars, expires %v", len(c.Value), c.Expires)
			}
			if r := b.get("/api/v1/me"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, email) {
				t.Fatalf("me after login: %d %s", r.StatusCode, r.body)
			}
			if !e.auditHas("login", email) || !e.auditHas("login_failed", email) {
				t.Fatal("login and login_failed not in the audit log")
			}
		})
	}
}

func TestLoginFormNeedsItsToken(t *testing.T) {
	e := newEnv(t, storetest.Embedded(t), "loginform", "a")
	email := e.addUser("lf@loginform.test", auth.RoleAdmin, nil)
	b := e.browser()
	r := b.post("/login", url.Values{"email": {email}, "password": {testPassword}})
	if r.StatusCode != http.StatusForbidden || b.session() != "" {
		t.Fatalf("login without the form token: %d %s", r.StatusCode, r.body)
	}
}

func TestLoginThrottled(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, db, "throttle-"+engine, "a")
			email := e.addUser("tom-"+engine+"@throttle.test", auth.RoleManager, nil)
			b := e.browser()
			for i := range 5 {
				if r := b.login(email, "guess number "+string(rune('a'+i)), ""); r.StatusCode != http.StatusUnauthorized {
					t.Fatalf("failure %d: %d", i+1, r.StatusCode)
				}
			}
			// Locked now at this address, even with the right password; not elsewhere
			// (see TestOthersFailuresDoNotLockTheOwnerOut).
			r := b.login(email, testPassword, "")
			if r.StatusCode != http.StatusTooManyRequests || !strings.Contains(r.body, "try again in 1 minute") ||
				r.Header.Get(fiber.HeaderRetryAfter) != "60" {
				t.Fatalf("sixth attempt: %d %q %s", r.StatusCode, r.Header.Get(fiber.HeaderRetryAfter), r.body)
			}
			e.clock.Add(61 * time.Second)
			b.mustLogin(email)
		})
	}
}

func TestLoginThrottledPerAddress(t *testing.T) {
	e := newEnv(t, storetest.Server(t), "throttleaddr", "a")
	email := e.addUser("victim@throttleaddr.test", auth.RoleManager, nil)
	spray := e.browser()
	spray.addr = "203.0.113.5"
	for i := range 20 {
		spray.login("nobody"+string(rune('a'+i))+"@throttleaddr.test", "whatever-password", "")
	}
	if r := spray.login(email, testPassword, ""); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("address after 20 failures: %d", r.StatusCode)
	}
	other := e.browser()
	other.addr = "203.0.113.6"
	other.mustLogin(email)
	if !e.auditHas("login_failed", "") {
		t.Fatal("failures for unknown accounts not audited (without the email tried)")
	}
}

func TestSessionRotationAndLogout(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, db, "sess-"+engine, "a")
			email := e.addUser("sam-"+engine+"@sess.test", auth.RoleAdmin, nil)
			b := e.browser()
			b.mustLogin(email)
			first := b.session()
			b.mustLogin(email) // with the first cookie still set
			second := b.session()
			if first == second || second == "" {
				t.Fatal("session id not rotated at login")
			}
			old := e.browser()
			old.cookies[auth.SessionCookie] = &http.Cookie{Name: auth.SessionCookie, Value: first}
			if r := old.get("/api/v1/me"); r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("pre-rotation cookie still works: %d", r.StatusCode)
			}

			kept := b.session()
			if r := b.post("/logout", nil); r.StatusCode != http.StatusSeeOther || b.session() != "" {
				t.Fatalf("logout: %d, cookie %q", r.StatusCode, b.session())
			}
			replay := e.browser()
			replay.cookies[auth.SessionCookie] = &http.Cookie{Name: auth.SessionCookie, Value: kept}
			if r := replay.get("/api/v1/me"); r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("cookie works after logout: %d", r.StatusCode)
			}
			if r := replay.get("/admin/users"); r.StatusCode != http.StatusSeeOther ||
				!strings.HasPrefix(r.Header.Get("Location"), "/login?next=") {
				t.Fatalf("page after logout: %d %s", r.StatusCode, r.Header.Get("Location"))
			}
			if !e.auditHas("logout", email) {
				t.Fatal("logout not audited")
			}
		})
	}
}

func TestSessionExpires(t *testing.T) {
	e := newEnv(t, storetest.Embedded(t), "expiry", "a")
	email := e.addUser("eve@expiry.test", auth.RoleAdmin, nil)
	b := e.browser()
	b.mustLogin(email)
	for range 3 { // active: each request within the idle limit keeps it alive
		e.clock.Add(11 * time.Hour)
		if r := b.get("/api/v1/me"); r.StatusCode != http.StatusOK {
			t.Fatalf("active session ended early: %d", r.StatusCode)
		}
	}
	e.clock.Add(auth.SessionIdle + time.Minute)
	if r := b.get("/api/v1/me"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("idle session still works: %d", r.StatusCode)
	}
	b.mustLogin(email)
	for range 7 {
		e.clock.Add(23 * time.Hour)
		b.get("/api/v1/me")
	}
	if r := b.get("/api/v1/me"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("session older than %v still works: %d", auth.SessionMaxAge, r.StatusCode)
	}
}

func TestCSRF(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, db, "csrf-"+engine, "a")
			email := e.addUser("cat-"+engine+"@csrf.test", auth.RoleAdmin, nil)
			b := e.browser()
			b.mustLogin(email)
			token := b.csrf
			b.csrf = ""
			if r := b.api(http.MethodPost, "/api/v1/keys", map[string]string{"name": "x"}); r.StatusCode != http.StatusForbidden {
				t.Fatalf("API state change without token: %d %s", r.StatusCode, r.body)
			}
			if r := b.post("/admin/sites", url.Values{"domain": {"nocsrf-" + engine + ".test"}}); r.StatusCode != http.StatusForbidden {
				t.Fatalf("form without token: %d", r.StatusCode)
			}
			b.csrf = "0" + token[1:]
			if token[0] == '0' { // the wrong token must differ from the right one
				b.csrf = "1" + token[1:]
			}
			if r := b.post("/logout", nil); r.StatusCode != http.StatusForbidden {
				t.Fatalf("logout with a wrong token: %d", r.StatusCode)
			}
			b.csrf = token
			if r := b.api(http.MethodPost, "/api/v1/keys", map[string]string{"name": "x"}); r.StatusCode != http.StatusCreated {
				t.Fatalf("with token: %d %s", r.StatusCode, r.body)
			}
		})
	}
}

// stubReport stands in for dashboard/reports' handler, authorising the same way.
func stubReport(c *fiber.Ctx) error {
	if !auth.CurrentUser(c).CanRead(c.Query("site")) {
		return c.Status(fiber.StatusForbidden).JSON(fiber.Map{"error": "no access to this site"})
	}
	return c.JSON(fiber.Map{"rows": []any{}})
}

func TestManagerSeesOnlyOwnSites(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, db, "scope-"+engine, "mine", "theirs")
			mine, theirs := e.sites[0], e.sites[1]
			e.app.Get("/api/v1/stubstats", stubReport)
			email := e.addUser("max-"+engine+"@scope.test", auth.RoleManager, []string{mine})
			b := e.browser()
			b.mustLogin(email)

			var list struct {
				Sites []struct{ Domain string } `json:"sites"`
			}
			b.get("/api/v1/sites").json(t, &list)
			if len(list.Sites) != 1 || list.Sites[0].Domain != mine {
				t.Fatalf("manager's sites: %+v", list.Sites)
			}
			if r := b.get("/api/v1/stubstats?site=" + mine); r.StatusCode != http.StatusOK {
				t.Fatalf("own site: %d", r.StatusCode)
			}
			for _, path := range []string{"/api/v1/stubstats?site=" + theirs, "/api/v1/stubstats?site=unknown.test",
				"/api/v1/users", "/api/v1/audit", "/admin/users", "/admin/sites", "/admin/audit"} {
				if r := b.get(path); r.StatusCode != http.StatusForbidden {
					t.Errorf("GET %s: %d, want 403", path, r.StatusCode)
				}
			}
			if r := b.api(http.MethodPatch, "/api/v1/sites/"+theirs, map[string]any{"timezone": "UTC"}); r.StatusCode != http.StatusForbidden {
				t.Errorf("manager edits a site: %d", r.StatusCode)
			}
			if r := b.post("/admin/users", url.Values{"email": {"x@scope.test"}, "role": {"admin"}}); r.StatusCode != http.StatusForbidden {
				t.Errorf("manager adds a user: %d", r.StatusCode)
			}
		})
	}
}

func TestAPIKeys(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, db, "keys-"+engine, "a")
			email := e.addUser("kim-"+engine+"@keys.test", auth.RoleAdmin, nil)
			b := e.browser()
			b.mustLogin(email)
			var created struct{ Key, ID string }
			b.api(http.MethodPost, "/api/v1/keys", map[string]string{"name": "script"}).json(t, &created)

			script := e.browser()
			bearer := map[string]string{"Authorization": "Bearer " + created.Key, "Content-Type": "application/json"}
			if r := script.do(http.MethodGet, "/api/v1/me", nil, bearer); r.StatusCode != http.StatusOK || !strings.Contains(r.body, email) {
				t.Fatalf("key: %d %s", r.StatusCode, r.body)
			}
			// No CSRF token needed with a key; but a key cannot mint keys.
			site := "bykey-" + engine + ".test"
			if r := script.do(http.MethodPost, "/api/v1/sites", strings.NewReader(`{"domain":"`+site+`"}`), bearer); r.StatusCode != http.StatusCreated {
				t.Fatalf("add site with key: %d %s", r.StatusCode, r.body)
			}
			if r := script.do(http.MethodPost, "/api/v1/keys", strings.NewReader(`{}`), bearer); r.StatusCode != http.StatusForbidden {
				t.Fatalf("key minting a key: %d", r.StatusCode)
			}
			var keys struct{ Keys []auth.APIKey }
			b.get("/api/v1/keys").json(t, &keys)
			if len(keys.Keys) != 1 || !keys.Keys[0].Used() || strings.Contains(b.get("/api/v1/keys").body, created.Key) {
				t.Fatalf("key list: %+v", keys.Keys)
			}
			if r := b.api(http.MethodDelete, "/api/v1/keys/"+created.ID, nil); r.StatusCode != http.StatusNoContent {
				t.Fatalf("revoke: %d %s", r.StatusCode, r.body)
			}
			if r := script.do(http.MethodGet, "/api/v1/me", nil, bearer); r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("revoked key: %d", r.StatusCode)
			}
			if r := script.do(http.MethodGet, "/api/v1/me", nil, map[string]string{"Authorization": "Bearer loendur_nope"}); r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("made-up key: %d", r.StatusCode)
			}
			// A proxy's Basic auth does not hide the session.
			if r := b.do(http.MethodGet, "/api/v1/me", nil, map[string]string{"Authorization": "Basic cHJveHk6cHc="}); r.StatusCode != http.StatusOK {
				t.Fatalf("session with a Basic header: %d", r.StatusCode)
			}

			cliKey, err := auth.AddAPIKey(context.Background(), db, email)
			if err != nil {
				t.Fatal(err)
			}
			if r := script.do(http.MethodGet, "/api/v1/me", nil, map[string]string{"Authorization": "Bearer " + cliKey}); r.StatusCode != http.StatusOK {
				t.Fatalf("CLI key: %d", r.StatusCode)
			}
			if !e.auditHas("key_add", email) || !e.auditHas("key_revoke", email) || !e.auditHas("site_add", site) {
				t.Fatal("key and site changes not audited")
			}
		})
	}
}

var totpSecret = regexp.MustCompile(`Key: <code>([A-Z2-7]+)</code>`)

func TestTOTPRequiredByAdmin(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, db, "totp-"+engine, "a")
			admin := e.browser()
			admin.mustLogin(e.addUser("ada-"+engine+"@totp.test", auth.RoleAdmin, nil))
			email := e.addUser("tia-"+engine+"@totp.test", auth.RoleManager, e.sites)
			var users struct{ Users []auth.User }
			admin.get("/api/v1/users").json(t, &users)
			id := ""
			for _, u := range users.Users {
				if u.Email == email {
					id = u.ID
				}
			}
			if r := admin.api(http.MethodPatch, "/api/v1/users/"+id, map[string]any{"totp_required": true}); r.StatusCode != http.StatusOK {
				t.Fatalf("require TOTP: %d %s", r.StatusCode, r.body)
			}

			b := e.browser()
			r := b.login(email, testPassword, "")
			m := totpSecret.FindStringSubmatch(r.body)
			if r.StatusCode != http.StatusUnauthorized || m == nil || b.session() != "" {
				t.Fatalf("login without enrolment: %d %s", r.StatusCode, r.body)
			}
			code, _ := totp.GenerateCode(m[1], e.clock.Now())
			if r := b.login(email, testPassword, code); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("enrolling login: %d %s", r.StatusCode, r.body)
			}

			again := e.browser()
			if r := again.login(email, testPassword, ""); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, "6-digit code") {
				t.Fatalf("login without code: %d %s", r.StatusCode, r.body)
			}
			if r := again.login(email, testPassword, code); r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("replayed code accepted: %d", r.StatusCode)
			}
			e.clock.Add(30 * time.Second)
			code, _ = totp.GenerateCode(m[1], e.clock.Now())
			if r := again.login(email, testPassword, code); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("login with code: %d %s", r.StatusCode, r.body)
			}
			if !e.auditHas("totp_enrol", email) || !e.auditHas("user_update", email) {
				t.Fatal("TOTP enrolment or the admin's change not audited")
			}
		})
	}
}

func TestTOTPSelfEnrolment(t *testing.T) {
	e := newEnv(t, storetest.Embedded(t), "selftotp", "a")
	email := e.addUser("sid@selftotp.test", auth.RoleManager, e.sites)
	b := e.browser()
	b.mustLogin(email)
	r := b.post("/account/totp", nil)
	m := totpSecret.FindStringSubmatch(r.body)
	if m == nil || !strings.Contains(r.body, "data:image/png;base64,") {
		t.Fatalf("enrolment page: %d %s", r.StatusCode, r.body)
	}
	code, _ := totp.GenerateCode(m[1], e.clock.Now())
	if r := b.post("/account/totp/confirm", url.Values{"code": {code}}); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "is on") {
		t.Fatalf("confirm: %d %s", r.StatusCode, r.body)
	}
	e.clock.Add(30 * time.Second)
	code, _ = totp.GenerateCode(m[1], e.clock.Now())
	if r := e.browser().login(email, testPassword, code); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login with code: %d", r.StatusCode)
	}
}

func TestAdminManagesSitesAndUsers(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, db, "admin-"+engine, "a")
			admin := e.browser()
			adminEmail := e.addUser("abe-"+engine+"@admin.test", auth.RoleAdmin, nil)
			admin.mustLogin(adminEmail)

			site := "new-" + engine + ".test"
			if r := admin.post("/admin/sites", url.Values{"domain": {"https://" + strings.ToUpper(site) + "/"},
				"timezone": {"UTC"}, "retention_months": {"25"}, "honour_dnt": {"1"}}); r.StatusCode != http.StatusOK {
				t.Fatalf("add site: %d %s", r.StatusCode, r.body)
			}
			if r := admin.post("/admin/sites/"+site, url.Values{"timezone": {"Europe/Tallinn"}, "retention_months": {"13"}}); r.StatusCode != http.StatusOK {
				t.Fatalf("edit site: %d %s", r.StatusCode, r.body)
			}
			s, ok := e.dash.opts.Sites.Lookup(site)
			if !ok || s.Timezone != "Europe/Tallinn" || s.RetentionMonths != 13 || s.HonourDNT != 0 {
				t.Fatalf("site after edit: %+v", s)
			}
			if r := admin.api(http.MethodPatch, "/api/v1/sites/"+site, map[string]any{"timezone": "Mars/Olympus"}); r.StatusCode != http.StatusBadRequest ||
				!strings.Contains(r.body, "IANA") {
				t.Fatalf("bad time zone: %d %s", r.StatusCode, r.body)
			}

			userEmail := "una-" + engine + "@admin.test"
			r := admin.post("/admin/users", url.Values{"email": {userEmail}, "role": {"manager"}, "sites": {site}})
			m := regexp.MustCompile(`<code id="secret">([^<]+)</code>`).FindStringSubmatch(r.body)
			if r.StatusCode != http.StatusOK || m == nil {
				t.Fatalf("add user: %d %s", r.StatusCode, r.body)
			}
			user := e.browser()
			if r := user.login(userEmail, m[1], ""); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("generated password: %d", r.StatusCode)
			}
			id := userID(t, admin, userEmail)
			if r := admin.post("/admin/users/"+id, url.Values{"role": {"manager"}, "sites": {site}, "disabled": {"1"}}); r.StatusCode != http.StatusOK {
				t.Fatalf("disable: %d %s", r.StatusCode, r.body)
			}
			if r := user.get("/api/v1/me"); r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("disabled user's session: %d", r.StatusCode)
			}
			if r := user.login(userEmail, m[1], ""); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, "disabled") {
				t.Fatalf("disabled login: %d %s", r.StatusCode, r.body)
			}
			if r := admin.post("/admin/users/"+id+"/remove", url.Values{"confirm": {"1"}}); r.StatusCode != http.StatusOK {
				t.Fatalf("remove: %d %s", r.StatusCode, r.body)
			}
			if userID(t, admin, userEmail) != "" {
				t.Fatal("removed user still listed")
			}
			selfID := userID(t, admin, adminEmail)
			if r := admin.api(http.MethodPatch, "/api/v1/users/"+selfID, map[string]any{"disabled": true}); r.StatusCode != http.StatusBadRequest {
				t.Fatalf("admin disabled itself: %d", r.StatusCode)
			}
			for _, page := range []string{"/admin/sites", "/admin/users", "/admin/audit", "/account"} {
				if r := admin.get(page); r.StatusCode != http.StatusOK || r.Header.Get(fiber.HeaderContentSecurityPolicy) == "" {
					t.Errorf("GET %s: %d", page, r.StatusCode)
				}
			}
			audit := pageText(admin.get("/admin/audit").body)
			for _, want := range []string{"site_add", "site_update", "user_add", "user_update", "user_remove", userEmail} {
				if !strings.Contains(audit, want) {
					t.Errorf("audit page lacks %q", want)
				}
			}
		})
	}
}

func userID(t *testing.T, admin *browser, email string) string {
	t.Helper()
	var users struct{ Users []auth.User }
	admin.get("/api/v1/users").json(t, &users)
	for _, u := range users.Users {
		if u.Email == email {
			return u.ID
		}
	}
	return ""
}

func TestCLIFunctions(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, db, "cli-"+engine, "a")
			ctx := context.Background()
			u, generated, err := auth.AddUser(ctx, db, "Cleo-"+engine+"@CLI.test", auth.RoleManager, []string{e.sites[0]}, "")
			if err != nil || generated == "" || u.Email != "cleo-"+engine+"@cli.test" {
				t.Fatalf("AddUser: %+v %q %v", u, generated, err)
			}
			if r := e.browser().login(u.Email, generated, ""); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("login with the generated password: %d", r.StatusCode)
			}
			if _, _, err := auth.AddUser(ctx, db, u.Email, auth.RoleManager, nil, ""); err == nil {
				t.Fatal("duplicate email accepted")
			}
			if _, _, err := auth.AddUser(ctx, db, "x-"+engine+"@cli.test", auth.RoleManager, []string{"unregistered.test"}, ""); err == nil {
				t.Fatal("unregistered site accepted")
			}
			if _, _, err := auth.AddUser(ctx, db, "y-"+engine+"@cli.test", auth.RoleManager, nil, "short"); err == nil {
				t.Fatal("short password accepted")
			}
			pw, created, err := auth.EnsureAdmin(ctx, db, "first-"+engine+"@cli.test")
			if err != nil {
				t.Fatal(err)
			}
			if created {
				if r := e.browser().login("first-"+engine+"@cli.test", pw, ""); r.StatusCode != http.StatusSeeOther {
					t.Fatalf("first admin login: %d", r.StatusCode)
				}
			}
			if _, again, err := auth.EnsureAdmin(ctx, db, "second-"+engine+"@cli.test"); err != nil || again {
				t.Fatalf("EnsureAdmin twice: created=%v err=%v", again, err)
			}
			if !e.auditHas("user_add", u.Email) {
				t.Fatal("CLI user_add not audited")
			}
		})
	}
}

func TestLoginPageRenders(t *testing.T) {
	e := newEnv(t, storetest.Embedded(t), "render", "a")
	r := e.browser().get("/login?next=//evil.test")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `name="next" value="/"`) ||
		!strings.Contains(r.Header.Get(fiber.HeaderContentSecurityPolicy), "default-src 'self'") {
		t.Fatalf("login page: %d %s", r.StatusCode, r.body)
	}
	// The style sheet the page links is served without a session.
	sheet := regexp.MustCompile(`<link rel="stylesheet" href="([^"]+)"`).FindStringSubmatch(r.body)
	if sheet == nil {
		t.Fatalf("login page links no style sheet: %s", r.body)
	}
	if r := e.browser().get(html.UnescapeString(sheet[1])); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "prefers-color-scheme") {
		t.Fatalf("css %s: %d", sheet[1], r.StatusCode)
	}
}

func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	e := newEnv(t, storetest.Embedded(t), "passwd", "a")
	email := e.addUser("pat@passwd.test", auth.RoleManager, e.sites)
	laptop, phone := e.browser(), e.browser()
	laptop.mustLogin(email)
	phone.mustLogin(email)
	if r := laptop.post("/account/password", url.Values{"current": {"not it at all"}, "new": {"a brand new passphrase"}}); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("wrong current password: %d", r.StatusCode)
	}
	r := laptop.post("/account/password", url.Values{"current": {testPassword}, "new": {"a brand new passphrase"}})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("change: %d %s", r.StatusCode, r.body)
	}
	if r := laptop.get("/api/v1/me"); r.StatusCode != http.StatusOK {
		t.Fatalf("changing browser signed out: %d", r.StatusCode)
	}
	if r := phone.get("/api/v1/me"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("other session survived the change: %d", r.StatusCode)
	}
	if r := e.browser().login(email, "a brand new passphrase", ""); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("new password: %d", r.StatusCode)
	}
}
