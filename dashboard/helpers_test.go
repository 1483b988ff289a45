package dashboard

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/testclock"
)

type testEnv struct {
	t     *testing.T
	db    store.Store
	app   *fiber.App
	dash  *Dashboard
	clock *testclock.Clock // the injected time: tests move it instead of sleeping
	sites []string
}

// newEnv mounts a dashboard on a fresh Fiber app, registering one site per name (each
// suffixed with the test's unique tag, since the embedded engine is shared). The
// client address comes from the X-Test-Addr header so throttling per address can be
// tested.
func newEnv(t *testing.T, db store.Store, tag string, siteNames ...string) *testEnv {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := sites.NewRegistry(db, log)
	e := &testEnv{t: t, db: db, clock: testclock.New(time.Now().UTC())}
	for _, s := range siteNames {
		e.sites = append(e.sites, s+"-"+tag+".test")
	}
	if _, err := reg.Ensure(context.Background(), e.sites); err != nil {
		t.Fatal(err)
	}
	d, err := New(Options{DB: db, Sites: reg, Log: log, Secure: true, Now: e.clock.Now,
		ClientIP: func(c *fiber.Ctx) netip.Addr {
			a, _ := netip.ParseAddr(c.Get("X-Test-Addr", "192.0.2.1"))
			return a
		}})
	if err != nil {
		t.Fatal(err)
	}
	e.dash = d
	e.app = fiber.New(fiber.Config{DisableStartupMessage: true})
	if err := d.Register(e.app); err != nil {
		t.Fatal(err)
	}
	return e
}

// addUser creates an account through the CLI function and returns its email.
func (e *testEnv) addUser(email string, role auth.Role, sites []string) string {
	e.t.Helper()
	if _, _, err := auth.AddUser(context.Background(), e.db, email, role, sites, testPassword); err != nil {
		e.t.Fatal(err)
	}
	return email
}

const testPassword = "correct horse battery"

// browser keeps cookies like a browser would for one origin.
type browser struct {
	e       *testEnv
	addr    string
	cookies map[string]*http.Cookie
	csrf    string
}

func (e *testEnv) browser() *browser {
	return &browser{e: e, addr: "192.0.2.1", cookies: map[string]*http.Cookie{}}
}

type response struct {
	*http.Response
	body string
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

func (b *browser) do(method, path string, body io.Reader, headers map[string]string) response {
	b.e.t.Helper()
	req := httptest.NewRequest(method, path, body)
	req.Header.Set("X-Test-Addr", b.addr)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	resp, err := b.e.app.Test(req, -1)
	if err != nil {
		b.e.t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	for _, c := range resp.Cookies() {
		if c.Expires.Unix() > 0 && c.Expires.Before(time.Now()) {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return response{resp, string(raw)}
}

func (b *browser) get(path string) response { return b.do(http.MethodGet, path, nil, nil) }

// post sends a form, adding the page's CSRF token unless the form has one.
func (b *browser) post(path string, form url.Values) response {
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok && b.csrf != "" {
		form.Set("csrf", b.csrf)
	}
	r := b.do(http.MethodPost, path, strings.NewReader(form.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	// A form that worked redirects to its page (POST-redirect-GET): follow it, as a browser does.
	if loc := r.Header.Get("Location"); r.StatusCode == http.StatusSeeOther && path != "/login" && (strings.HasPrefix(loc, "/admin/") || loc == "/account") {
		return b.get(loc)
	}
	return r
}

// api sends JSON with the session's CSRF header.
func (b *browser) api(method, path string, body any) response {
	raw, _ := json.Marshal(body)
	h := map[string]string{"Content-Type": "application/json"}
	if b.csrf != "" {
		h[auth.CSRFHeader] = b.csrf
	}
	return b.do(method, path, strings.NewReader(string(raw)), h)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login fills the login form like a person would.
func (b *browser) login(email, password, code string) response {
	b.e.t.Helper()
	page := b.get("/login")
	m := csrfField.FindStringSubmatch(page.body)
	if m == nil {
		b.e.t.Fatalf("login page has no csrf field: %s", page.body)
	}
	resp := b.post("/login", url.Values{"csrf": {m[1]}, "email": {email}, "password": {password}, "code": {code}})
	if resp.StatusCode == http.StatusSeeOther {
		b.refreshCSRF()
	}
	return resp
}

// mustLogin logs in and fails the test unless it worked.
func (b *browser) mustLogin(email string) {
	b.e.t.Helper()
	if r := b.login(email, testPassword, ""); r.StatusCode != http.StatusSeeOther {
		b.e.t.Fatalf("login %s: %d %s", email, r.StatusCode, r.body)
	}
}

func (b *browser) refreshCSRF() {
	var me struct {
		CSRF string `json:"csrf"`
	}
	r := b.get("/api/v1/me")
	if r.StatusCode == http.StatusOK {
		r.json(b.e.t, &me)
	}
	b.csrf = me.CSRF
}

func (b *browser) session() string {
	if c := b.cookies[auth.SessionCookie]; c != nil {
		return c.Value
	}
	return ""
}

// pageText unescapes a page for substring checks.
func pageText(body string) string { return html.UnescapeString(body) }

// auditHas reports whether the audit log holds an entry for action and target.
func (e *testEnv) auditHas(action, target string) bool {
	e.t.Helper()
	var rows []struct {
		N uint64 `ch:"n"`
	}
	err := e.db.Select(context.Background(), &rows, "SELECT count() AS n FROM audit_log WHERE action = ? AND target = ?", action, target)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(rows) == 1 && rows[0].N > 0
}
