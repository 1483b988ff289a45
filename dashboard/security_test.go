package dashboard

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/store/storetest"
)

// serve runs the env's app on a loopback port and returns its origin.
func (e *testEnv) serve() string {
	e.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	go func() { _ = e.app.Listener(ln) }()
	e.t.Cleanup(func() { _ = e.app.Shutdown() })
	return "http://" + ln.Addr().String()
}

// loginForm returns the login form's token and the cookie it must come with.
func (e *testEnv) loginForm() (token string, cookie *http.Cookie) {
	e.t.Helper()
	b := e.browser()
	m := csrfField.FindStringSubmatch(b.get("/login").body)
	if m == nil || b.cookies[auth.LoginCookie] == nil {
		e.t.Fatal("the login page has no form token")
	}
	return m[1], b.cookies[auth.LoginCookie]
}

type burstResult struct {
	status  int
	session bool // the answer set a session cookie
}

// postLogin sends one login over a real connection.
func postLogin(client *http.Client, origin, addr, token string, cookie *http.Cookie, email, password string) (burstResult, error) {
	form := url.Values{"csrf": {token}, "email": {email}, "password": {password}}
	req, err := http.NewRequest(http.MethodPost, origin+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return burstResult{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Test-Addr", addr)
	req.AddCookie(cookie)
	resp, err := client.Do(req)
	if err != nil {
		return burstResult{}, err
	}
	defer resp.Body.Close()
	r := burstResult{status: resp.StatusCode}
	for _, c := range resp.Cookies() {
		r.session = r.session || c.Name == auth.SessionCookie && c.Value != ""
	}
	return r, nil
}

// TestConcurrentLoginsAreThrottled sends 40 wrong passwords and the right one at the
// same moment, as the probe did: the throttle must count them as they arrive, so most
// are refused unchecked, and once the limit is hit the right password gets no session.
func TestConcurrentLoginsAreThrottled(t *testing.T) {
	e := newEnv(t, storetest.Server(t), "burst", "a")
	email := e.addUser("bo@burst.test", auth.RoleAdmin, nil)
	origin := e.serve()
	token, cookie := e.loginForm()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()

	const wrong = 40
	results := make([]burstResult, wrong+1) // the last one has the right password
	errs := make([]error, wrong+1)
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	for i := range results {
		ready.Add(1)
		done.Go(func() {
			password := "guess number " + string(rune('A'+i))
			if i == wrong {
				password = testPassword
			}
			ready.Done()
			<-start
			results[i], errs[i] = postLogin(client, origin, "198.51.100.20", token, cookie, email, password)
		})
	}
	ready.Wait()
	close(start)
	done.Wait()

	counts := map[int]int{}
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		counts[r.status]++
	}
	t.Logf("answers to the burst: %v", counts)
	if counts[http.StatusTooManyRequests] < wrong-5 {
		t.Errorf("%d of %d parallel attempts refused with 429, want at least %d", counts[http.StatusTooManyRequests], wrong+1, wrong-5)
	}
	if checked := counts[http.StatusUnauthorized] + counts[http.StatusSeeOther]; checked > 5 {
		t.Errorf("%d passwords of the burst were checked, want at most the 5 allowed", checked)
	}
	if n := counts[http.StatusUnauthorized] + counts[http.StatusSeeOther] + counts[http.StatusTooManyRequests]; n != wrong+1 {
		t.Errorf("unexpected answers: %v", counts)
	}
	right := results[wrong]
	if right.status != http.StatusSeeOther && right.session {
		t.Errorf("the right password was refused (%d) yet got a session cookie", right.status)
	}

	// Once the limit is hit (a wrong password answers 429), the right one gets nothing.
	limited := false
	for i := 0; i < 6 && !limited; i++ {
		r, err := postLogin(client, origin, "198.51.100.20", token, cookie, email, "one more guess "+string(rune('a'+i)))
		if err != nil {
			t.Fatal(err)
		}
		limited = r.status == http.StatusTooManyRequests
	}
	if !limited {
		t.Fatal("no 429 after the burst and 6 more wrong passwords")
	}
	r, err := postLogin(client, origin, "198.51.100.20", token, cookie, email, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if r.status != http.StatusTooManyRequests || r.session {
		t.Fatalf("right password after the limit: %d, session cookie %v", r.status, r.session)
	}
}

// TestOthersFailuresDoNotLockTheOwnerOut: a guesser elsewhere locks only themselves;
// the account's slower overall limit stops guessing spread over many addresses, but
// not the owner at an address they signed in from before.
func TestOthersFailuresDoNotLockTheOwnerOut(t *testing.T) {
	e := newEnv(t, storetest.Server(t), "owner", "a")
	email := e.addUser("olga@owner.test", auth.RoleAdmin, nil)
	owner := e.browser()
	owner.addr = "192.0.2.10"
	owner.mustLogin(email) // the owner's usual address

	attacker := e.browser()
	attacker.addr = "198.51.100.7"
	for i := range 8 {
		r := attacker.login(email, "guess "+string(rune('a'+i)), "")
		if want := map[bool]int{true: http.StatusUnauthorized, false: http.StatusTooManyRequests}[i < 5]; r.StatusCode != want {
			t.Fatalf("attacker's attempt %d: %d, want %d", i+1, r.StatusCode, want)
		}
	}
	if r := attacker.login(email, testPassword, ""); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("locked address with the right password: %d", r.StatusCode)
	}
	owner.mustLogin(email)
	traveller := e.browser()
	traveller.addr = "203.0.113.99"
	traveller.mustLogin(email) // not locked elsewhere either, before the overall limit

	// IPv6: one subscriber's /64 counts as one address.
	v6 := e.browser()
	for i := range 6 {
		v6.addr = fmt.Sprintf("2001:db8:77:1::%x", i+10)
		r := v6.login(email, fmt.Sprint("v6 guess ", i), "")
		if want := map[bool]int{true: http.StatusUnauthorized, false: http.StatusTooManyRequests}[i < 5]; r.StatusCode != want {
			t.Fatalf("attempt %d from %s: %d, want %d", i+1, v6.addr, r.StatusCode, want)
		}
	}
	v6.addr = "2001:db8:77:1::ffff"
	if r := v6.login(email, testPassword, ""); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("another address of the locked /64: %d", r.StatusCode)
	}

	// Guessing from many addresses, four each, until the overall limit bites: then a
	// new address is refused even with the right password, the usual one is not.
	refused := false
	for n := 0; n < 20 && !refused; n++ {
		spread := e.browser()
		spread.addr = fmt.Sprintf("203.0.113.%d", n+1)
		for i := 0; i < 4 && !refused; i++ {
			refused = spread.login(email, "spread guess "+string(rune('a'+i)), "").StatusCode == http.StatusTooManyRequests
		}
	}
	if !refused {
		t.Fatal("80 failures from 20 addresses never hit the account's overall limit")
	}
	fresh := e.browser()
	fresh.addr = "203.0.113.200"
	if r := fresh.login(email, testPassword, ""); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("new address past the overall limit: %d", r.StatusCode)
	}
	owner.mustLogin(email)
	e.clock.Add(time.Hour + time.Minute)
	fresh.mustLogin(email)
}

