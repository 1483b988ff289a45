package browsertest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/websystems/loendur/internal/testenv"
)

// firefoxUA makes a second browser: the collector tells visitors apart by address and
// user agent, and every tab here comes from 127.0.0.1.
const firefoxUA = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"

// loendur.forget() from the README's privacy page erases this browser's events on the
// site, and only those: another browser's visits on the same site stay. The page learns
// how many went. The site asks for consent first (data-consent="required").
func TestForgetInBrowser(t *testing.T) {
	testenv.ClickHouseAddr(t)
	b := launch(t, false)
	c := startCollector(t)
	st := &stats{t: t, origin: c.origin}
	s := startSite(t, st)
	s.page("/privacy", pageSpec{Attrs: `data-consent="required"`, Body: privacySnippet(t)})
	s.page("/article", pageSpec{Attrs: `data-consent="required"`})
	s.page("/other-article", pageSpec{Attrs: `data-consent="required"`})
	s.page("/away", pageSpec{Bare: true})

	// Another browser on the same site: consents, reads an article and signs up. It
	// stays on the page: Chromium sends what a page sends as it is left with the
	// browser's own user agent, not the tab's override, which would make it this browser.
	other := newTab(t, b, st)
	other.run(chromedp.ActionFunc(func(ctx context.Context) error {
		return emulation.SetUserAgentOverride(firefoxUA).Do(ctx)
	}))
	other.open(s.url(siteHost, "/other-article"))
	other.waitTracker()
	other.eval(`loendur.consent(true); loendur('Signup')`, nil)
	isOther := func(r row) bool { return r.Pathname == "/other-article" }
	c.waitRows(2, "other browser's", isOther)

	// This browser: consents on the privacy page, reads an article, comes back.
	tb := newTab(t, b, st)
	tb.open(s.url(siteHost, "/privacy"))
	tb.waitTracker()
	tb.click("#loendur-consent")
	tb.open(s.url(siteHost, "/article"))
	tb.waitTracker()
	tb.open(s.url(siteHost, "/privacy"))
	tb.waitTracker()
	rows := c.waitRows(2, "privacy page view", func(r row) bool { return r.Name == "pageview" && r.Pathname == "/privacy" })
	mine := len(slices.DeleteFunc(slices.Clone(rows), isOther))
	if mine != 5 { // pageview and engagement of /privacy and /article, pageview of /privacy
		t.Fatalf("this browser has %d events stored, want 5: %v", mine, rows)
	}

	tb.click("#loendur-forget")
	tb.poll(`document.getElementById('loendur-forget-result').textContent != ''`)
	var result string
	tb.eval(`document.getElementById('loendur-forget-result').textContent`, &result)
	if want := fmt.Sprintf("Done: %d events erased.", mine); result != want {
		t.Errorf("the privacy page says %q, want %q", result, want)
	}
	left := c.rows()
	if len(left) != 2 || !isOther(left[0]) || !isOther(left[1]) {
		t.Errorf("after forget() the site has %v, want only the other browser's 2 events", left)
	}
	if n := c.ledgerRows(); n != 1 {
		t.Errorf("%d erasure ledger rows after one erasure, want 1", n)
	}

	// The promise itself gives the count: nothing left of this browser now.
	var n int
	tb.awaitEval(`loendur.forget()`, &n)
	if n != 0 {
		t.Errorf("a second forget() erased %d, want 0", n)
	}
	tb.assertNoStorage(s.url(siteHost, "/privacy"), "localStorage.loendur_optout")
	other.open(s.url(siteHost, "/away")) // a page of the site without the tracker
	other.assertNoStorage(s.url(siteHost, "/away"), "localStorage.loendur_optout")
	tb.assertQuiet()
}
