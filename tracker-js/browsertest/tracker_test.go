package browsertest

import (
	"context"
	"fmt"
	"html/template"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
)

// Init scripts that turn on the visitor's privacy signals before any page script runs.
const (
	gpcOn = `Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true, configurable: true})`
	dntOn = `Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1', configurable: true})`
	// A browser from before document.currentScript: the tracker must do nothing.
	oldBrowser = `delete Document.prototype.currentScript`
)

// stub is the snippet the README gives for calling loendur before the script loaded.
const stub = template.HTML(`<script>window.loendur=window.loendur||function(){(loendur.q=loendur.q||[]).push(arguments)}</script>`)

// world is one scenario's servers and browser tab.
type world struct {
	stats *stats
	site  *site
	tab   *tab
}

func newWorld(t *testing.T, b context.Context, initScripts ...string) *world {
	t.Helper()
	st := startStats(t)
	return &world{stats: st, site: startSite(t, st), tab: newTab(t, b, st, initScripts...)}
}

func (w *world) url(pathQuery string) string { return w.site.url(siteHost, pathQuery) }

func ptr[T any](v T) *T { return &v }

func TestTracker(t *testing.T) {
	b := launch(t, false)

	t.Run("pageview with path, referrer and UTM source", func(t *testing.T) {
		w := newWorld(t, b)
		landing := w.url("/pricing?utm_source=newsletter&utm_medium=email")
		w.site.page("/blog", pageSpec{Bare: true, Body: template.HTML(`<a id="go" href="` + landing + `">our pricing</a>`)})
		w.site.page("/pricing", pageSpec{Body: "<h1>Pricing</h1>"})

		// A visitor follows a link from another site.
		w.tab.open(w.site.url(otherHost, "/blog"))
		w.tab.click("#go")
		got := w.stats.waitEvents(1, "pageview", named("pageview"))[0]
		var width int
		w.tab.eval(`innerWidth`, &width)

		want := event{Site: "site.test", Name: "pageview", URL: landing, Referrer: ptr(w.site.url(otherHost, "/")), Width: width}
		if got.String() != want.String() {
			t.Errorf("pageview\n got %v\nwant %v", got, want)
		}
		if hits := w.stats.all(); hits[0].origin != w.url("") {
			t.Errorf("beacon Origin %q, want the site's origin %q", hits[0].origin, w.url(""))
		}
		w.tab.waitTracker()
		if reqs := w.tab.settle(); len(reqs) != 1 {
			t.Errorf("one page load sent %d requests, want 1 pageview: %v", len(reqs), reqs)
		}
		w.tab.assertQuiet()
		w.tab.assertNoStorage(landing)
	})

	t.Run("single-page app navigations", func(t *testing.T) {
		w := newWorld(t, b)
		w.site.page("/app", pageSpec{Body: "<h1>App</h1>"})
		w.tab.open(w.url("/app"))
		w.tab.waitTracker()
		w.tab.eval(`history.pushState({}, '', '/app/settings')`, nil)
		w.tab.eval(`history.replaceState({tab: 2}, '', '/app/settings')`, nil)   // same URL: no page view
		w.tab.eval(`history.replaceState({}, '', '/app/settings#profile')`, nil) // hash only, no data-hash: none
		w.tab.eval(`history.pushState({}, '', '/app/billing?plan=pro')`, nil)
		w.tab.eval(`history.back()`, nil) // popstate
		w.tab.poll(`location.pathname == '/app/settings'`)
		w.stats.waitEvents(3, "pageview", named("pageview"))

		var got []string
		for _, r := range w.tab.settle() {
			got = append(got, r.event.Name+" "+strings.TrimPrefix(r.event.URL, w.url("")))
		}
		want := []string{
			"pageview /app",
			"engagement /app", // the previous page's engagement goes before the next page view
			"pageview /app/settings",
			"engagement /app/settings",
			"pageview /app/billing?plan=pro",
			"engagement /app/billing?plan=pro",
			"pageview /app/settings#profile",
		}
		if !slices.Equal(got, want) {
			t.Errorf("events in the order sent\n got %q\nwant %q", got, want)
		}
		for _, e := range w.stats.events() {
			if e.Name == "pageview" && e.URL != w.url("/app") && e.Referrer != nil {
				t.Errorf("SPA page view %s carries a referrer %q: only the first page view of a load may", e.URL, *e.Referrer)
			}
		}
		w.tab.assertQuiet()
	})

	t.Run("hash navigations with data-hash", func(t *testing.T) {
		w := newWorld(t, b)
		w.site.page("/docs", pageSpec{Attrs: "data-hash", Body: `<a id="install" href="#install">Install</a>`})
		w.tab.open(w.url("/docs"))
		w.tab.waitTracker()
		w.tab.click("#install")
		w.tab.eval(`location.hash = '#install'`, nil) // unchanged: no duplicate
		w.tab.eval(`location.hash = '#usage'`, nil)
		w.stats.waitEvents(3, "pageview", named("pageview"))
		var got []string
		for _, r := range w.tab.settle() {
			if r.event.Name == "pageview" {
				got = append(got, strings.TrimPrefix(r.event.URL, w.url("")))
			}
		}
		if want := []string{"/docs", "/docs#install", "/docs#usage"}; !slices.Equal(got, want) {
			t.Errorf("page views %q, want %q", got, want)
		}
		w.tab.assertQuiet()
	})

	t.Run("engagement after hiding the page", func(t *testing.T) {
		w := newWorld(t, b)
		w.site.page("/article", pageSpec{Body: `<article style="height:5000px">A long read.</article>`})
		start := time.Now()
		w.tab.open(w.url("/article"))
		w.tab.waitTracker()
		// The visitor reads, scrolls to the end and switches to another tab.
		time.Sleep(300 * time.Millisecond)
		w.tab.eval(`scrollTo(0, document.documentElement.scrollHeight)`, nil)
		w.tab.poll(`scrollY + innerHeight >= document.documentElement.scrollHeight - 1`)
		show := w.tab.hide()
		elapsed := time.Since(start)

		e := w.stats.waitEvents(1, "engagement", named("engagement"))[0]
		if e.URL != w.url("/article") {
			t.Errorf("engagement url %q, want the article", e.URL)
		}
		if e.Scroll == nil || *e.Scroll != 100 {
			t.Errorf("scroll %v, want 100 after scrolling to the bottom", e.Scroll)
		}
		if e.EngagedMS == nil || *e.EngagedMS < 300 || *e.EngagedMS > elapsed.Milliseconds() {
			t.Errorf("engagement %v, want engaged_ms between 300 and %d", e, elapsed.Milliseconds())
		}
		if e.Referrer != nil || e.Props != nil {
			t.Errorf("engagement carries referrer or props: %v", e)
		}

		// Coming back and leaving again does not count the page view twice.
		show()
		w.tab.hide()()
		n := 0
		for _, r := range w.tab.settle() {
			if r.event.Name == "engagement" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d engagement events for one page view, want 1", n)
		}
		w.tab.assertQuiet()
	})

	t.Run("engaged time pauses while the page is hidden", func(t *testing.T) {
		w := newWorld(t, b)
		w.site.page("/article", pageSpec{Body: `<article style="height:5000px">A long read.</article>`})
		// Opened in a background tab: hidden from the start.
		show := w.tab.hide()
		w.tab.open(w.url("/article"))
		w.tab.waitTracker()
		w.stats.waitEvents(1, "pageview", named("pageview"))
		time.Sleep(500 * time.Millisecond) // hidden time, not counted
		visible := time.Now()
		show()
		time.Sleep(200 * time.Millisecond)
		w.tab.hide()
		shown := time.Since(visible)

		e := w.stats.waitEvents(1, "engagement", named("engagement"))[0]
		if e.EngagedMS == nil || *e.EngagedMS < 200 || *e.EngagedMS > shown.Milliseconds() {
			t.Errorf("engagement %v, want engaged_ms of the visible time only: between 200 and %d", e, shown.Milliseconds())
		}
		w.tab.assertQuiet()
	})

	t.Run("engagement when leaving the page", func(t *testing.T) {
		w := newWorld(t, b)
		w.site.page("/article", pageSpec{Body: `<article style="height:4000px">A long read.</article><a id="next" href="/next">next</a>`})
		w.site.page("/next", pageSpec{Bare: true})
		w.tab.open(w.url("/article"))
		w.tab.waitTracker()
		var depth int
		w.tab.eval(`Math.round(innerHeight / document.documentElement.scrollHeight * 100)`, &depth)
		w.tab.open(w.url("/next"))

		e := w.stats.waitEvents(1, "engagement", named("engagement"))[0]
		if e.URL != w.url("/article") || e.Scroll == nil || *e.Scroll != depth || e.EngagedMS == nil {
			t.Errorf("engagement %v, want the article with scroll %d (the first screen) and engaged_ms", e, depth)
		}
		w.tab.settle()
		if n := len(w.stats.waitEvents(1, "engagement", named("engagement"))); n != 1 {
			t.Errorf("%d engagement events, want 1", n)
		}
	})

	t.Run("custom events", func(t *testing.T) {
		w := newWorld(t, b)
		w.site.page("/signup", pageSpec{
			// Called before the deferred tracker has loaded: queued by the stub.
			Head: stub + `<script>loendur('Signup', {props: {plan: 'pro'}})</script>`,
			Body: `<button id="brochure" data-loendur-event="Brochure Request" data-loendur-prop-format="pdf" data-loendur-prop-lang="et"><span id="label">Get the brochure</span></button>
<a id="cta" href="#pricing" data-loendur-event="CTA Click">See pricing</a>`,
		})
		w.tab.open(w.url("/signup"))
		w.tab.waitTracker()
		w.tab.click("#label") // a click inside the button counts for the button
		w.tab.click("#cta")
		w.tab.eval(`loendur('Video Play', {props: {title: 'Intro'}})`, nil)

		var got []string
		for _, r := range w.tab.settle() {
			got = append(got, fmt.Sprintf("%s %v", r.event.Name, r.event.Props))
		}
		want := []string{
			"pageview map[]",
			"Signup map[plan:pro]",
			"Brochure Request map[format:pdf lang:et]",
			"CTA Click map[]",
			"Video Play map[title:Intro]",
		}
		if !slices.Equal(got, want) {
			t.Errorf("events\n got %q\nwant %q", got, want)
		}
		for _, e := range w.stats.events() {
			if e.URL != w.url("/signup") && e.URL != w.url("/signup#pricing") {
				t.Errorf("%s sent with url %q, want the page", e.Name, e.URL)
			}
		}
		w.tab.assertQuiet()
	})

	t.Run("data-api sends elsewhere", func(t *testing.T) {
		w := newWorld(t, b)
		w.site.page("/", pageSpec{Attrs: template.HTMLAttr(`data-api="` + w.stats.origin + `/api/collect"`)})
		w.tab.open(w.url("/"))
		w.stats.waitEvents(1, "pageview", named("pageview"))
		if p := w.stats.all()[0].path; p != "/api/collect" {
			t.Errorf("sent to %q, want /api/collect", p)
		}
	})

	t.Run("outbound link click still navigates", func(t *testing.T) {
		w := newWorld(t, b)
		target := w.site.url(otherHost, "/landing?from=site")
		w.site.page("/links", pageSpec{Attrs: "data-outbound", Body: template.HTML(`<a id="same" href="#top">top</a> <a id="out" href="` + target + `"><b>partner</b></a>`)})
		w.site.page("/landing", pageSpec{Bare: true, Body: `<h1 id="landed">Partner</h1>`})
		w.tab.open(w.url("/links"))
		w.tab.waitTracker()
		w.tab.click("#same") // a link on the same site is not outbound
		w.tab.click("#out b")

		// The link opened as usual...
		w.tab.poll(`location.href == ` + fmt.Sprintf("%q", target) + ` && document.getElementById('landed') != null`)
		// ...and the click was counted, once.
		e := w.stats.waitEvents(1, "outbound", named("Outbound Link: Click"))
		if len(e) != 1 || e[0].Props["url"] != target || !strings.HasPrefix(e[0].URL, w.url("/links")) {
			t.Errorf("outbound events %v, want one with props url %q", e, target)
		}
		w.stats.waitEvents(1, "engagement", named("engagement"))
	})

	t.Run("file download", func(t *testing.T) {
		w := newWorld(t, b)
		dir := t.TempDir()
		w.tab.run(chromedp.ActionFunc(func(ctx context.Context) error {
			return browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllow).
				WithBrowserContextID(w.tab.id).WithDownloadPath(dir).Do(cdp.WithExecutor(ctx, chromedp.FromContext(b).Browser))
		}))
		w.site.page("/downloads", pageSpec{Attrs: "data-downloads", Body: `<a id="report" href="/files/annual-report.pdf">Annual report (PDF)</a> <a id="page" href="#x">not a file</a>`})
		w.tab.open(w.url("/downloads"))
		w.tab.waitTracker()
		w.tab.click("#page")
		w.tab.click("#report")

		e := w.stats.waitEvents(1, "download", named("File Download"))
		if want := w.url("/files/annual-report.pdf"); len(e) != 1 || e[0].Props["url"] != want {
			t.Errorf("download events %v, want one with props url %q", e, want)
		}
		// The file still downloads.
		deadline := time.Now().Add(wait)
		for {
			if b, err := os.ReadFile(filepath.Join(dir, "annual-report.pdf")); err == nil && strings.HasPrefix(string(b), "%PDF") {
				break
			}
			if time.Now().After(deadline) {
				entries, _ := os.ReadDir(dir)
				t.Fatalf("the file was not downloaded within %v (server saw %d request(s); folder %v)", wait, w.site.hits("/files/annual-report.pdf"), entries)
			}
			time.Sleep(20 * time.Millisecond)
		}
		var names []string
		for _, r := range w.tab.settle() {
			names = append(names, r.event.Name)
		}
		if want := []string{"pageview", "File Download"}; !slices.Equal(names, want) {
			t.Errorf("events %q, want %q", names, want)
		}
		w.tab.assertQuiet()
	})

	// Every way a visitor or a site says "do not count": nothing at all leaves the page,
	// whatever the page and the visitor do.
	visit := func(w *world, path string) {
		w.tab.open(w.url(path))
		w.tab.waitTracker()
		w.tab.eval(`loendur('Signup', {props: {plan: 'pro'}})`, nil)
		w.tab.click("#cta")
		w.tab.eval(`history.pushState({}, '', location.pathname + '?tab=2')`, nil)
		w.tab.hide()()
	}
	body := template.HTML(`<button id="cta" data-loendur-event="CTA">Go</button>`)
	for _, tc := range []struct {
		name   string
		init   []string
		attrs  template.HTMLAttr
		path   string
		counts bool
	}{
		{name: "Global Privacy Control", init: []string{gpcOn}},
		{name: "Global Privacy Control with data-dnt=false", init: []string{gpcOn}, attrs: `data-dnt="false"`},
		{name: "Do Not Track", init: []string{dntOn}},
		{name: "Do Not Track with data-dnt=false", init: []string{dntOn}, attrs: `data-dnt="false"`, counts: true},
		{name: "excluded path", attrs: `data-exclude="/admin/*, /preview/*"`, path: "/admin/users"},
		{name: "excluded path pattern", attrs: `data-exclude="/admin/*,/drafts/*/edit"`, path: "/drafts/42/edit"},
		{name: "path not excluded", attrs: `data-exclude="/admin/*,/preview/*"`, path: "/administrators", counts: true},
	} {
		t.Run("nothing sent: "+tc.name, func(t *testing.T) {
			w := newWorld(t, b, tc.init...)
			path := tc.path
			if path == "" {
				path = "/page"
			}
			w.site.page(path, pageSpec{Attrs: tc.attrs, Body: body})
			visit(w, path)
			if tc.counts {
				var names []string
				for _, r := range w.tab.settle() {
					names = append(names, r.event.Name)
				}
				if want := []string{"pageview", "Signup", "CTA", "engagement", "pageview", "engagement"}; !slices.Equal(names, want) {
					t.Errorf("events %q, want %q", names, want)
				}
			} else {
				w.tab.assertNothingSent()
			}
			w.tab.assertQuiet()
			w.tab.assertNoStorage(w.url(path))
		})
	}

	t.Run("nothing sent: local pages unless data-allow-local", func(t *testing.T) {
		w := newWorld(t, b)
		w.site.page("/page", pageSpec{Body: body})
		w.site.page("/allowed", pageSpec{Attrs: "data-allow-local", Body: body})
		for _, host := range []string{"localhost", "127.0.0.1"} {
			w.tab.open(w.site.url(host, "/page"))
			w.tab.waitTracker()
			w.tab.click("#cta")
		}
		w.tab.assertNothingSent()
		w.tab.open(w.site.url("localhost", "/allowed"))
		w.stats.waitEvents(1, "pageview", named("pageview"))
		w.tab.assertQuiet()
	})

	t.Run("nothing sent after optOut, again after optIn", func(t *testing.T) {
		w := newWorld(t, b)
		w.site.page("/page", pageSpec{Body: body})
		w.tab.open(w.url("/page"))
		w.tab.waitTracker()
		w.stats.waitEvents(1, "pageview", named("pageview"))

		// The visitor opts out (e.g. from the site's privacy page).
		w.tab.eval(`loendur.optOut()`, nil)
		m := w.tab.mark()
		w.tab.click("#cta")
		w.tab.hide()()
		w.tab.assertNothingSentSince(m)
		// ...and stays out on later visits: the flag is the one thing stored.
		visit(w, "/page")
		w.tab.assertNothingSentSince(m)
		w.tab.assertNoStorage(w.url("/page"), "localStorage.loendur_optout")

		w.tab.eval(`loendur.optIn()`, nil)
		w.tab.assertNoStorage(w.url("/page"))
		w.tab.open(w.url("/page"))
		w.stats.waitEvents(2, "pageview", named("pageview"))
		w.tab.assertQuiet()
	})

	t.Run("old browser: does nothing, breaks nothing", func(t *testing.T) {
		w := newWorld(t, b, oldBrowser)
		w.site.page("/page", pageSpec{
			Head: stub + `<script>loendur('Signup')</script>`,
			Body: `<button id="cta" data-loendur-event="CTA" onclick="this.textContent = 'clicked'">Go</button>`,
		})
		w.tab.open(w.url("/page"))
		w.tab.poll(`document.readyState == 'complete'`)
		w.tab.click("#cta")
		w.tab.poll(`document.getElementById('cta').textContent == 'clicked'`)
		w.tab.eval(`loendur('Later')`, nil) // the stub still answers
		w.tab.assertNothingSent()
		w.tab.assertQuiet()
	})

	t.Run("collector down: the page keeps working", func(t *testing.T) {
		w := newWorld(t, b)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		ln.Close() // nothing listens there now
		w.site.page("/page", pageSpec{
			Attrs: template.HTMLAttr(`data-outbound data-api="http://stats.test:` + port + `/api/event"`),
			Body:  `<button id="cta" data-loendur-event="CTA" onclick="this.textContent = 'clicked'">Go</button><a id="next" href="/next">next</a>`,
		})
		w.site.page("/next", pageSpec{Bare: true, Body: `<h1 id="next-page">Next</h1>`})
		w.tab.open(w.url("/page"))
		w.tab.waitTracker()
		w.tab.click("#cta")
		w.tab.poll(`document.getElementById('cta').textContent == 'clicked'`)
		var ok bool
		w.tab.eval(`loendur('Signup', {props: {plan: 'pro'}}) === undefined`, &ok)
		w.tab.eval(`history.pushState({}, '', '/page/2'); location.pathname == '/page/2'`, &ok)
		if !ok {
			t.Errorf("history.pushState no longer works")
		}
		w.tab.hide()()
		w.tab.click("#next")
		w.tab.poll(`document.getElementById('next-page') != null`)

		w.tab.mu.Lock()
		defer w.tab.mu.Unlock()
		if len(w.tab.errors) > 0 || len(w.tab.console) > 0 {
			t.Errorf("errors or console output on the page: %q %q", w.tab.errors, w.tab.console)
		}
		t.Logf("the browser's own network log (not the page's console API): %q", w.tab.netErrs)
	})

	t.Run("data-debug explains what is not sent", func(t *testing.T) {
		w := newWorld(t, b, gpcOn)
		w.site.page("/page", pageSpec{Attrs: "data-debug", Body: body})
		w.tab.open(w.url("/page"))
		w.tab.waitTracker()
		w.tab.assertNothingSent()
		w.tab.mu.Lock()
		defer w.tab.mu.Unlock()
		if len(w.tab.console) == 0 || !strings.Contains(w.tab.console[0], "skip") || !strings.Contains(w.tab.console[0], "pageview") {
			t.Errorf("console %q, want a line saying the pageview was skipped", w.tab.console)
		}
	})
}

// A browser driven by automation (WebDriver, Puppeteer, ...) announces itself with
// navigator.webdriver; the tracker counts none of its visits.
func TestTrackerIgnoresAutomatedBrowsers(t *testing.T) {
	b := launch(t, true)
	w := newWorld(t, b)
	w.site.page("/page", pageSpec{Body: `<button id="cta" data-loendur-event="CTA">Go</button>`})
	w.tab.open(w.url("/page"))
	var webdriver bool
	w.tab.eval(`navigator.webdriver`, &webdriver)
	if !webdriver {
		t.Fatalf("navigator.webdriver is false in a browser started with --enable-automation")
	}
	w.tab.waitTracker()
	w.tab.click("#cta")
	w.tab.eval(`loendur('Signup')`, nil)
	w.tab.hide()()
	w.tab.assertNothingSent()
	w.tab.assertQuiet()
}