// TestNextRejectsWhatBrowsersRewrite: browsers drop a TAB or line break inside a URL
// and read "\" as "/", so such a next would leave the site after signing in.
func TestNextRejectsWhatBrowsersRewrite(t *testing.T) {
	e := newEnv(t, storetest.Server(t), "next", "a")
	email := e.addUser("nia@next.test", auth.RoleAdmin, nil)
	for _, next := range []string{"/\t/evil.example/", "/\n/evil.example/", "/\r\n/evil.example/", "/\\evil.example/",
		"/\x00/evil.example/", "/\u00a0/evil.example/"} {
		b := e.browser()
		page := b.get("/login?next=" + url.QueryEscape(next))
		if !strings.Contains(page.body, `name="next" value="/"`) {
			t.Errorf("login page keeps next %q", next)
		}
		m := csrfField.FindStringSubmatch(page.body)
		r := b.post("/login", url.Values{"csrf": {m[1]}, "email": {email}, "password": {testPassword}, "next": {next}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
			t.Errorf("next %q: %d, Location %q, want /", next, r.StatusCode, r.Header.Get("Location"))
		}
	}
	b := e.browser()
	m := csrfField.FindStringSubmatch(b.get("/login").body)
	r := b.post("/login", url.Values{"csrf": {m[1]}, "email": {email}, "password": {testPassword}, "next": {"/admin/users?x=%09"}})
	if r.Header.Get("Location") != "/admin/users?x=%09" {
		t.Errorf("a plain path was not kept: %q", r.Header.Get("Location"))
	}
}

// TestCSRFTokenNotFromQueryString: a token in a URL leaks (logs, history, Referer).
func TestCSRFTokenNotFromQueryString(t *testing.T) {
	e := newEnv(t, storetest.Server(t), "csrfq", "a")
	email := e.addUser("quinn@csrfq.test", auth.RoleAdmin, nil)
	b := e.browser()
	b.mustLogin(email)
	token := b.csrf
	b.csrf = ""
	if r := b.post("/logout?csrf="+url.QueryEscape(token), nil); r.StatusCode != http.StatusForbidden {
		t.Fatalf("logout with the token in the query string: %d", r.StatusCode)
	}
	if r := b.post("/admin/sites?csrf="+url.QueryEscape(token), url.Values{"domain": {"q.csrfq.test"}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("form with the token in the query string: %d", r.StatusCode)
	}
	if r := b.get("/api/v1/me"); r.StatusCode != http.StatusOK {
		t.Fatalf("session after the refused logout: %d", r.StatusCode)
	}
	b.csrf = token
	if r := b.post("/logout", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout with the token in the body: %d", r.StatusCode)
	}
}

// TestTOTPFutureCodeRefused: the next time step's code is refused, and using it does
// not make the current code fail; the previous step's code works (clock skew).
func TestTOTPFutureCodeRefused(t *testing.T) {
	e := newEnv(t, storetest.Server(t), "totpnext", "a")
	email := e.addUser("tess@totpnext.test", auth.RoleManager, e.sites)
	b := e.browser()
	b.mustLogin(email)
	m := totpSecret.FindStringSubmatch(b.post("/account/totp", nil).body)
	if m == nil {
		t.Fatal("no TOTP key shown")
	}
	code, _ := totp.GenerateCode(m[1], e.clock.Now())
	if r := b.post("/account/totp/confirm", url.Values{"code": {code}}); r.StatusCode != http.StatusOK {
		t.Fatalf("confirm: %d", r.StatusCode)
	}
	e.clock.Add(30 * time.Second)
	next, _ := totp.GenerateCode(m[1], e.clock.Now().Add(30*time.Second))
	if r := e.browser().login(email, testPassword, next); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("next step's code: %d, want 401", r.StatusCode)
	}
	current, _ := totp.GenerateCode(m[1], e.clock.Now())
	if r := e.browser().login(email, testPassword, current); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("current code after a next-step one was tried: %d", r.StatusCode)
	}
	e.clock.Add(60 * time.Second)
	previous, _ := totp.GenerateCode(m[1], e.clock.Now().Add(-30*time.Second))
	if r := e.browser().login(email, testPassword, previous); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("previous step's code: %d", r.StatusCode)
	}
	if r := e.browser().login(email, testPassword, previous); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("replayed code: %d", r.StatusCode)
	}
}

