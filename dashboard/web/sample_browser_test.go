package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/websystems/loendur/dashboard"
	"github.com/websystems/loendur/internal/derived/derivedtest"
	"github.com/websystems/loendur/internal/store"
)

// A period with more written visits than --sample-above (here 10; the shop's week has
// 41) is estimated from one visitor in 32: the note says so under the overview, and
// its link counts every visit instead, a choice kept in the URL.
func TestSampledFiguresInChromium(t *testing.T) {
	srv := startServerWith(t, func(o *dashboard.Options) { o.SampleAbove = 10 })
	// The fixture's visitors are none of them in the sample: one more who is.
	in := derivedtest.SampledVisitors(1, 1)[0]
	at := time.Now().UTC().Add(-48 * time.Hour)
	if err := store.InsertEvents(context.Background(), srv.db, []store.Event{{EventID: uuid.New(), Site: shopSite,
		Hostname: shopSite, Name: "pageview", Pathname: "/", Timestamp: at, VisitorID: in, SessionID: in}}); err != nil {
		t.Fatal(err)
	}
	derivedtest.Finalize(t, srv.db, shopSite, time.Now().UTC())
	tb := newTab(t)
	tb.login(srv.origin, "/sites/"+shopSite+"?period=7d", adminEmail, password)
	tb.waitFor("the sample note", `document.getElementById('sample-note')`)
	if v, note := tb.metric("visitors"), tb.text("#sample-note"); v != "32" || note != "Estimated from 1 in 32 visitors. Count every visit" {
		t.Errorf("visitors %q, note %q", v, note)
	}
	tb.run(chromedp.Click(`#sample-note button`, chromedp.ByQuery))
	tb.waitFor("every visit counted", `(document.getElementById('sample-note') || {}).innerText === 'Every visit counted. Estimate (faster)'`)
	// The fixture's 40 visitors of the week and 2 of right now, and the one added.
	tb.waitFor("the exact figures", `document.querySelector('[data-metric="visitors"] .metric-value').innerText === '43'`)
	if loc := tb.location(); loc != srv.origin+"/sites/"+shopSite+"?period=7d&sample=off" {
		t.Errorf("location %s: the choice belongs in the URL", loc)
	}
	tb.noScriptErrors()
}
