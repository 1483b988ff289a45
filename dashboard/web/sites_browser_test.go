package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/store"
)

// newSite is registered without any event: it must explain how to set it up.
const newSite = "new.test"

// widths are the two screens every page is checked at: a laptop and a small phone.
var widths = []int64{1440, 375}

// noSidewaysScroll fails when the page is wider than the screen.
func (tb *tab) noSidewaysScroll(what string) {
	tb.t.Helper()
	var over int
	tb.eval(`document.documentElement.scrollWidth - window.innerWidth`, &over)
	if over > 0 {
		tb.t.Errorf("%s: the page is %d px wider than the screen", what, over)
	}
}

// TestAllSitesPage: an admin's "/" lists every site with its visitors today and over 7
// days, a trend line and a flag on a site that received nothing in 24 hours or never;
// the search narrows the list, and so does the header's site switcher.
func TestAllSitesPage(t *testing.T) {
	srv := startServer(t, newSite)
	for _, w := range widths {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			tb := newTab(t)
			tb.size(w, 900)
			tb.login(srv.origin, "/", adminEmail, password)
			tb.waitFor("the all-sites page", `location.pathname === "/" && document.querySelector('main[data-allsites]')`)
			tb.waitFor("the figures", `document.querySelector('main').dataset.loaded === "true"`)

			var sitesShown []string
			tb.eval(`[...document.querySelectorAll('#sites-table tbody tr')].map(tr => tr.dataset.site)`, &sitesShown)
			if strings.Join(sitesShown, ",") != "client.test,new.test,shop.test" {
				t.Errorf("sites listed: %v, want client.test, new.test, shop.test", sitesShown)
			}
			// The fixture: 2 visitors right now, 40 more over the 6 days before today.
			if got := tb.text(`tr[data-site="shop.test"] [data-col=today] .figure-value`); got != "2" {
				t.Errorf("shop.test today: %q, want 2", got)
			}
			if got := tb.text(`tr[data-site="shop.test"] [data-col=week] .figure-value`); got != "42" {
				t.Errorf("shop.test over 7 days: %q, want 42", got)
			}
			var points int
			tb.eval(`document.querySelector('tr[data-site="shop.test"] svg.spark polyline').getAttribute('points').split(' ').length`, &points)
			if points != 14 {
				t.Errorf("trend line of shop.test has %d points, want 14 days", points)
			}
			flags := map[string]string{"shop.test": "", "client.test": "nothing in 24 h", "new.test": "not set up"}
			for site, want := range flags {
				var got string
				tb.eval(fmt.Sprintf(`(() => { const f = document.querySelector('tr[data-site=%q] .flag'); return f.hidden ? "" : f.textContent })()`, site), &got)
				if got != want {
					t.Errorf("flag of %s: %q, want %q", site, got, want)
				}
			}
			tb.noSidewaysScroll("all sites")
			tb.scheme("light")
			tb.screenshot(fmt.Sprintf("allsites-%d", w))
			if w == 1440 {
				tb.scheme("dark")
				tb.screenshot(fmt.Sprintf("allsites-%d-dark", w))
				tb.scheme("light")
			}

			// Search keeps the matching rows only.
			tb.run(chromedp.SendKeys(`#site-search`, "shop", chromedp.ByQuery))
			var visible []string
			tb.eval(`[...document.querySelectorAll('#sites-table tbody tr')].filter(tr => !tr.hidden).map(tr => tr.dataset.site)`, &visible)
			if strings.Join(visible, ",") != shopSite {
				t.Errorf("after searching shop: %v", visible)
			}

			// The site switcher searches too, and Enter opens the site left.
			tb.run(chromedp.Click(`#site-menu summary`, chromedp.ByQuery))
			tb.waitFor("the switcher's search field", `document.activeElement && document.activeElement.id === "site-menu-search"`)
			tb.run(chromedp.SendKeys(`#site-menu-search`, "cli", chromedp.ByQuery))
			var offered []string
			tb.eval(`[...document.querySelectorAll('#site-menu li[data-site]')].filter(li => !li.hidden).map(li => li.dataset.site)`, &offered)
			if strings.Join(offered, ",") != clientSite {
				t.Errorf("switcher after typing cli offers %v", offered)
			}
			tb.run(chromedp.SendKeys(`#site-menu-search`, "\r", chromedp.ByQuery))
			tb.waitFor("client.test from the switcher", `location.pathname === "/sites/client.test"`)

			// /sites is the same page.
			tb.run(chromedp.Navigate(srv.origin + "/sites"))
			tb.waitFor("/sites", `document.querySelector('main[data-allsites]') && document.querySelector('main').dataset.loaded === "true"`)
			tb.noScriptErrors()
		})
	}
}