// TestAdminControlsUsersAPIKeys: a password reset revokes the account's keys unless
// the admin keeps them; admins list and revoke anyone's keys; a key revokes no key.
func TestAdminControlsUsersAPIKeys(t *testing.T) {
	e := newEnv(t, storetest.Server(t), "ukeys", "a")
	admin := e.browser()
	admin.mustLogin(e.addUser("ada@ukeys.test", auth.RoleAdmin, nil))
	email := e.addUser("uma@ukeys.test", auth.RoleManager, e.sites)
	id := userID(t, admin, email)
	user := e.browser()
	user.addr = "192.0.2.50"
	user.mustLogin(email)
	newKey := func(name string) (key, keyID string) {
		var k struct{ Key, ID string }
		user.api(http.MethodPost, "/api/v1/keys", map[string]string{"name": name}).json(t, &k)
		if k.Key == "" {
			t.Fatalf("key %s not created", name)
		}
		return k.Key, k.ID
	}
	works := func(key string) bool {
		return e.browser().do(http.MethodGet, "/api/v1/me", nil, map[string]string{"Authorization": "Bearer " + key}).StatusCode == http.StatusOK
	}
	k1, id1 := newKey("one")
	k2, id2 := newKey("two")

	// A key cannot revoke the account's other keys.
	if r := e.browser().do(http.MethodDelete, "/api/v1/keys/"+id2, nil, map[string]string{"Authorization": "Bearer " + k1}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("key revoking a key: %d %s", r.StatusCode, r.body)
	}
	if !works(k2) {
		t.Fatal("a key revoked another key")
	}

	// The admin sees the user's keys, in the API and on the user's page.
	var listed struct{ Keys []auth.APIKey }
	if r := admin.get("/api/v1/users/" + id + "/keys"); r.StatusCode != http.StatusOK {
		t.Fatalf("admin lists a user's keys: %d %s", r.StatusCode, r.body)
	} else {
		r.json(t, &listed)
	}
	if len(listed.Keys) != 2 {
		t.Fatalf("admin sees %d keys, want 2: %+v", len(listed.Keys), listed.Keys)
	}
	page := admin.get("/admin/users/" + id).body
	if !strings.Contains(page, "loendur_"+id1) || !strings.Contains(page, "/admin/users/"+id+"/keys/"+id2+"/revoke") {
		t.Fatal("the Users page does not show the user's keys")
	}
	if r := user.get("/api/v1/users/" + id + "/keys"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("manager lists keys of an account: %d", r.StatusCode)
	}
	// …and revokes one from the Users page.
	if r := admin.post("/admin/users/"+id+"/keys/"+id1+"/revoke", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("admin revokes a key: %d %s", r.StatusCode, r.body)
	}
	if works(k1) || !works(k2) {
		t.Fatal("the admin's revocation ended the wrong keys")
	}
	// Not with an API key of the admin's own.
	var ak struct{ Key string }
	admin.api(http.MethodPost, "/api/v1/keys", map[string]string{"name": "admin script"}).json(t, &ak)
	if r := e.browser().do(http.MethodDelete, "/api/v1/users/"+id+"/keys/"+id2, nil, map[string]string{"Authorization": "Bearer " + ak.Key}); r.StatusCode != http.StatusForbidden || !works(k2) {
		t.Fatalf("admin's API key revoking a user's key: %d", r.StatusCode)
	}

	// A password reset revokes the keys by default…
	r := admin.post("/admin/users/"+id, url.Values{"action": {"reset_password"}})
	m := regexp.MustCompile(`<code id="secret">([^<]+)</code>`).FindStringSubmatch(r.body)
	if r.StatusCode != http.StatusOK || m == nil || !strings.Contains(r.body, "API keys are revoked") {
		t.Fatalf("reset: %d %s", r.StatusCode, r.body)
	}
	if works(k2) {
		t.Fatal("a key still works after the password reset")
	}
	// …unless the admin keeps them.
	user = e.browser()
	if r := user.login(email, m[1], ""); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login with the new password: %d", r.StatusCode)
	}
	k3, _ := newKey("three")
	if r := admin.api(http.MethodPatch, "/api/v1/users/"+id, map[string]any{"reset_password": true, "keep_api_keys": true}); r.StatusCode != http.StatusOK {
		t.Fatalf("reset keeping keys: %d %s", r.StatusCode, r.body)
	}
	if !works(k3) {
		t.Fatal("a kept key stopped working")
	}

	var audit []struct {
		Actor  string `ch:"actor"`
		Detail string `ch:"detail"`
	}
	if err := e.db.Select(context.Background(), &audit, "SELECT actor, detail FROM audit_log WHERE action = 'key_revoke' AND target = ? ORDER BY time, seq", email); err != nil {
		t.Fatal(err)
	}
	if len(audit) != 2 || audit[0].Detail != "key "+id1+"; by an admin" || audit[1].Detail != "key "+id2+"; password reset" || audit[1].Actor != "ada@ukeys.test" {
		t.Fatalf("key revocations in the audit log: %+v", audit)
	}
}
