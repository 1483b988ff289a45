package web_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/shares"
)

// listen takes a loopback port for a framing page; its origin is
// http://localhost:PORT, another site than the dashboard's 127.0.0.1.
func listen(t *testing.T) (net.Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln, fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
}

// framingPage serves on ln a page that frames each of srcs: the client's intranet.
func framingPage(t *testing.T, ln net.Listener, srcs ...string) {
	t.Helper()
	page := `<!doctype html><title>intranet</title><h1>Our figures</h1>`
	for _, src := range srcs {
		page += fmt.Sprintf(`<iframe src=%q width="1100" height="900"></iframe>`, src)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
}

// inProcessFrames keeps another site's frames in the page's own renderer, so that
// the test can read a frame's document through the page (chromedp does not drive
// out-of-process frames). Framing rules (frame-ancestors) are checked either way.
var inProcessFrames = []chromedp.ExecAllocatorOption{
	chromedp.Flag("disable-site-isolation-trials", true),
	chromedp.Flag("disable-features", "IsolateOrigins,site-per-process"),
}

// frameText waits until the frame showing src holds an element sel with text, and
// returns that text; "" when the frame never shows one.
func (tb *tab) frameText(src, sel string) string {
	tb.t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		var frames []*cdp.Node
		ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
		err := chromedp.Run(ctx, chromedp.Nodes(fmt.Sprintf(`iframe[src=%q]`, src), &frames, chromedp.ByQuery))
		if err == nil && len(frames) == 1 {
			var nodes []*cdp.Node
			var text string
			err = chromedp.Run(ctx, chromedp.Nodes(sel, &nodes, chromedp.ByQuery, chromedp.AtLeast(0), chromedp.FromNode(frames[0])))
			if err == nil && len(nodes) > 0 {
				err = chromedp.Run(ctx, chromedp.Text(sel, &text, chromedp.ByQuery, chromedp.FromNode(frames[0])))
			}
			if err == nil && strings.TrimSpace(text) != "" {
				cancel()
				return text
			}
		}
		cancel()
		time.Sleep(100 * time.Millisecond)
	}
	return ""
}

// frameCount is how many elements sel the frame showing src holds now.
func (tb *tab) frameCount(src, sel string) int {
	tb.t.Helper()
	var frames, nodes []*cdp.Node
	tb.run(chromedp.Nodes(fmt.Sprintf(`iframe[src=%q]`, src), &frames, chromedp.ByQuery))
	if len(frames) != 1 {
		tb.t.Fatalf("%d frames of %s", len(frames), src)
	}
	tb.run(chromedp.Nodes(sel, &nodes, chromedp.ByQuery, chromedp.AtLeast(0), chromedp.FromNode(frames[0])))
	return len(nodes)
}

