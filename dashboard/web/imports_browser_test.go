package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/websystems/loendur/internal/imports/importstest"
)

// An admin imports a site's Plausible export on Sites and settings, sees it listed, and
// the report page shows the imported days with the note "Includes imported data",
// which hides and shows them.
func TestImportInChromium(t *testing.T) {
	srv := startServer(t)
	tb := newTab(t)
	tb.login(srv.origin, "/admin/sites", adminEmail, password)
	tb.waitFor("the sites page", `location.pathname === "/admin/sites"`)
	box := `details.imports[data-site="` + shopSite + `"]`
	tb.run(chromedp.Click(box+` summary`, chromedp.ByQuery))
	tb.waitFor("the empty list", `document.querySelector('`+box+` .import-list').innerText.includes('No import yet')`)
	tb.run(
		chromedp.SetUploadFiles(box+` input[type=file]`, []string{importstest.Plausible(t, shopSite)}, chromedp.ByQuery),
		chromedp.Click(box+` button[type=submit]`, chromedp.ByQuery),
	)
	tb.waitFor("the import to finish", `document.querySelector('`+box+` .import-status').innerText.startsWith('Imported')`)
	if got := tb.text(box + ` .import-status`); got != "Imported 31 rows (plausible)." {
		t.Errorf("status %q", got)
	}
	tb.waitFor("the import in the list", `document.querySelector('`+box+` .import-list').innerText.includes('2024-02-01 to 2024-02-02, 31 rows')`)

	tb.run(chromedp.Navigate(srv.origin + "/sites/" + shopSite + "?period=custom&from=2024-02-01&to=2024-02-02"))
	tb.waitFor("the overview figures", `document.querySelector('[data-metric="visitors"] .metric-value')`)
	tb.waitFor("the imported note", `document.getElementById('imported-note')`)
	if v, note := tb.metric("visitors"), tb.text("#imported-note"); v != "18" || note != "Includes imported data. Hide imported data" {
		t.Errorf("visitors %q, note %q", v, note)
	}
	tb.run(chromedp.Click(`#imported-note button`, chromedp.ByQuery))
	tb.waitFor("imported data hidden", `(document.getElementById('imported-note') || {}).innerText === 'Imported data hidden. Show imported data'`)
	tb.waitFor("the figures without it", `document.querySelector('[data-metric="visitors"] .metric-value').innerText === '0'`)
	if loc := tb.location(); loc != srv.origin+"/sites/"+shopSite+"?period=custom&from=2024-02-01&to=2024-02-02&imported=0" {
		t.Errorf("location %s: the choice belongs in the URL", loc)
	}
	tb.noScriptErrors()
}
