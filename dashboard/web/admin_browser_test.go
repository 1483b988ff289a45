package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestAdminsOnlyAndGeoIPNotice: a manager who opens an admin page gets the dashboard's
// styled "No access" page (header, style sheet), not a bare line of text; without a
// GeoIP database the Locations card says so and how to add one.
func TestAdminsOnlyAndGeoIPNotice(t *testing.T) {
	srv := startServer(t)
	for _, w := range widths {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			tb := newTab(t)
			tb.size(w, 900)
			tb.login(srv.origin, "/admin/users", mgrEmail, password)
			tb.waitFor("the refusal", `location.pathname === "/admin/users" && document.querySelector('main h1')`)
			if h := tb.text("main h1"); h != "No access" || !strings.Contains(tb.text("main"), "admins only") {
				t.Errorf("a manager on /admin/users sees %q: %q", h, tb.text("main"))
			}
			var styled bool
			tb.eval(`!!document.querySelector('header.bar') && !!document.querySelector('link[rel=stylesheet][href^="/assets/app.css"]') && !!document.querySelector('link[rel=icon][href^="/assets/favicon.svg"]')`, &styled)
			if !styled {
				t.Error("the refusal lacks the dashboard's header, style sheet or favicon")
			}
			if r := tb.fetch("/admin/users", "GET", nil, ""); r.Status != 403 {
				t.Errorf("status %d, want 403", r.Status)
			}
			tb.noSidewaysScroll("no access")
			tb.screenshot(fmt.Sprintf("admins-only-%d", w))

			// The manager's own report: no GeoIP database in this server.
			tb.run(chromedp.Navigate(srv.origin + "/sites/" + clientSite))
			tb.waitFor("the report", `location.pathname === "/sites/`+clientSite+`"`)
			tb.waitFor("the GeoIP notice", `document.querySelector('#card-locations #geoip-notice')`)
			if n := tb.text(`#geoip-notice`); !strings.Contains(n, "--geoip") || !strings.Contains(n, "GeoLite2") {
				t.Errorf("GeoIP notice: %q", n)
			}
			tb.noScriptErrors()
		})
	}
}
