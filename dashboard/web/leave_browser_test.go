package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestWhereVisitorsLeave: exit pages with their exit rate, scroll drop-off and funnels
// are one card, each measure explained; at 375 px every table shows its label and key
// figures (exit rate included) without sideways scrolling, and so do the admin pages.
func TestWhereVisitorsLeave(t *testing.T) {
	srv := startServer(t)
	for _, w := range widths {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			tb := newTab(t)
			tb.size(w, 900)
			tb.login(srv.origin, "/sites/"+shopSite, adminEmail, password)
			tb.waitFor("the report page", `location.pathname === "/sites/`+shopSite+`"`)
			tb.reportsReady()
			tb.waitFor("the exit pages", `document.querySelectorAll('#card-leave #panel-exits tbody tr').length > 0`)
			tb.waitFor("the scroll drop-off", `document.querySelectorAll('#card-leave #card-scroll .steps-bars li').length === 4`)

			// One card holds the three views.
			var parts []string
			tb.eval(`[...document.querySelectorAll('#card-leave .leave-part > .card-head h3')].map(h => h.textContent)`, &parts)
			if strings.Join(parts, ",") != "Exit pages,Scroll drop-off,Funnels" {
				t.Errorf("where visitors leave holds %v", parts)
			}
			if n := len(strings.Split(tb.text(`#panel-pages [role=tablist]`), "\n")); strings.Contains(tb.text(`#card-pages`), "Exit pages") {
				t.Errorf("exit pages are still a tab of the Pages card (%d tabs)", n)
			}
			// The exit rate is shown and explained, and so is every measure of the card.
			var exitHead struct {
				Visible bool   `json:"visible"`
				Title   string `json:"title"`
				Rate    string `json:"rate"`
			}
			tb.eval(`(() => { const ths = [...document.querySelectorAll('#panel-exits th')]; const i = ths.findIndex(th => th.textContent === 'Exit rate');
				if (i < 0) return {visible: false, title: '', rate: ''};
				const td = document.querySelector('#panel-exits tbody tr').children[i];
				return {visible: ths[i].offsetParent !== null && td.getBoundingClientRect().right <= window.innerWidth, title: ths[i].title, rate: td.textContent} })()`, &exitHead)
			if !exitHead.Visible || !strings.HasSuffix(exitHead.Rate, "%") || !strings.Contains(exitHead.Title, "last of their visit") {
				t.Errorf("exit rate column: %+v", exitHead)
			}
			var terms []string
			tb.eval(`[...document.querySelectorAll('#measures dt')].map(d => d.textContent)`, &terms)
			if strings.Join(terms, ",") != "Exit rate,Scroll,Time on page,Bounce rate" {
				t.Errorf("measures explained: %v", terms)
			}

			// No table scrolls sideways; each keeps its label and visitors.
			var wide []string
			tb.eval(`[...document.querySelectorAll('.table-wrap')].filter(w => w.offsetParent && w.scrollWidth > w.clientWidth + 1).map(w => w.closest('[id]').id)`, &wide)
			if len(wide) > 0 {
				t.Errorf("tables wider than their card: %v", wide)
			}
			tb.noSidewaysScroll("report")
			tb.run(chromedp.ScrollIntoView(`#card-leave`, chromedp.ByQuery))
			tb.screenshotElement(fmt.Sprintf("where-visitors-leave-%d", w), `#card-leave`)

			// Admin pages: the header stays one row, the audit log fits the screen.
			for _, page := range []string{"/admin/audit", "/admin/users", "/admin/sites", "/account"} {
				tb.run(chromedp.Navigate(srv.origin + page))
				tb.waitFor(page, `location.pathname === "`+page+`" && document.readyState === "complete"`)
				var barHeight float64
				tb.eval(`document.querySelector('header.bar').getBoundingClientRect().height`, &barHeight)
				if barHeight > 64 {
					t.Errorf("%s: the header is %.0f px high: it wrapped", page, barHeight)
				}
				tb.noSidewaysScroll(page)
			}
			tb.run(chromedp.Navigate(srv.origin + "/admin/audit"))
			tb.waitFor("the audit log", `document.readyState === "complete"`)
			var auditWide bool
			tb.eval(`[...document.querySelectorAll('main .scroll')].some(s => s.scrollWidth > s.clientWidth + 1)`, &auditWide)
			if auditWide {
				t.Error("the audit log scrolls sideways")
			}
			tb.screenshot(fmt.Sprintf("admin-audit-%d", w))
			tb.noScriptErrors()
		})
	}
}
