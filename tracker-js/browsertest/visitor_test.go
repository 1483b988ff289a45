package browsertest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/websystems/loendur/internal/testenv"
)

// visitorCalls is what a page runs against the collector's /api/me and /api/forget:
// a readable GET, a readable text/plain POST (no preflight), the same POST in no-cors
// mode (sent whatever CORS says; only its answer is hidden) and a JSON POST (with a
// preflight). Each entry says what the page could learn.
const visitorCalls = `(async (stats) => {
  const out = {};
  const call = async (name, url, init) => {
    try {
      const r = await fetch(stats + url, init);
      out[name] = r.type == 'opaque' ? 'opaque' : 'status ' + r.status + ' ' + await r.text();
    } catch (e) {
      out[name] = 'failed: ' + e.name;
    }
  };
  const body = JSON.stringify({site: 'site.test'});
  await call('me', '/api/me?site=site.test');
  await call('forget', '/api/forget', {method: 'POST', headers: {'Content-Type': 'text/plain'}, body});
  await call('forgetNoCors', '/api/forget', {method: 'POST', mode: 'no-cors', headers: {'Content-Type': 'text/plain'}, body});
  await call('forgetJSON', '/api/forget', {method: 'POST', headers: {'Content-Type': 'application/json'}, body});
  return out;
})(%q)`

// A page of another origin can neither read which sites this browser visited (/api/me)
// nor erase its visits (/api/forget); the visitor's events stay stored and nothing is
// written to the erasure ledger. A page of the registered site can do both.
func TestVisitorEndpointsInBrowser(t *testing.T) {
	testenv.ClickHouseAddr(t)
	b := launch(t, false)
	c := startCollector(t)
	st := &stats{t: t, origin: c.origin}
	s := startSite(t, st)
	tb := newTab(t, b, st)
	s.page("/article", pageSpec{})
	s.page("/privacy", pageSpec{Bare: true})
	s.page("/evil", pageSpec{Bare: true})

	tb.open(s.url(siteHost, "/article"))
	tb.waitTracker()
	c.waitRows(1, "pageview", func(r row) bool { return r.Name == "pageview" && r.Pathname == "/article" })
	// Leaving the article sends its engagement event: wait for it, so what is stored
	// stays put from here on.
	tb.open(s.url(otherHost, "/evil"))
	stored := len(c.waitRows(1, "engagement", func(r row) bool { return r.Name == "engagement" }))

	calls := func(pageURL string) map[string]string {
		t.Helper()
		tb.open(pageURL)
		var out map[string]string
		tb.run(chromedp.Evaluate(fmt.Sprintf(visitorCalls, c.origin), &out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
			return p.WithAwaitPromise(true)
		}))
		return out
	}

	evil := calls(s.url(otherHost, "/evil"))
	for name, want := range map[string]string{"me": "failed: TypeError", "forget": "failed: TypeError",
		"forgetNoCors": "opaque", "forgetJSON": "failed: TypeError"} {
		if evil[name] != want {
			t.Errorf("from %s, %s: %q, want %q (the page must learn nothing)", otherHost, name, evil[name], want)
		}
	}
	if rows := c.rows(); len(rows) != stored {
		t.Errorf("after another origin's requests the site has %d events, want the visitor's %d still stored: %v", len(rows), stored, rows)
	}
	if n := c.ledgerRows(); n != 0 {
		t.Errorf("another origin's requests wrote %d erasure ledger rows", n)
	}

	own := calls(s.url(siteHost, "/privacy"))
	if want := `status 200 {"visitor_id":`; !strings.HasPrefix(own["me"], want) || !strings.Contains(own["me"], fmt.Sprintf(`"events":%d}`, stored)) {
		t.Errorf("from the site, me: %q, want the visitor id and %d events", own["me"], stored)
	}
	if want := fmt.Sprintf(`status 200 {"erased":%d,`, stored); !strings.HasPrefix(own["forget"], want) {
		t.Errorf("from the site, forget: %q, want %d erased", own["forget"], stored)
	}
	if rows := c.rows(); len(rows) != 0 {
		t.Errorf("after the site's own forget %d events are left: %v", len(rows), rows)
	}
	if n := c.ledgerRows(); n != 1 {
		t.Errorf("%d erasure ledger rows after one erasure (and requests that erased nothing), want 1", n)
	}
}

// ledgerRows counts the erasure ledger of the collector's database.
func (c *collector) ledgerRows() uint64 {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var n uint64
	if err := c.conn.QueryRow(ctx, "SELECT count() FROM "+c.db+".erasure_ledger").Scan(&n); err != nil {
		c.t.Fatalf("reading the erasure ledger: %v", err)
	}
	return n
}
