package web_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/websystems/loendur/dashboard"
	"github.com/websystems/loendur/internal/derived/derivedtest"
)

// A period with more written visits than --sample-above (here 10; the shop's week has
// 40) is estimated from one visitor in 32: the note says so under the overview, and
// its link counts every visit instead, a choice kept in the URL.
func TestSampledFiguresInChromium(t *testing.T) {
	srv := startServerWith(t, func(o *dashboard.Options) { o.SampleAbove = 10 })
	derivedtest.Finalize(t, srv.db, shopSite, time.Now().UTC())
	tb := newTab(t)
	tb.login(srv.origin, "/sites/"+shopSite+"?period=7d", adminEmail, password)
	tb.waitFor("the sample note", `document.getElementById('sample-note')`)
	// One of the 40 visitors (1024) is in the sample, and the two of right now are not.
	if v, note := tb.metric("visitors"), tb.text("#sample-note"); v != "32" || note != "Estimated from 1 in 32 visitors. Count every visit" {
		t.Errorf("visitors %q, note %q", v, note)
	}
	tb.run(chromedp.Click(`#sample-note button`, chromedp.ByQuery))
	tb.waitFor("every visit counted", `(document.getElementById('sample-note') || {}).innerText === 'Every visit counted. Estimate (faster)'`)
	tb.waitFor("the exact figures", `document.querySelector('[data-metric="visitors"] .metric-value').innerText === '42'`)
	if loc := tb.location(); loc != srv.origin+"/sites/"+shopSite+"?period=7d&sample=off" {
		t.Errorf("location %s: the choice belongs in the URL", loc)
	}
	tb.noScriptErrors()
}
