package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/websystems/loendur/internal/dropcount"
)

// The report page shows the traffic dropped in the period, by reason, as the collector
// counted it (internal/dropcount, the table the collector flushes into).
func TestDroppedTrafficCardInChromium(t *testing.T) {
	srv := startServer(t)
	now := time.Now().UTC()
	var c dropcount.Counter
	for range 7 {
		c.Add(shopSite, now, "bot")
	}
	for range 2 {
		c.Add(shopSite, now, "excluded")
	}
	for range 5 {
		c.Add(shopSite, now.AddDate(0, 0, -20), "burst") // inside 30 days, not today
	}
	c.Add(clientSite, now, "viewport") // another site's
	if err := c.Flush(context.Background(), srv.db); err != nil {
		t.Fatal(err)
	}
	tb := newTab(t)
	tb.login(srv.origin, "/sites/"+shopSite+"?period=30d", adminEmail, password)
	tb.waitFor("the report page", `location.pathname === "/sites/`+shopSite+`"`)
	tb.waitFor("the dropped-traffic table", `document.querySelectorAll('#card-dropped tbody tr').length > 0`)
	card := strings.Join(strings.Fields(tb.text(`#card-dropped`)), " ")
	for _, want := range []string{"Dropped traffic", "Bots and crawlers 7", "Faster than a person reads 5", "Excluded in site settings 2"} {
		if !strings.Contains(card, want) {
			t.Errorf("the card lacks %q:\n%s", want, card)
		}
	}
	if strings.Contains(card, "Impossible window size") {
		t.Errorf("the card shows another site's drops:\n%s", card)
	}
	tb.run(chromedp.ScrollIntoView(`#card-dropped`, chromedp.ByQuery))
	tb.screenshotElement("dropped-traffic", `#card-dropped`)

	// Today only: the burst of 20 days ago is outside the period.
	tb.run(chromedp.Navigate(srv.origin + "/sites/" + shopSite + "?period=day"))
	tb.waitFor("today's dropped traffic", `(() => { const c = document.querySelector('#card-dropped'); return c && c.querySelectorAll('tbody tr').length === 2 })()`)
	if card := tb.text(`#card-dropped`); strings.Contains(card, "Faster than a person reads") {
		t.Errorf("today's card shows the burst of 20 days ago:\n%s", card)
	}
}
