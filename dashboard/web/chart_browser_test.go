package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestMainChart: the chart shows one metric, chosen by clicking its card; 12 months
// come by month with a choice of days, weeks or months; the legend shows the latest
// point before any hover; the comparison is the previous period, the same period last
// year, or none; today's hours that have not begun are not drawn as zero.
func TestMainChart(t *testing.T) {
	srv := startServer(t)
	for _, w := range widths {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			tb := newTab(t)
			tb.size(w, 900)
			tb.login(srv.origin, "/sites/"+shopSite, adminEmail, password)
			tb.waitFor("the report page", `location.pathname === "/sites/`+shopSite+`"`)
			tb.reportsReady()
			aria := func() string {
				var s string
				tb.eval(`document.querySelector('#chart').getAttribute('aria-label') || ""`, &s)
				return s
			}

			// Clicking a card charts its metric, on an axis of its own (percent).
			tb.run(chromedp.Click(`button.metric[data-metric="bounce_rate"]`, chromedp.ByQuery))
			tb.waitFor("the bounce rate chart", `(document.querySelector('#chart').getAttribute('aria-label') || '').startsWith('Bounce rate by day')`)
			var pressed []string
			tb.eval(`[...document.querySelectorAll('button.metric[aria-pressed="true"]')].map(b => b.dataset.metric)`, &pressed)
			if strings.Join(pressed, ",") != "bounce_rate" {
				t.Errorf("cards pressed: %v, want bounce_rate only", pressed)
			}
			if v := tb.text(`#legend-value`); !strings.HasSuffix(v, "%") {
				t.Errorf("legend of the bounce rate shows %q, want a percentage", v)
			}
			if !strings.Contains(tb.location(), "metric=bounce_rate") {
				t.Errorf("the chosen metric is not in the URL: %s", tb.location())
			}
			tb.screenshot(fmt.Sprintf("chart-bounce-%d", w))

			// The same period last year; then no comparison at all.
			tb.run(chromedp.SetValue(`#compare`, "year", chromedp.ByQuery),
				chromedp.Evaluate(`document.querySelector('#compare').dispatchEvent(new Event('change'))`, nil))
			tb.waitFor("the year-before comparison", `(document.querySelector('#chart-legend') || {}).textContent.includes('A year before') &&
				document.querySelector('#period-label').textContent.includes('compared with') &&
				document.querySelector('#period-label').textContent.split('compared with')[1].includes(String(new Date().getUTCFullYear() - 1))`)
			tb.run(chromedp.SetValue(`#compare`, "off", chromedp.ByQuery),
				chromedp.Evaluate(`document.querySelector('#compare').dispatchEvent(new Event('change'))`, nil))
			tb.waitFor("no comparison", `!document.querySelector('#legend-previous') && document.querySelector('#legend-value') && !document.querySelector('#period-label').textContent.includes('compared')`)

			// 12 months by month, with days and weeks to choose from.
			tb.run(chromedp.SetValue(`#period`, "12mo", chromedp.ByQuery),
				chromedp.Evaluate(`document.querySelector('#period').dispatchEvent(new Event('change'))`, nil))
			tb.waitFor("the monthly chart", `(document.querySelector('#chart').getAttribute('aria-label') || '').includes(' by month')`)
			var options []string
			tb.eval(`[...document.querySelectorAll('#interval option')].map(o => o.textContent)`, &options)
			if strings.Join(options, ",") != "Days,Weeks,Months" {
				t.Errorf("interval choices for 12 months: %v", options)
			}
			// Clicked in the page: the overview redraws its buttons when the period's
			// figures arrive, and a node chromedp looked up just before may be gone.
			tb.eval(`document.querySelector('button.metric[data-metric="visitors"]').click(), true`, nil)
			tb.waitFor("visitors by month", `(document.querySelector('#chart').getAttribute('aria-label') || '').startsWith('Unique visitors by month')`)
			tb.screenshot(fmt.Sprintf("chart-12mo-%d", w))
			tb.run(chromedp.SetValue(`#interval`, "week", chromedp.ByQuery),
				chromedp.Evaluate(`document.querySelector('#interval').dispatchEvent(new Event('change'))`, nil))
			tb.waitFor("visitors by week", `(document.querySelector('#chart').getAttribute('aria-label') || '').startsWith('Unique visitors by week')`)

			// Today: the legend shows the current hour, and the hours after it are gaps.
			tb.run(chromedp.SetValue(`#period`, "today", chromedp.ByQuery),
				chromedp.Evaluate(`document.querySelector('#period').dispatchEvent(new Event('change'))`, nil))
			tb.waitFor("the hourly chart", `(document.querySelector('#chart').getAttribute('aria-label') || '').includes(' by hour')`)
			r := tb.fetch("/api/v1/stats/timeseries?site="+shopSite+"&period=today", "GET", nil, "")
			if r.Status != 200 || !strings.Contains(r.Body, `"interval":"hour"`) {
				t.Fatalf("today's time series: %d %s", r.Status, r.Body)
			}
			var begun, future int
			tb.eval(`(async () => { const d = await (await fetch('/api/v1/stats/timeseries?site=`+shopSite+`&period=today')).json(); return d.rows.filter(r => r.visitors !== null).length })()`, &begun)
			tb.eval(`(async () => { const d = await (await fetch('/api/v1/stats/timeseries?site=`+shopSite+`&period=today')).json(); return d.rows.filter(r => r.visitors === null).length })()`, &future)
			var hourNow int
			tb.eval(`new Date().getUTCHours()`, &hourNow)
			if begun != hourNow+1 || future != 23-hourNow {
				t.Errorf("today at hour %d (UTC): %d hours with figures, %d null; want %d and %d", hourNow, begun, future, hourNow+1, 23-hourNow)
			}
			if a := aria(); !strings.Contains(a, fmt.Sprintf("%02d:00", hourNow)) {
				t.Errorf("the latest point of today's chart: %q, want the current hour %02d:00", a, hourNow)
			}
			tb.noSidewaysScroll("chart")
			tb.screenshot(fmt.Sprintf("chart-today-%d", w))
			tb.noScriptErrors()
		})
	}
}
