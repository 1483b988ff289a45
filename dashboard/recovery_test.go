package dashboard

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"net/http"

	"github.com/pquerna/otp/totp"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/store/storetest"
)

var recoveryCodes = regexp.MustCompile(`<code id="secret">([^<]+)</code>`)

// Turning two-factor sign-in on gives 10 recovery codes, shown once; each signs in
// once instead of an authenticator code; new ones replace the old.
func TestTOTPRecoveryCodes(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, db, "recov-"+engine, "a")
			email := e.addUser("rey-"+engine+"@recov.test", auth.RoleManager, e.sites)
			b := e.browser()
			b.mustLogin(email)
			m := totpSecret.FindStringSubmatch(b.post("/account/totp", nil).body)
			if m == nil {
				t.Fatal("no enrolment key")
			}
			code, _ := totp.GenerateCode(m[1], e.clock.Now())
			r := b.post("/account/totp/confirm", url.Values{"code": {code}})
			c := recoveryCodes.FindStringSubmatch(r.body)
			if r.StatusCode != http.StatusOK || c == nil || !strings.Contains(r.body, "shown only this once") {
				t.Fatalf("turning it on shows no recovery codes: %d %s", r.StatusCode, r.body)
			}
			codes := strings.Fields(c[1])
			if len(codes) != 10 {
				t.Fatalf("%d recovery codes, want 10: %q", len(codes), c[1])
			}
			if again := b.get("/account"); recoveryCodes.MatchString(again.body) || !strings.Contains(again.body, "10 of 10 left") {
				t.Errorf("a reload shows the codes again, or not the count")
			}
			var stored []struct {
				N uint64 `ch:"n"`
			}
			if err := db.Select(t.Context(), &stored, "SELECT count() AS n FROM totp_recovery_codes WHERE code_hash IN (?, ?)", codes[0], strings.ReplaceAll(codes[0], "-", "")); err != nil || stored[0].N != 0 {
				t.Errorf("a code is stored in clear: %v %v", stored, err)
			}

			// Upper case and without the dash, as people type.
			typed := strings.ToUpper(strings.ReplaceAll(codes[3], "-", ""))
			if r := e.browser().login(email, testPassword, typed); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign-in with a recovery code: %d %s", r.StatusCode, r.body)
			}
			if r := e.browser().login(email, testPassword, codes[3]); r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("the same recovery code a second time: %d", r.StatusCode)
			}
			if !e.auditHas("recovery_code_used", email) || !e.auditHas("recovery_codes_new", email) {
				t.Error("recovery codes not audited")
			}
			if p := b.get("/account"); !strings.Contains(p.body, "9 of 10 left") {
				t.Error("the account page does not count the spent code")
			}

			// New codes, with a current authenticator code; the old ones stop working.
			e.clock.Add(30 * time.Second)
			code, _ = totp.GenerateCode(m[1], e.clock.Now())
			r = b.post("/account/totp/recovery", url.Values{"code": {code}})
			c = recoveryCodes.FindStringSubmatch(r.body)
			if r.StatusCode != http.StatusOK || c == nil || len(strings.Fields(c[1])) != 10 {
				t.Fatalf("new recovery codes: %d %s", r.StatusCode, r.body)
			}
			if r := e.browser().login(email, testPassword, codes[5]); r.StatusCode != http.StatusUnauthorized {
				t.Errorf("an old recovery code still works: %d", r.StatusCode)
			}
			if r := e.browser().login(email, testPassword, strings.Fields(c[1])[0]); r.StatusCode != http.StatusSeeOther {
				t.Errorf("a new recovery code: %d", r.StatusCode)
			}
			if r := b.post("/account/totp/recovery", url.Values{"code": {"000000"}}); r.StatusCode != http.StatusUnauthorized && r.StatusCode != http.StatusBadRequest {
				t.Errorf("new codes with a wrong code: %d", r.StatusCode)
			}
		})
	}
}

// Enrolling at sign-in (an admin requires it) shows the recovery codes after it, once.
func TestTOTPRecoveryCodesAtEnrolment(t *testing.T) {
	e := newEnv(t, storetest.Server(t), "recenrol", "a")
	admin := e.browser()
	admin.mustLogin(e.addUser("ada@recenrol.test", auth.RoleAdmin, nil))
	email := e.addUser("ena@recenrol.test", auth.RoleManager, e.sites)
	id := userID(t, admin, email)
	if r := admin.api(http.MethodPatch, "/api/v1/users/"+id, map[string]any{"totp_required": true}); r.StatusCode != http.StatusOK {
		t.Fatalf("require TOTP: %d", r.StatusCode)
	}
	b := e.browser()
	m := totpSecret.FindStringSubmatch(b.login(email, testPassword, "").body)
	if m == nil {
		t.Fatal("no enrolment key at sign-in")
	}
	code, _ := totp.GenerateCode(m[1], e.clock.Now())
	r := b.login(email, testPassword, code)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account" {
		t.Fatalf("enrolling sign-in: %d %q, want 303 to /account", r.StatusCode, r.Header.Get("Location"))
	}
	page := b.get("/account")
	c := recoveryCodes.FindStringSubmatch(page.body)
	if c == nil || len(strings.Fields(c[1])) != 10 {
		t.Fatalf("account page after enrolling: %s", page.body)
	}
	if r := e.browser().login(email, testPassword, strings.Fields(c[1])[9]); r.StatusCode != http.StatusSeeOther {
		t.Errorf("sign-in with a recovery code of the enrolment: %d", r.StatusCode)
	}
}
