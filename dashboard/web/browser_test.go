package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/websystems/loendur/dashboard"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

// The browser tests run the real dashboard (dashboard.Register: auth, report API, these
// pages) on a Fiber app over a fresh database on the test ClickHouse server, and drive
// it in headless Chromium as a person would.

const (
	shopSite   = "shop.test"   // the agency's client whose reports the admin reads
	clientSite = "client.test" // another client, the only site of the manager
	adminEmail = "admin@agency.test"
	mgrEmail   = "manager@client.test"
	password   = "correct horse battery staple"
)

type server struct {
	origin string
	db     store.Store
}

// startServer runs the dashboard over the fixture; more sites (without events) may be
// registered beside shop.test and client.test.
func startServer(t *testing.T, more ...string) *server {
	t.Helper()
	return startServerWith(t, nil, more...)
}

// startServerWith is startServer with the dashboard's options changed by set.
func startServerWith(t *testing.T, set func(*dashboard.Options), more ...string) *server {
	t.Helper()
	ctx := context.Background()
	db := storetest.Server(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := sites.NewRegistry(db, log)
	if _, err := reg.Ensure(ctx, append([]string{shopSite, clientSite}, more...)); err != nil {
		t.Fatal(err)
	}
	if err := store.InsertEvents(ctx, db, fixture(time.Now().UTC())); err != nil {
		t.Fatalf("insert fixture: %v", err)
	}
	if _, _, err := auth.AddUser(ctx, db, adminEmail, auth.RoleAdmin, nil, password); err != nil {
		t.Fatal(err)
	}
	if _, _, err := auth.AddUser(ctx, db, mgrEmail, auth.RoleManager, []string{clientSite}, password); err != nil {
		t.Fatal(err)
	}
	opts := dashboard.Options{DB: db, Sites: reg, Log: log}
	if set != nil {
		set(&opts)
	}
	d, err := dashboard.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	if err := d.Register(app); err != nil {
		t.Fatal(err)
	}
	if !hasRoute(app, "/api/v1/stats/:report") {
		t.Fatal("dashboard.Register serves no report API")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	return &server{origin: "http://" + ln.Addr().String(), db: db}
}

func hasRoute(app *fiber.App, path string) bool {
	for _, r := range app.GetRoutes() {
		if r.Path == path {
			return true
		}
	}
	return false
}

// fixture is a week of a small shop's traffic ending now, in UTC (the site's zone):
// 40 visits on days 1–6 before today and 2 visitors right now. Every visit sees "/";
// every 2nd goes on to /pricing, every 4th to /signup and fires "Signup"; every 5th
// starts on /blog/hello instead. Each page view has an engagement event.
func fixture(now time.Time) []store.Event {
	day := now.Truncate(24 * time.Hour)
	var out []store.Event
	add := func(e store.Event) {
		e.EventID = uuid.New()
		e.Hostname = shopSite
		out = append(out, e)
	}
	sources := []string{"Google", "", "Hacker News"}
	countries := []string{"EE", "FI", "DE"}
	for i := 0; i < 40; i++ {
		base := store.Event{
			Site: shopSite, VisitorID: uint64(1000 + i), SessionID: uint64(5000 + i),
			ReferrerSource: sources[i%3], CountryCode: countries[i%3],
			Device: []string{"desktop", "mobile"}[i%2], Browser: []string{"Chrome", "Firefox"}[i%2],
			OS: []string{"Linux", "Android"}[i%2],
		}
		if base.ReferrerSource == "Google" {
			base.ReferrerHost = "www.google.com"
		}
		start := day.Add(-time.Duration(i%6+1)*24*time.Hour + 9*time.Hour + time.Duration(i)*time.Minute)
		pages := []string{"/"}
		if i%5 == 0 {
			pages = []string{"/blog/hello", "/"}
		}
		if i%2 == 0 {
			pages = append(pages, "/pricing")
		}
		if i%4 == 0 {
			pages = append(pages, "/signup")
		}
		at := start
		for j, p := range pages {
			pv := base
			pv.Name, pv.Timestamp, pv.Pathname = "pageview", at, p
			if j > 0 {
				pv.ReferrerSource, pv.ReferrerHost = "", ""
			}
			add(pv)
			eng := pv
			eng.Name, eng.Timestamp = "engagement", at.Add(30*time.Second)
			eng.EngagedMS, eng.Scroll = uint32(20000+1000*i), uint8([]int{30, 60, 80, 100}[i%4])
			add(eng)
			at = at.Add(time.Minute)
		}
		if i%4 == 0 {
			ev := base
			ev.Name, ev.Timestamp, ev.Pathname = "Signup", at, "/signup"
			ev.PropKeys, ev.PropValues = []string{"plan"}, []string{[]string{"pro", "free"}[i/4%2]}
			add(ev)
		}
	}
	for i, p := range []string{"/", "/pricing"} {
		add(store.Event{Site: shopSite, Name: "pageview", Pathname: p, Timestamp: now.Add(-time.Minute),
			VisitorID: uint64(9000 + i), SessionID: uint64(9900 + i), Device: "desktop", Browser: "Chrome", OS: "Linux"})
	}
	// The other client's site has a little traffic of its own.
	add(store.Event{Site: clientSite, Name: "pageview", Pathname: "/", Timestamp: day.Add(-24 * time.Hour),
		VisitorID: 7000, SessionID: 7100})
	return out
}

// login signs in through the login page, starting from path, and waits until the
// browser is back on path.
func (tb *tab) login(origin, path, email, pw string) {
	tb.t.Helper()
	tb.run(chromedp.Navigate(origin + path))
	tb.waitFor("the login form", `document.querySelector('input[name=password]')`)
	tb.run(
		chromedp.SendKeys(`input[name=email]`, email, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, pw, chromedp.ByQuery),
		chromedp.Click(`form[action="/login"] button[type=submit]`, chromedp.ByQuery),
	)
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	var s string
	tb.eval(fmt.Sprintf(`(document.querySelector(%q) || {}).innerText || ""`, sel), &s)
	return s
}

func (tb *tab) location() string {
	tb.t.Helper()
	var s string
	tb.eval(`location.href`, &s)
	return s
}

// metric reads an overview figure as shown, e.g. "1,234".
func (tb *tab) metric(name string) string {
	tb.t.Helper()
	return tb.text(`[data-metric="` + name + `"] .metric-value`)
}

// fetchResult is what a fetch from inside the page saw.
type fetchResult struct {
	Status int    `json:"status"`
	Type   string `json:"type"`
	Body   string `json:"body"`
	CSP    string `json:"csp"`
}

// fetch requests url from the page (with its cookies) and returns what came back.
func (tb *tab) fetch(url, method string, headers map[string]string, body string) fetchResult {
	tb.t.Helper()
	if headers == nil {
		headers = map[string]string{}
	}
	h, _ := json.Marshal(headers)
	opts := fmt.Sprintf(`{method: %q, headers: %s, credentials: "same-origin"%s}`, method, h,
		map[bool]string{true: fmt.Sprintf(`, body: %q`, body), false: ""}[body != ""])
	var raw string
	tb.eval(fmt.Sprintf(`fetch(%q, %s).then(async r => JSON.stringify({status: r.status, type: r.headers.get("content-type") || "", csp: r.headers.get("content-security-policy") || "", body: await r.text()}))`, url, opts), &raw)
	var out fetchResult
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		tb.t.Fatal(err)
	}
	return out
}

// reportsReady waits until the overview, the chart and the top pages are drawn.
func (tb *tab) reportsReady() {
	tb.t.Helper()
	tb.waitFor("the overview figures", `document.querySelector('[data-metric="visitors"] .metric-value')`)
	tb.waitFor("the chart", `(() => { const c = document.querySelector('#chart canvas'); return c && c.width > 0 && c.height > 0 })()`)
	tb.waitFor("the top pages", `document.querySelectorAll('#panel-pages tbody tr').length > 0`)
	tb.waitFor("every report loaded", `document.querySelectorAll('[aria-busy="true"]').length === 0`)
}

func TestReportPageInChromium(t *testing.T) {
	srv := startServer(t)
	tb := newTab(t)

	// Signing in from a report link comes back to it.
	tb.login(srv.origin, "/sites/"+shopSite, adminEmail, password)
	tb.waitFor("the report page after signing in", `location.pathname === "/sites/`+shopSite+`"`)
	tb.reportsReady()

	// The overview chart is drawn: a canvas of real size with ink on it, and the
	// series it shows add up to the fixture's traffic.
	var inked int
	tb.eval(`(() => {
		const c = document.querySelector('#chart canvas');
		const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
		let n = 0;
		for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
		return n;
	})()`, &inked)
	if inked < 2000 {
		t.Errorf("the chart canvas has only %d painted pixels", inked)
	}
	// One metric is charted (visitors, until another card is chosen); before any hover
	// the legend shows the latest point: today, with the 2 visitors of right now.
	label := tb.text(`#chart-legend`)
	var aria string
	tb.eval(`document.querySelector('#chart').getAttribute('aria-label')`, &aria)
	if !strings.HasPrefix(aria, "Unique visitors by day; latest") || !strings.HasSuffix(aria, ": 2") || tb.text(`#legend-value`) != "2" {
		t.Errorf("chart label %q (legend %q): want today's 2 visitors from the time series", aria, label)
	}
	visitorsAll := tb.metric("visitors")
	if visitorsAll == "" || visitorsAll == "0" || visitorsAll == "–" {
		t.Fatalf("unique visitors shown as %q", visitorsAll)
	}
	tb.screenshot("overview-light")
	tb.scheme("dark")
	tb.waitFor("the dark scheme", `matchMedia('(prefers-color-scheme: dark)').matches`)
	time.Sleep(200 * time.Millisecond) // the chart redraws with the dark palette
	tb.screenshot("overview-dark")
	tb.scheme("light")

	// Top pages list the fixture's pages, busiest first.
	pages := tb.text(`#panel-pages tbody`)
	for _, p := range []string{"/", "/pricing", "/signup", "/blog/hello"} {
		if !strings.Contains(pages, p) {
			t.Errorf("top pages lack %s:\n%s", p, pages)
		}
	}
	tb.run(chromedp.ScrollIntoView(`#card-pages`, chromedp.ByQuery))
	tb.screenshotElement("top-pages", `#card-pages`)

	// The CSV export of the table is the API's CSV of the same rows.
	var csvHref string
	tb.eval(`document.querySelector('#card-pages a.csv').getAttribute('href')`, &csvHref)
	if !strings.Contains(csvHref, "format=csv") || !strings.Contains(csvHref, "site="+shopSite) {
		t.Errorf("CSV link %q", csvHref)
	}
	csv := tb.fetch(csvHref, "GET", nil, "")
	if csv.Status != 200 || !strings.HasPrefix(csv.Type, "text/csv") {
		t.Errorf("CSV export: %d %q", csv.Status, csv.Type)
	}
	lines := strings.Split(strings.TrimSpace(csv.Body), "\n")
	if len(lines) < 5 || !strings.Contains(lines[0], "page") || !strings.Contains(csv.Body, "/pricing") {
		t.Errorf("CSV export of top pages:\n%s", csv.Body)
	}

	// Clicking a page filters every report by it: a chip, the URL, other numbers.
	tb.run(chromedp.Click(`#panel-pages a.row-link[data-filter-value="/pricing"]`, chromedp.ByQuery))
	tb.waitFor("the filter chip", `document.querySelector('#filters .chip')`)
	if chip := tb.text(`#filters .chip`); !strings.Contains(chip, "Page is /pricing") {
		t.Errorf("chip reads %q", chip)
	}
	if loc := tb.location(); !strings.Contains(loc, "filters=page==/pricing") {
		t.Errorf("URL after filtering: %s", loc)
	}
	tb.waitFor("the filtered figures", fmt.Sprintf(`(() => { const e = document.querySelector('[data-metric="visitors"] .metric-value'); return e && e.innerText !== %q })()`, visitorsAll))
	tb.waitFor("every report reloaded", `document.querySelectorAll('[aria-busy="true"]').length === 0`)
	if filtered := tb.text(`#panel-pages tbody`); strings.Contains(filtered, "/blog/hello") {
		t.Errorf("top pages still list /blog/hello under the /pricing filter:\n%s", filtered)
	}
	// The filtered view is a link: opening it afresh shows the same chip.
	tb.run(chromedp.Navigate(tb.location()))
	tb.reportsReady()
	if chip := tb.text(`#filters .chip`); !strings.Contains(chip, "Page is /pricing") {
		t.Errorf("bookmarked view lost its filter: chip %q", chip)
	}
	// Every report is filtered, its CSV export too.
	var csvLinks []string
	tb.eval(`[...document.querySelectorAll('#main a.csv')].map(a => a.getAttribute('href'))`, &csvLinks)
	if len(csvLinks) < 7 {
		t.Errorf("only %d CSV links on the page: %v", len(csvLinks), csvLinks)
	}
	for _, l := range csvLinks {
		if !strings.Contains(l, "filters=page==/pricing") {
			t.Errorf("CSV link %s lacks the page filter", l)
		}
	}
	// Removing the chip, with the keyboard, brings the whole site back.
	tb.run(chromedp.Focus(`#filters .chip button`, chromedp.ByQuery), chromedp.KeyEvent(kb.Enter))
	tb.waitFor("the chip gone", `!document.querySelector('#filters .chip')`)
	tb.waitFor("all visitors again", fmt.Sprintf(`document.querySelector('[data-metric="visitors"] .metric-value').innerText === %q`, visitorsAll))

	// An admin defines a funnel and sees its steps.
	tb.run(chromedp.ScrollIntoView(`#card-funnels`, chromedp.ByQuery))
	tb.run(chromedp.Click(`#funnel-new`, chromedp.ByQuery))
	tb.waitFor("the funnel form", `!document.querySelector('#funnel-form').hidden`)
	tb.run(
		chromedp.SendKeys(`#funnel-name`, "Pricing to signup", chromedp.ByQuery),
		chromedp.SendKeys(`#funnel-step-list .step-row:nth-child(1) .step-value`, "/", chromedp.ByQuery),
		chromedp.SendKeys(`#funnel-step-list .step-row:nth-child(2) .step-value`, "/pricing", chromedp.ByQuery),
		chromedp.Click(`#funnel-add-step`, chromedp.ByQuery),
		chromedp.SetValue(`#funnel-step-list .step-row:nth-child(3) .step-type`, "event", chromedp.ByQuery),
		chromedp.SendKeys(`#funnel-step-list .step-row:nth-child(3) .step-value`, "Signup", chromedp.ByQuery),
		chromedp.Click(`#funnel-save`, chromedp.ByQuery),
	)
	tb.waitFor("the funnel's steps", `document.querySelectorAll('#funnel-steps li').length === 3`)
	steps := tb.text(`#funnel-steps`)
	if !strings.Contains(steps, "/pricing") || !strings.Contains(steps, "Signup") || !strings.Contains(steps, "visitors") {
		t.Errorf("funnel report:\n%s", steps)
	}
	if loc := tb.location(); !strings.Contains(loc, "funnel=") {
		t.Errorf("URL after saving a funnel: %s", loc)
	}
	tb.screenshotElement("funnel", `#card-funnels`)

	// The admin edits it: the form opens with its name and steps; saving replaces it.
	funnelURL := tb.location()
	tb.run(chromedp.Click(`#funnel-edit`, chromedp.ByQuery))
	tb.waitFor("the filled form", `!document.querySelector('#funnel-form').hidden && document.querySelector('#funnel-name').value === "Pricing to signup" &&
		document.querySelectorAll('#funnel-step-list .step-row').length === 3`)
	tb.run(chromedp.Click(`#funnel-step-list .step-row:nth-child(3) button`, chromedp.ByQuery))
	tb.eval(`document.querySelector('#funnel-name').value = "Home to pricing"`, nil)
	tb.run(chromedp.Click(`#funnel-save`, chromedp.ByQuery))
	tb.waitFor("the edited funnel", `document.querySelectorAll('#funnel-steps li').length === 2 &&
		[...document.querySelectorAll('#funnel-select option')].map(o => o.textContent).join() === "Home to pricing"`)
	if after := tb.location(); after != funnelURL {
		t.Errorf("editing made another funnel: %s, was %s", after, funnelURL)
	}

	// On a phone: nothing wider than the screen, the chart fits.
	tb.size(375, 812)
	time.Sleep(300 * time.Millisecond)
	var widths struct{ Doc, Chart int }
	tb.eval(`({Doc: document.documentElement.scrollWidth, Chart: document.querySelector('#chart canvas').getBoundingClientRect().width|0})`, &widths)
	if widths.Doc > 375 || widths.Chart > 360 || widths.Chart < 200 {
		t.Errorf("at 375 px: page %d px wide, chart %d px", widths.Doc, widths.Chart)
	}
	tb.run(chromedp.ScrollIntoView(`#main`, chromedp.ByQuery))
	tb.screenshot("overview-mobile")
	tb.size(1280, 900)

	// Keyboard: the period picker, the chips, tabs and row links are real controls.
	var focusable int
	tb.eval(`document.querySelectorAll('#main a[href], #main button, #main select, #main input').length`, &focusable)
	if focusable < 20 {
		t.Errorf("only %d focusable controls on the report page", focusable)
	}
	choose := func(period string) {
		tb.run(chromedp.SetValue(`#period`, period, chromedp.ByQuery),
			chromedp.Evaluate(`document.querySelector('#period').dispatchEvent(new Event('change'))`, nil))
	}
	choose("30d")
	tb.waitFor("the 30-day period in the URL", `location.search.includes('period=30d')`)
	// Today is drawn by the hour.
	choose("today")
	tb.waitFor("an hourly chart", `(document.querySelector('#chart').getAttribute('aria-label') || '').includes(' by hour')`)
	// A custom range: the dates go into the URL and the period line.
	from, to := time.Now().UTC().AddDate(0, 0, -3).Format("2006-01-02"), time.Now().UTC().AddDate(0, 0, -2).Format("2006-01-02")
	choose("custom")
	tb.waitFor("the date fields", `!document.querySelector('#custom-range').hidden`)
	tb.run(chromedp.SetValue(`#from`, from, chromedp.ByQuery), chromedp.SetValue(`#to`, to, chromedp.ByQuery),
		chromedp.Click(`#custom-range button[type=submit]`, chromedp.ByQuery))
	tb.waitFor("the custom range in the URL", `location.search.includes('period=custom&from=`+from+`&to=`+to+`')`)
	tb.waitFor("every report loaded", `document.querySelectorAll('[aria-busy="true"]').length === 0`)
	if line := tb.text("#period-label"); !strings.Contains(line, "compared with") {
		t.Errorf("period line for a custom range: %q", line)
	}

	// The admin pages have the report page's header and style sheet: from the account
	// menu to Users, and from its site menu back to the report.
	tb.run(chromedp.Click(`#account-menu summary`, chromedp.ByQuery), chromedp.Click(`#account-menu a[href="/admin/users"]`, chromedp.ByQuery))
	tb.waitFor("the Users page", `location.pathname === "/admin/users" && document.readyState === "complete"`)
	var shared bool
	tb.eval(`!!document.querySelector('header.bar .brand img') && !!document.querySelector('#site-menu a.site-link[data-site="`+shopSite+`"]') &&
		!!document.querySelector('#account-menu a[href="/admin/users"][aria-current="page"]') &&
		!!document.querySelector('link[rel=stylesheet][href^="/assets/app.css?v="]') &&
		getComputedStyle(document.querySelector('header.bar')).display === 'flex'`, &shared)
	if !shared {
		var parts []bool
		tb.eval(`[!!document.querySelector('header.bar .brand img'), !!document.querySelector('#site-menu a.site-link[data-site="`+shopSite+`"]'),
			!!document.querySelector('#account-menu a[href="/admin/users"][aria-current="page"]'),
			!!document.querySelector('link[rel=stylesheet][href^="/assets/app.css?v="]'),
			getComputedStyle(document.querySelector('header.bar')).display === 'flex']`, &parts)
		t.Errorf("the Users page lacks the report page's header or style sheet: %v", parts)
	}
	if h := tb.text("main h1"); h != "Users" {
		t.Errorf("Users page heading %q", h)
	}
	tb.screenshot("admin-users")
	tb.run(chromedp.Click(`#site-menu summary`, chromedp.ByQuery), chromedp.Click(`#site-menu a[data-site="`+shopSite+`"]`, chromedp.ByQuery))
	tb.waitFor("the report page from the site menu", `location.pathname === "/sites/`+shopSite+`"`)
	tb.reportsReady()

	// Log out: the session ends, the report page asks for a sign-in again.
	tb.run(chromedp.Click(`#account-menu summary`, chromedp.ByQuery), chromedp.Click(`#logout`, chromedp.ByQuery))
	tb.waitFor("the login page", `location.pathname === "/login"`)
	tb.run(chromedp.Navigate(srv.origin + "/sites/" + shopSite))
	tb.waitFor("the login page again", `location.pathname === "/login"`)

	if foreign := tb.foreignRequests(srv.origin); len(foreign) > 0 {
		t.Errorf("the dashboard requested other origins: %v", foreign)
	}
	tb.noScriptErrors()
}

func TestManagerSeesOnlyTheirSites(t *testing.T) {
	srv := startServer(t)
	tb := newTab(t)
	tb.login(srv.origin, "/", mgrEmail, password)
	// "/" leads a manager to their own site, and the switcher offers no other.
	tb.waitFor("the manager's site", `location.pathname === "/sites/`+clientSite+`"`)
	tb.waitFor("the report page", `document.querySelector('#main.report')`)
	var offered []string
	tb.eval(`[...document.querySelectorAll('#site-menu a.site-link')].map(a => a.textContent)`, &offered)
	if len(offered) != 1 || offered[0] != clientSite {
		t.Errorf("site switcher offers %v, want only %s", offered, clientSite)
	}

	// Another client's site: refused in the page and in the API, exactly like a site
	// that does not exist.
	tb.run(chromedp.Navigate(srv.origin + "/sites/" + shopSite))
	tb.waitFor("the refusal", `document.querySelector('h1')`)
	if h := tb.text("h1"); h != "No access" {
		t.Errorf("another client's site shows %q", h)
	}
	if body := tb.text("#main"); strings.Contains(body, "Unique visitors") {
		t.Errorf("refusal page shows reports:\n%s", body)
	}
	tb.screenshot("manager-refused")
	page := tb.fetch("/sites/"+shopSite, "GET", nil, "")
	nopage := tb.fetch("/sites/nosuchsite.test", "GET", nil, "")
	if page.Status != 403 || nopage.Status != 403 || page.Body != nopage.Body {
		t.Errorf("report page of another client's site %d, of an unknown site %d: want the same 403", page.Status, nopage.Status)
	}
	own := tb.fetch("/sites/"+clientSite, "GET", nil, "")
	if own.Status != 200 || !strings.HasPrefix(own.CSP, "default-src 'self'") {
		t.Errorf("own report page: %d, Content-Security-Policy %q", own.Status, own.CSP)
	}
	forbidden := tb.fetch("/api/v1/stats/overview?site="+shopSite+"&period=7d", "GET", nil, "")
	unknown := tb.fetch("/api/v1/stats/overview?site=nosuchsite.test&period=7d", "GET", nil, "")
	if forbidden.Status != 403 || !strings.Contains(forbidden.Body, `"error"`) {
		t.Errorf("API for another client's site: %d %s", forbidden.Status, forbidden.Body)
	}
	if unknown.Status != forbidden.Status || unknown.Body != forbidden.Body {
		t.Errorf("unknown site answers %d %s, another client's %d %s: they must not differ",
			unknown.Status, unknown.Body, forbidden.Status, forbidden.Body)
	}
	csv := tb.fetch("/api/v1/stats/top-pages?site="+shopSite+"&period=7d&format=csv", "GET", nil, "")
	if csv.Status != 403 || strings.Contains(csv.Body, "/pricing") {
		t.Errorf("CSV of another client's site: %d %s", csv.Status, csv.Body)
	}
	tb.noScriptErrors()
}

func TestWrongPasswordIsThrottled(t *testing.T) {
	srv := startServer(t)
	tb := newTab(t)
	var msg string
	for i := 0; i < 8; i++ {
		tb.login(srv.origin, "/login", adminEmail, "wrong password number "+fmt.Sprint(i))
		tb.waitFor("the login answer", `document.querySelector('[role=alert]')`)
		msg = tb.text(`[role=alert]`)
		if strings.Contains(msg, "too many") {
			break
		}
	}
	if !strings.Contains(msg, "too many failed sign-ins") {
		t.Fatalf("after repeated wrong passwords the login page says %q", msg)
	}
	// While throttled, even the right password does not get in.
	tb.login(srv.origin, "/login", adminEmail, password)
	tb.waitFor("the login answer", `document.querySelector('[role=alert]')`)
	if loc := tb.location(); !strings.Contains(loc, "/login") {
		t.Errorf("signed in while throttled: %s", loc)
	}
	tb.screenshot("login-throttled")
}

func TestStateChangeWithoutCSRFTokenIsRefused(t *testing.T) {
	srv := startServer(t)
	tb := newTab(t)
	tb.login(srv.origin, "/sites/"+shopSite, adminEmail, password)
	tb.waitFor("the report page", `document.querySelector('#main[data-csrf]')`)
	var token string
	tb.eval(`document.querySelector('#main').dataset.csrf`, &token)
	if token == "" {
		t.Fatal("the report page carries no CSRF token")
	}
	funnel := `{"site":"` + shopSite + `","name":"No token","steps":[{"type":"page","value":"/"},{"type":"page","value":"/pricing"}]}`
	jsonType := map[string]string{"Content-Type": "application/json"}
	if r := tb.fetch("/api/v1/funnels", "POST", jsonType, funnel); r.Status != 403 {
		t.Errorf("funnel POST without the CSRF token: %d %s", r.Status, r.Body)
	}
	if r := tb.fetch("/api/v1/funnels", "POST", map[string]string{"Content-Type": "application/json", "X-CSRF-Token": "forged"}, funnel); r.Status != 403 {
		t.Errorf("funnel POST with a wrong CSRF token: %d %s", r.Status, r.Body)
	}
	if r := tb.fetch("/logout", "POST", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "csrf=forged"); r.Status != 403 {
		t.Errorf("logout without the right CSRF token: %d", r.Status)
	}
	// Still signed in, and with the token the same request works.
	if r := tb.fetch("/api/v1/funnels", "POST", map[string]string{"Content-Type": "application/json", "X-CSRF-Token": token}, funnel); r.Status >= 300 {
		t.Errorf("funnel POST with the CSRF token: %d %s", r.Status, r.Body)
	}
}
