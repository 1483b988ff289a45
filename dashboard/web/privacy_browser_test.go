package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// The privacy page in Chromium, as a client manager uses it: reached from the report
// page, the check with a condition not met, the notice switched to Estonian, a snippet
// copied to the clipboard with its button; another client's site refused.
func TestPrivacyPageInChromium(t *testing.T) {
	srv := startServer(t)
	tb := newTab(t)
	tb.run(browser.GrantPermissions([]browser.PermissionType{browser.PermissionTypeClipboardReadWrite,
		browser.PermissionTypeClipboardSanitizedWrite}).WithOrigin(srv.origin))

	tb.login(srv.origin, "/sites/"+clientSite, mgrEmail, password)
	tb.waitFor("the report page", `document.querySelector('#privacy-link')`)
	tb.run(chromedp.Click(`#privacy-link`, chromedp.ByQuery))
	tb.waitFor("the privacy page", `location.pathname === "/sites/`+clientSite+`/privacy" && document.querySelector('#conditions')`)

	var met map[string]string
	tb.eval(`Object.fromEntries([...document.querySelectorAll('#conditions tr[data-condition]')].map(r => [r.dataset.condition, r.dataset.met]))`, &met)
	if len(met) != 7 || met["opt_out"] != "false" || met["retention"] != "true" || met["ip_truncated"] != "true" {
		t.Errorf("conditions shown: %v", met)
	}
	if v := tb.text("#verdict"); !strings.HasPrefix(v, "The site needs consent before counting (1 of 7 conditions not met: Visitors informed and offered an opt-out)") {
		t.Errorf("verdict: %q", v)
	}
	if tb.text("#privacy-settings") != "" {
		t.Error("a manager is shown the settings form")
	}
	if h := tb.text("#notice-preview h2"); h != "Visitor statistics" {
		t.Errorf("English notice heading %q", h)
	}

	// The language switch.
	tb.run(chromedp.Click(`#lang-switch a[hreflang=et]`, chromedp.ByQuery))
	tb.waitFor("the Estonian notice", `document.querySelector('#notice-preview h2') && document.querySelector('#notice-preview h2').textContent === "Külastusstatistika"`)
	if p := tb.text("#notice-preview"); !strings.Contains(p, "Andmeid hoitakse 25 kuud") || !strings.Contains(p, "esimesed 16 bitti 32-st") {
		t.Errorf("Estonian notice:\n%s", p)
	}
	tb.screenshot("privacy-manager-et")
	var lang string
	tb.eval(`document.querySelector('#notice').lang + "/" + document.querySelector('#lang-switch [aria-current=page]').getAttribute('hreflang')`, &lang)
	if lang != "et/et" {
		t.Errorf("notice language and current switch: %s", lang)
	}

	// A copy button puts its text on the clipboard.
	tb.run(chromedp.Click(`button[data-copy="controls-snippet"]`, chromedp.ByQuery))
	tb.waitFor("the copy confirmation", `document.querySelector('[data-copied="controls-snippet"]').textContent === "Copied."`)
	var same bool
	tb.eval(`navigator.clipboard.readText().then(t => t === document.querySelector('#controls-snippet').value && t.includes('Kustuta minu külastused'))`, &same)
	if !same {
		t.Error("the clipboard does not hold the Estonian controls snippet")
	}

	// Another client's site: refused like an unknown one.
	tb.run(chromedp.Navigate(srv.origin + "/sites/" + shopSite + "/privacy"))
	tb.waitFor("the refusal", `document.querySelector('h1')`)
	if h := tb.text("h1"); h != "No access" {
		t.Errorf("another client's privacy page shows %q", h)
	}
	other := tb.fetch("/sites/"+shopSite+"/privacy", "GET", nil, "")
	unknown := tb.fetch("/sites/nosuchsite.test/privacy", "GET", nil, "")
	api := tb.fetch("/api/v1/sites/"+shopSite+"/privacy", "GET", nil, "")
	if other.Status != 403 || unknown.Status != 403 || other.Body != unknown.Body || api.Status != 403 {
		t.Errorf("another client's privacy page %d, unknown site %d, API %d", other.Status, unknown.Status, api.Status)
	}
	if foreign := tb.foreignRequests(srv.origin); len(foreign) > 0 {
		t.Errorf("the page requested other origins: %v", foreign)
	}
	tb.noScriptErrors()
}

// An admin raises a site's retention to 36 months on the Sites page, and its privacy
// page says at once that the site now needs consent; turning on consent mode there
// changes the tracker tag to copy.
func TestAdminSeesRetentionNeedConsent(t *testing.T) {
	srv := startServer(t)
	tb := newTab(t)
	tb.login(srv.origin, "/admin/sites", adminEmail, password)
	form := `form[action="/admin/sites/` + shopSite + `"]`
	tb.waitFor("the sites page", `document.querySelector('`+form+`')`)
	tb.run(
		chromedp.SetValue(form+` input[name=retention_months]`, "36", chromedp.ByQuery),
		chromedp.Click(form+` button[type=submit]`, chromedp.ByQuery),
	)
	tb.waitFor("the saved site", `document.querySelector('.notice') && document.querySelector('.notice').textContent.includes("Saved `+shopSite+`")`)
	tb.run(chromedp.Navigate(srv.origin + "/sites/" + shopSite + "/privacy"))
	tb.waitFor("the privacy page", `document.querySelector('#conditions')`)
	if r := tb.text(`tr[data-condition=retention]`); !strings.Contains(r, "Not met") || !strings.Contains(r, "Retention is 36 months; the exemption allows at most 25.") {
		t.Errorf("retention row: %q", r)
	}
	if v := tb.text("#verdict"); !strings.HasPrefix(v, "The site needs consent before counting") {
		t.Errorf("verdict: %q", v)
	}
	if p := tb.text("#notice-preview"); !strings.Contains(p, "kept for 36 months") {
		t.Errorf("notice after retention 36:\n%s", p)
	}

	tb.run(
		chromedp.Click(`#privacy-settings input[name=consent_required]`, chromedp.ByQuery),
		chromedp.SetValue(`#privacy-settings input[name=privacy_page]`, "https://"+shopSite+"/privacy", chromedp.ByQuery),
		chromedp.Click(`#privacy-settings button[type=submit]`, chromedp.ByQuery),
	)
	tb.waitFor("the saved settings", `document.querySelector('.notice') && document.querySelector('.notice').textContent.includes("Saved the privacy settings")`)
	var tracker string
	tb.eval(`document.querySelector('#tracker-snippet').value`, &tracker)
	if !strings.Contains(tracker, `data-site="`+shopSite+`" data-consent="required"`) {
		t.Errorf("tracker snippet in consent mode: %s", tracker)
	}
	if v := tb.text("#verdict"); !strings.HasPrefix(v, "The site asks consent before counting") {
		t.Errorf("verdict in consent mode: %q", v)
	}
	tb.screenshot("privacy-admin-consent")
	tb.noScriptErrors()
}
