package web_test

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"strings"
	"testing"

	"github.com/websystems/loendur/internal/store"

	"github.com/chromedp/chromedp"
)

// TestFilterPicker: any dimension can be filtered with is / is not / contains from the
// picker, not only by clicking a row; a chip says what the row said ("Direct / none",
// "Estonia (EE)"); Realtime counts who is on a filtered page now.
func TestFilterPicker(t *testing.T) {
	srv := startServer(t)
	// A third visitor right now, who was on /pricing and moved on to /.
	now := time.Now().UTC()
	var moved []store.Event
	for i, p := range []string{"/pricing", "/"} {
		moved = append(moved, store.Event{EventID: uuid.New(), Site: shopSite, Hostname: shopSite, Name: "pageview", Pathname: p,
			Timestamp: now.Add(time.Duration(i-3) * time.Minute), VisitorID: 9002, SessionID: 9902, Device: "desktop"})
	}
	if err := store.InsertEvents(context.Background(), srv.db, moved); err != nil {
		t.Fatal(err)
	}
	for _, w := range widths {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			tb := newTab(t)
			tb.size(w, 900)
			tb.login(srv.origin, "/sites/"+shopSite, adminEmail, password)
			tb.waitFor("the report page", `location.pathname === "/sites/`+shopSite+`"`)
			tb.reportsReady()
			chips := func() string {
				var s []string
				tb.eval(`[...document.querySelectorAll('#filters .chip-text')].map(c => c.textContent)`, &s)
				return strings.Join(s, " | ")
			}

			// Row labels become chip labels.
			for _, row := range []struct{ card, label, chip string }{
				{"sources", "Direct / none", "Source is Direct / none"},
				{"locations", "Estonia (EE)", "Country is Estonia (EE)"},
			} {
				tb.waitFor(row.label+" row", fmt.Sprintf(`[...document.querySelectorAll('#panel-%s a.row-link')].some(a => a.textContent === %q)`, row.card, row.label))
				tb.eval(fmt.Sprintf(`[...document.querySelectorAll('#panel-%s a.row-link')].find(a => a.textContent === %q).click()`, row.card, row.label), nil)
				tb.waitFor("the chip "+row.chip, fmt.Sprintf(`[...document.querySelectorAll('#filters .chip-text')].some(c => c.textContent === %q)`, row.chip))
			}
			tb.run(chromedp.Click(`#filters button.clear`, chromedp.ByQuery))
			tb.waitFor("no filters", `document.querySelectorAll('#filters .chip').length === 0`)
			tb.reportsReady()

			pick := func(key, op, value string) {
				tb.run(chromedp.Click(`#filter-add`, chromedp.ByQuery))
				tb.waitFor("the picker", `!document.getElementById('filter-form').hidden`)
				tb.run(chromedp.SetValue(`#filter-key`, key, chromedp.ByQuery),
					chromedp.SetValue(`#filter-op`, op, chromedp.ByQuery),
					chromedp.SendKeys(`#filter-value`, value, chromedp.ByQuery),
					chromedp.Click(`#filter-apply`, chromedp.ByQuery))
			}

			// Page is not /pricing: no /pricing row in the pages; the URL keeps it.
			pick("page", "is_not", "/pricing")
			tb.waitFor("the is-not chip", `[...document.querySelectorAll('#filters .chip-text')].some(c => c.textContent === "Page is not /pricing")`)
			tb.reportsReady()
			if !strings.Contains(tb.location(), "filters=page!=/pricing") {
				t.Errorf("URL %s", tb.location())
			}
			tb.waitFor("top pages without /pricing", `(() => { const p = [...document.querySelectorAll('#panel-pages tbody tr .row-link')].map(a => a.textContent);
				return p.length > 0 && !p.includes('/pricing') && p.includes('/') })()`)
			tb.run(chromedp.Click(`#filters .chip-remove`, chromedp.ByQuery))
			tb.waitFor("no filters", `document.querySelectorAll('#filters .chip').length === 0`)

			// Source contains "goo" (any case): Google only.
			pick("source", "contains", "goo")
			tb.waitFor("the contains chip", `[...document.querySelectorAll('#filters .chip-text')].some(c => c.textContent === "Source contains goo")`)
			tb.reportsReady()
			tb.waitFor("sources filtered", `[...document.querySelectorAll('#panel-sources tbody .row-link')].map(a => a.textContent).join() === "Google"`)
			tb.screenshot(fmt.Sprintf("filters-%d", w))
			tb.run(chromedp.Click(`#filters .chip-remove`, chromedp.ByQuery))
			tb.waitFor("no filters", `document.querySelectorAll('#filters .chip').length === 0`)

			// Realtime: three visitors now, two on / (one came from /pricing) and one on
			// /pricing; filtered by page /pricing it counts the one who is there.
			tb.waitFor("realtime 3", `(document.getElementById('realtime-now') || {}).textContent === "3"`)
			pick("page", "is", "/pricing")
			tb.waitFor("the page chip", `[...document.querySelectorAll('#filters .chip-text')].some(c => c.textContent === "Page is /pricing")`)
			tb.waitFor("realtime under the page filter", `(document.getElementById('realtime-now') || {}).textContent === "1" &&
				[...document.querySelectorAll('#card-realtime tbody .row-link')].map(a => a.textContent).join() === "/pricing"`)
			if got := chips(); got != "Page is /pricing" {
				t.Errorf("chips: %s", got)
			}
			tb.noSidewaysScroll("filters")
			tb.noScriptErrors()
		})
	}
}