// TestManagerWithSeveralSitesSeesAllSites: a manager with two sites gets the all-sites
// page at "/", listing only those two.
func TestManagerWithSeveralSitesSeesAllSites(t *testing.T) {
	srv := startServer(t, newSite)
	const email = "two@client.test"
	if _, _, err := auth.AddUser(context.Background(), srv.db, email, auth.RoleManager, []string{clientSite, newSite}, password); err != nil {
		t.Fatal(err)
	}
	tb := newTab(t)
	tb.size(375, 800)
	tb.login(srv.origin, "/", email, password)
	tb.waitFor("the all-sites page", `location.pathname === "/" && document.querySelector('main').dataset.loaded === "true"`)
	var listed []string
	tb.eval(`[...document.querySelectorAll('#sites-table tbody tr')].map(tr => tr.dataset.site)`, &listed)
	if strings.Join(listed, ",") != "client.test,new.test" {
		t.Errorf("the manager sees %v, want client.test and new.test only", listed)
	}
	// The API gives them no other site either.
	if r := tb.fetch("/api/v1/summary?site="+shopSite, "GET", nil, ""); r.Status != 403 {
		t.Errorf("summary of a site not theirs: %d %s", r.Status, r.Body)
	}
	tb.noScriptErrors()
}

// TestNewSiteExplainsItself: a site without events shows its snippet with this
// server's full address and how to check it, and turns into the report when the
// first page view arrives. The Sites page shows the same snippet.
func TestNewSiteExplainsItself(t *testing.T) {
	srv := startServer(t, newSite)
	want := `<script defer src="` + srv.origin + `/js/script.js" data-site="new.test"></script>`
	for i, w := range widths {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			tb := newTab(t)
			tb.size(w, 900)
			tb.login(srv.origin, "/sites/"+newSite, adminEmail, password)
			tb.waitFor("the report page", `location.pathname === "/sites/new.test" && document.getElementById('setup')`)
			if i == 0 {
				tb.waitFor("the setup card", `document.getElementById('setup') && !document.getElementById('setup').hidden`)
				if got := tb.text(`#snippet`); got != want {
					t.Errorf("snippet: %q, want %q", got, want)
				}
				if got := tb.text(`#setup`); !strings.Contains(got, srv.origin+"/api/event") || !strings.Contains(got, "202") ||
					!strings.Contains(got, "Global Privacy Control or Do Not Track is not counted") {
					t.Errorf("the setup card does not say how to check: %q", got)
				}
				var overviewShown bool
				tb.eval(`document.getElementById('card-overview').offsetParent !== null`, &overviewShown)
				if overviewShown {
					t.Error("a site without events shows a report of zeros beside its snippet")
				}
				tb.noSidewaysScroll("setup")
				tb.screenshot(fmt.Sprintf("setup-%d", w))

				// The first page view arrives: the page turns into the report by itself.
				ev := store.Event{EventID: uuid.New(), Site: newSite, Hostname: newSite, Name: "pageview", Pathname: "/",
					Timestamp: time.Now().UTC().Add(-time.Second), VisitorID: 1, SessionID: 1}
				if err := store.InsertEvents(context.Background(), srv.db, []store.Event{ev}); err != nil {
					t.Fatal(err)
				}
				tb.waitFor("the report after the first page view", `document.getElementById('setup').hidden && document.getElementById('card-overview').offsetParent !== null`)
				tb.waitFor("the visitor counted", `(document.querySelector('[data-metric="visitors"] .metric-value') || {}).textContent === "1"`)
			}

			// The Sites page shows the full snippet of every site.
			tb.run(chromedp.Navigate(srv.origin + "/admin/sites"))
			tb.waitFor("the Sites page", `document.querySelectorAll('code.snippet').length === 3`)
			var snippets []string
			tb.eval(`[...document.querySelectorAll('code.snippet')].map(c => c.textContent)`, &snippets)
			found := false
			for _, s := range snippets {
				found = found || s == want
			}
			if !found {
				t.Errorf("the Sites page shows %v, not %q", snippets, want)
			}
			tb.noSidewaysScroll("sites page")
			tb.screenshot(fmt.Sprintf("admin-sites-%d", w))
			tb.noScriptErrors()
		})
	}
}