// A link's visitor opens a password-protected link: wrong password refused, right one
// shows the reports (filters working, no staff navigation, no CSV), and nothing else of
// the dashboard answers in that browser.
func TestSharedLinkInChromium(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	const pw = "figures for the client"
	hash, err := auth.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := shares.Create(ctx, srv.db, shares.New{Site: shopSite, Name: "locked", PasswordHash: hash, By: "test"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	link := srv.origin + shares.PathPrefix + token

	tb := newTab(t)
	tb.run(chromedp.Navigate(link))
	tb.waitFor("the password form", `document.querySelector('#share-password')`)
	if tb.text("header.bar") != "" || tb.text("#main") == "" {
		t.Fatal("the lock page shows the staff header or nothing")
	}
	tb.run(chromedp.SendKeys(`#share-password`, "not the password", chromedp.ByQuery),
		chromedp.Submit(`#share-lock`, chromedp.ByQuery))
	tb.waitFor("the refusal", `document.querySelector('#share-error')`)
	if msg := tb.text("#share-error"); !strings.Contains(msg, "wrong password") {
		t.Errorf("refusal reads %q", msg)
	}
	tb.run(chromedp.SendKeys(`#share-password`, pw, chromedp.ByQuery), chromedp.Submit(`#share-lock`, chromedp.ByQuery))
	tb.reportsReady()
	tb.screenshot("shared-link")
	if loc := tb.location(); loc != link {
		t.Errorf("after the password: %s", loc)
	}
	if n := tb.count(`header.bar, #site-menu, #account-menu, a[href^="/admin"], a[href^="/account"], a[href^="/sites/"], a[href^="/shares/"]`); n != 0 {
		t.Errorf("the shared page links %d staff places", n)
	}
	if n := tb.count(`#main a.csv`); n != 0 {
		t.Errorf("%d CSV links on a link without CSV", n)
	}
	if n := tb.count(`#funnel-new`); n != 0 {
		t.Error("the shared page offers to define funnels")
	}
	visitorsAll := tb.metric("visitors")

	// Filters and periods work, in the link's own URL.
	tb.run(chromedp.Click(`#panel-pages a.row-link[data-filter-value="/pricing"]`, chromedp.ByQuery))
	tb.waitFor("the filter chip", `document.querySelector('#filters .chip')`)
	if loc := tb.location(); !strings.HasPrefix(loc, link+"?") || !strings.Contains(loc, "filters=page==/pricing") {
		t.Errorf("URL after filtering: %s", loc)
	}
	tb.waitFor("the filtered figures", fmt.Sprintf(`document.querySelector('[data-metric="visitors"] .metric-value').innerText !== %q`, visitorsAll))
	tb.run(chromedp.SetValue(`#period`, "30d", chromedp.ByQuery))
	tb.eval(`document.querySelector('#period').dispatchEvent(new Event('change')), true`, new(bool))
	tb.waitFor("the 30-day period in the URL", `location.search.includes('period=30d')`)
	tb.waitFor("every report reloaded", `document.querySelectorAll('[aria-busy="true"]').length === 0`)
	tb.noScriptErrors()

	// From inside the unlocked page: the other site, CSV and the staff API are closed.
	api := shares.PathPrefix + token + "/api/stats/"
	for _, c := range []struct {
		url    string
		status int
	}{
		{api + "overview?period=7d&site=" + clientSite, 403},
		{api + "top-pages?period=7d&format=csv", 403},
		{shares.PathPrefix + token + "/api/funnels?site=" + clientSite, 403},
		{"/api/v1/stats/overview?period=7d&site=" + shopSite, 401},
		{"/api/v1/stats/overview?period=7d&site=" + clientSite, 401},
	} {
		if r := tb.fetch(c.url, "GET", nil, ""); r.Status != c.status {
			t.Errorf("GET %s from the shared page: %d %s", c.url, r.Status, r.Body)
		}
	}
	if r := tb.fetch("/api/v1/keys", "POST", map[string]string{"Content-Type": "application/json"}, `{"name":"x"}`); r.Status != 401 {
		t.Errorf("key creation from the shared page: %d %s", r.Status, r.Body)
	}
	tb.run(chromedp.Navigate(srv.origin + "/admin/users"))
	tb.waitFor("the login page", `location.pathname === "/login"`)
}

// A link with embed origins is framed by a page of such an origin and refused by a
// page of any other; a link without them is framed by none.
func TestSharedLinkEmbedInChromium(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	allowedLn, allowed := listen(t)
	otherLn, other := listen(t)
	token, _, err := shares.Create(ctx, srv.db, shares.New{Site: shopSite, Name: "intranet",
		EmbedOrigins: []string{"https://intranet.example", allowed}, By: "test"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	plain, _, err := shares.Create(ctx, srv.db, shares.New{Site: shopSite, Name: "not embeddable", By: "test"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	link := srv.origin + shares.PathPrefix + token
	plainLink := srv.origin + shares.PathPrefix + plain
	framingPage(t, allowedLn, link)
	framingPage(t, otherLn, link, plainLink)

	// The allowed origin's page shows the reports inside its frame.
	tb := newTab(t, inProcessFrames...)
	tb.run(chromedp.Navigate(allowed))
	if v := tb.frameText(link, `[data-metric="visitors"] .metric-value`); v == "" || v == "0" || v == "–" {
		t.Fatalf("the page of %s shows visitors %q in its frame of the link; logged: %v", allowed, v, tb.scriptErrors())
	}
	if pages := tb.frameText(link, `#panel-pages tbody`); !strings.Contains(pages, "/pricing") {
		t.Errorf("framed top pages: %q", pages)
	}
	if n := tb.frameCount(link, "#main"); n != 1 {
		t.Errorf("the frame of the allowed page holds %d report pages", n)
	}
	tb.screenshot("shared-link-embedded")
	if errs := tb.scriptErrors(); len(errs) > 0 {
		t.Errorf("the allowed page logged: %v", errs)
	}

	// Another origin's page is refused both links, by the browser.
	tb2 := newTab(t, inProcessFrames...)
	tb2.run(chromedp.Navigate(other))
	refusals := func() int {
		n := 0
		for _, e := range tb2.scriptErrors() {
			if strings.Contains(e, "frame-ancestors") && strings.Contains(e, "blocked") {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(wait)
	for refusals() < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if refusals() != 2 {
		t.Fatalf("want both frames refused by frame-ancestors; logged: %v", tb2.scriptErrors())
	}
	for _, src := range []string{link, plainLink} {
		if n := tb2.frameCount(src, "#main"); n != 0 {
			t.Errorf("the page of %s shows the report of %s", other, src)
		}
	}
	tb2.screenshot("shared-link-refused")
}

// count is how many elements match sel.
func (tb *tab) count(sel string) int {
	tb.t.Helper()
	var n int
	tb.eval(fmt.Sprintf(`document.querySelectorAll(%q).length`, sel), &n)
	return n
}

// An admin shares a site from its report page: the link is shown once, opens the
// reports with CSV downloads, and stops working once revoked.
func TestShareFromTheDashboardInChromium(t *testing.T) {
	srv := startServer(t)
	tb := newTab(t)
	tb.login(srv.origin, "/sites/"+shopSite, adminEmail, password)
	tb.waitFor("the report page", `document.querySelector('a.share-link')`)
	tb.run(chromedp.Click(`a.share-link`, chromedp.ByQuery))
	tb.waitFor("the shares page", `document.querySelector('#share-new')`)
	tb.run(
		chromedp.SendKeys(`#share-new input[name=name]`, "For the client", chromedp.ByQuery),
		chromedp.Click(`#share-new input[name=csv]`, chromedp.ByQuery),
		chromedp.Submit(`#share-new`, chromedp.ByQuery),
	)
	tb.waitFor("the new link", `document.querySelector('#secret')`)
	link := tb.text("#secret")
	if !strings.HasPrefix(link, srv.origin+shares.PathPrefix) {
		t.Fatalf("shown link %q", link)
	}
	if list := tb.text("#share-links"); !strings.Contains(list, "For the client") || !strings.Contains(list, "last used never") {
		t.Errorf("links list: %q", list)
	}
	tb.screenshot("shares-page")

	// The client opens it in a browser of their own.
	client := newTab(t)
	client.run(chromedp.Navigate(link))
	client.reportsReady()
	if n := client.count(`#setup, #snippet`); n != 0 {
		t.Errorf("the shared page holds %d parts of the staff's set-up card", n)
	}
	if n := client.count(`#main a.csv`); n < 7 {
		t.Errorf("%d CSV links on a link with CSV", n)
	}
	var href string
	client.eval(`document.querySelector('#card-pages a.csv').getAttribute('href')`, &href)
	if csv := client.fetch(href, "GET", nil, ""); csv.Status != 200 || !strings.Contains(csv.Body, "/pricing") {
		t.Errorf("CSV through the link (%s): %d %s", href, csv.Status, csv.Body)
	}

	// Revoked, it opens nothing, in the page or the API.
	tb.run(chromedp.Navigate(srv.origin + "/shares/" + shopSite))
	tb.waitFor("last use listed", `!document.querySelector('#share-links').innerText.includes('last used never')`)
	tb.run(chromedp.Submit(`#share-links form`, chromedp.ByQuery))
	tb.waitFor("the revocation", `document.body.innerText.includes('Link revoked')`)
	client.run(chromedp.Navigate(link))
	client.waitFor("the gone page", `document.title.startsWith('Link not available')`)
	if r := client.fetch(href, "GET", nil, ""); r.Status != 404 || strings.Contains(r.Body, "/pricing") {
		t.Errorf("API of a revoked link: %d %s", r.Status, r.Body)
	}
}
