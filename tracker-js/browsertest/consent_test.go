package browsertest

import (
	"html/template"
	"net"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// names lists the event names of requests, with their path and query after the site's
// origin.
func names(w *world, reqs []request) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.event.Name+" "+strings.TrimPrefix(r.event.URL, w.url("")))
	}
	return out
}

// stored is the value of the tracker's one storage entry, "" when there is none.
func (tb *tab) stored() string {
	tb.t.Helper()
	var v string
	tb.eval(`localStorage.getItem('loendur_optout') || ''`, &v)
	return v
}

// awaitEval evaluates a JavaScript expression that gives a Promise and returns what it
// resolves to.
func (tb *tab) awaitEval(expr string, out any) {
	tb.t.Helper()
	tb.run(chromedp.Evaluate(expr, out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	}))
}

// Consent mode (data-consent="required"): nothing leaves the page before consent(true),
// then the current page view goes once; consent(false) stops everything, on every page
// of the site, until consent is given again. The choice is the one thing stored.
func TestConsent(t *testing.T) {
	b := launch(t, false)
	body := template.HTML(`<button id="cta" data-loendur-event="CTA">Go</button>`)
	// Everything a page and a visitor do that would send something.
	use := func(w *world) {
		w.tab.eval(`loendur('Signup', {props: {plan: 'pro'}})`, nil)
		w.tab.click("#cta")
		w.tab.hide()()
	}

	t.Run("nothing before consent(true), the page view once after, nothing after consent(false)", func(t *testing.T) {
		w := newWorld(t, b)
		w.site.page("/blog", pageSpec{Bare: true, Body: template.HTML(`<a id="go" href="` + w.url("/page") + `">read</a>`)})
		w.site.page("/page", pageSpec{
			Attrs: `data-consent="required"`,
			Head:  stub + `<script>loendur('Queued')</script>`, // called before the tracker loaded
			Body:  body,
		})
		w.site.page("/next", pageSpec{Attrs: `data-consent="required"`, Body: body})

		// A visitor arrives from another site and has not been asked yet.
		w.tab.open(w.site.url(otherHost, "/blog"))
		w.tab.click("#go")
		w.tab.waitTracker()
		use(w)
		w.tab.eval(`history.pushState({}, '', '/page?tab=2')`, nil)
		w.tab.assertNothingSent()
		w.tab.assertNoStorage(w.url("/page"))

		// Consent: the page view of the page the visitor is on goes, with the referrer
		// of the page load; given again, nothing more.
		w.tab.eval(`loendur.consent(true)`, nil)
		w.tab.eval(`loendur.consent(true)`, nil)
		reqs := w.tab.settle()
		if got, want := names(w, reqs), []string{"pageview /page?tab=2"}; !slices.Equal(got, want) {
			t.Fatalf("after consent(true) twice the page sent %q, want %q", got, want)
		}
		if r := reqs[0].event.Referrer; r == nil || *r != w.site.url(otherHost, "/") {
			t.Errorf("the page view after consent has referrer %v, want the page load's %q", r, w.site.url(otherHost, "/"))
		}
		w.tab.assertNoStorage(w.url("/page"), "localStorage.loendur_optout")
		if v := w.tab.stored(); v != "0" {
			t.Errorf("stored choice %q after consent, want 0", v)
		}

		// Consent lasts across page loads: the next page counts from the start.
		w.tab.open(w.url("/next"))
		w.tab.waitTracker()
		w.tab.click("#cta")
		w.tab.settle()
		// What a page sends as it is left is in the collector's log, not the tab's.
		var got []string
		for _, e := range w.stats.events() {
			got = append(got, e.Name+" "+strings.TrimPrefix(e.URL, w.url("")))
		}
		slices.Sort(got)
		if want := []string{"CTA /next", "engagement /page?tab=2", "pageview /next", "pageview /page?tab=2"}; !slices.Equal(got, want) {
			t.Errorf("with consent given the collector received %q, want %q", got, want)
		}

		// Withdrawn: nothing more from this page (not even its engagement), nor from any
		// later page load of the site.
		w.tab.eval(`loendur.consent(false)`, nil)
		m := w.tab.mark()
		use(w)
		w.tab.open(w.url("/page"))
		w.tab.waitTracker()
		use(w)
		w.tab.open(w.url("/next"))
		w.tab.waitTracker()
		w.tab.eval(`history.pushState({}, '', '/next/2')`, nil)
		use(w)
		w.tab.assertNothingSentSince(m)
		if v := w.tab.stored(); v != "1" {
			t.Errorf("stored choice %q after consent(false), want 1", v)
		}
		w.tab.assertNoStorage(w.url("/next"), "localStorage.loendur_optout")

		// optIn() clears the choice: back to "not asked", still nothing sent.
		w.tab.eval(`loendur.optIn()`, nil)
		w.tab.assertNoStorage(w.url("/next"))
		w.tab.open(w.url("/page"))
		w.tab.waitTracker()
		use(w)
		w.tab.assertNothingSentSince(m)

		// Given again: this page view goes, once.
		w.tab.eval(`loendur.consent(true)`, nil)
		if got, want := names(w, w.tab.settle()[m.requests:]), []string{"pageview /page"}; !slices.Equal(got, want) {
			t.Errorf("after consent given again the page sent %q, want %q", got, want)
		}
		w.tab.assertQuiet()
	})

	t.Run("optOut() is consent(false)", func(t *testing.T) {
		w := newWorld(t, b)
		w.site.page("/page", pageSpec{Attrs: `data-consent="required"`, Body: body})
		w.tab.open(w.url("/page"))
		w.tab.waitTracker()
		w.tab.eval(`loendur.consent(true)`, nil)
		w.stats.waitEvents(1, "pageview", named("pageview"))
		w.tab.eval(`loendur.optOut()`, nil)
		m := w.tab.mark()
		use(w)
		w.tab.open(w.url("/page"))
		w.tab.waitTracker()
		use(w)
		w.tab.assertNothingSentSince(m)
		if v := w.tab.stored(); v != "1" {
			t.Errorf("stored choice %q after optOut, want 1", v)
		}
		w.tab.assertNoStorage(w.url("/page"), "localStorage.loendur_optout")
		w.tab.assertQuiet()
	})

	t.Run("Global Privacy Control wins over consent", func(t *testing.T) {
		w := newWorld(t, b, gpcOn)
		w.site.page("/page", pageSpec{Attrs: `data-consent="required"`, Body: body})
		w.tab.open(w.url("/page"))
		w.tab.waitTracker()
		w.tab.eval(`loendur.consent(true)`, nil)
		use(w)
		w.tab.assertNothingSent()
		w.tab.assertNoStorage(w.url("/page"), "localStorage.loendur_optout")
		w.tab.assertQuiet()
	})

	t.Run("without data-consent consent(true) changes nothing", func(t *testing.T) {
		w := newWorld(t, b)
		w.site.page("/page", pageSpec{Body: body})
		w.tab.open(w.url("/page"))
		w.tab.waitTracker()
		w.stats.waitEvents(1, "pageview", named("pageview"))
		w.tab.eval(`loendur.consent(true)`, nil)
		w.tab.click("#cta")
		if got, want := names(w, w.tab.settle()), []string{"pageview /page", "CTA /page"}; !slices.Equal(got, want) {
			t.Errorf("sent %q, want %q (the page view once)", got, want)
		}
		w.tab.assertNoStorage(w.url("/page"), "localStorage.loendur_optout")
		w.tab.assertQuiet()
	})

	t.Run("storage disabled: the choice holds for the page", func(t *testing.T) {
		w := newWorld(t, b, `Object.defineProperty(window, 'localStorage', {get() { throw new DOMException('denied', 'SecurityError') }})`)
		w.site.page("/page", pageSpec{Attrs: `data-consent="required"`, Body: body})
		w.tab.open(w.url("/page"))
		w.tab.waitTracker()
		w.tab.click("#cta")
		w.tab.assertNothingSent()
		w.tab.eval(`loendur.consent(true)`, nil)
		w.tab.click("#cta")
		if got, want := names(w, w.tab.settle()), []string{"pageview /page", "CTA /page"}; !slices.Equal(got, want) {
			t.Errorf("after consent sent %q, want %q", got, want)
		}
		w.tab.eval(`loendur.consent(false)`, nil)
		m := w.tab.mark()
		use(w)
		w.tab.assertNothingSentSince(m)
		w.tab.assertQuiet()
	})

	t.Run("the README's privacy page: the consent checkbox", func(t *testing.T) {
		w := newWorld(t, b)
		w.site.page("/privacy", pageSpec{Attrs: `data-consent="required"`, Body: privacySnippet(t)})
		w.tab.open(w.url("/privacy"))
		w.tab.waitTracker()
		var checked bool
		if w.tab.eval(`document.getElementById('loendur-consent').checked`, &checked); checked {
			t.Errorf("the checkbox is ticked before the visitor was asked")
		}
		w.tab.assertNothingSent()
		w.tab.click("#loendur-consent")
		if got, want := names(w, w.tab.settle()), []string{"pageview /privacy"}; !slices.Equal(got, want) {
			t.Errorf("after ticking the checkbox the page sent %q, want %q", got, want)
		}
		// Reloaded, the checkbox shows the choice; unticked, nothing more is sent.
		w.tab.open(w.url("/privacy"))
		w.tab.waitTracker()
		if w.tab.eval(`document.getElementById('loendur-consent').checked`, &checked); !checked {
			t.Errorf("the checkbox is not ticked after consent was given")
		}
		w.tab.click("#loendur-consent")
		m := w.tab.mark()
		w.tab.hide()()
		w.tab.open(w.url("/privacy"))
		w.tab.waitTracker()
		w.tab.assertNothingSentSince(m)
		if w.tab.eval(`document.getElementById('loendur-consent').checked`, &checked); checked {
			t.Errorf("the checkbox is ticked after consent was withdrawn")
		}
		w.tab.assertNoStorage(w.url("/privacy"), "localStorage.loendur_optout")
		w.tab.assertQuiet()
	})

	t.Run("collector down: the page keeps working and forget() resolves", func(t *testing.T) {
		w := newWorld(t, b)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		ln.Close() // nothing listens there now
		w.site.page("/page", pageSpec{
			Attrs: template.HTMLAttr(`data-consent="required" data-api="http://stats.test:` + port + `/api/event"`),
			Body:  `<button id="cta" data-loendur-event="CTA" onclick="this.textContent = 'clicked'">Go</button>`,
		})
		w.tab.open(w.url("/page"))
		w.tab.waitTracker()
		var ok bool
		w.tab.eval(`loendur.consent(true) === undefined`, &ok)
		w.tab.click("#cta")
		w.tab.poll(`document.getElementById('cta').textContent == 'clicked'`)
		var erased string
		w.tab.awaitEval(`loendur.forget().then(n => 'resolved ' + n, e => 'rejected ' + e)`, &erased)
		if erased != "resolved undefined" {
			t.Errorf("forget() with the collector down: %s, want it resolved to undefined", erased)
		}
		w.tab.eval(`loendur.consent(false); history.pushState({}, '', '/page/2'); location.pathname == '/page/2'`, &ok)
		if !ok {
			t.Errorf("history.pushState no longer works")
		}
		w.tab.mu.Lock()
		defer w.tab.mu.Unlock()
		if len(w.tab.errors) > 0 || len(w.tab.console) > 0 {
			t.Errorf("errors or console output on the page: %q %q", w.tab.errors, w.tab.console)
		}
		t.Logf("the browser's own network log: %q", w.tab.netErrs)
	})
}

// The privacy page snippet of tracker-js/README.md, as a site pastes it.
func privacySnippet(t *testing.T) template.HTML {
	t.Helper()
	const start, end = "<!-- loendur privacy controls -->", "<!-- end of loendur privacy controls -->"
	readme := readFile(t, "../README.md")
	i, j := strings.Index(readme, start), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("tracker-js/README.md has no privacy snippet between %q and %q", start, end)
	}
	return template.HTML(readme[i : j+len(end)])
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
