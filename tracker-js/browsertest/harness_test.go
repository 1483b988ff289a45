package browsertest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/gofiber/fiber/v2"

	"github.com/websystems/loendur/internal/testenv"
	trackerjs "github.com/websystems/loendur/tracker-js"
)

// The hosts the browser resolves to 127.0.0.1: the site under test, the analytics
// server (another origin, as in production) and a third party for outbound links.
const (
	siteHost  = "site.test"
	statsHost = "stats.test"
	otherHost = "other.test"
)

// wait bounds every poll: long enough for a slow CI machine, short enough to fail fast.
const wait = 10 * time.Second

// launch starts headless Chromium with a fresh profile. automation=false starts it the
// way a visitor's browser looks (navigator.webdriver false); automation=true adds the
// automation flag that WebDriver-driven browsers carry.
func launch(t *testing.T, automation bool) context.Context {
	t.Helper()
	opts := append(testenv.ChromiumOptions(t, t.TempDir()),
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("host-resolver-rules", fmt.Sprintf("MAP %s 127.0.0.1, MAP %s 127.0.0.1, MAP %s 127.0.0.1", siteHost, statsHost, otherHost)),
	)
	if automation {
		opts = append(opts, chromedp.Flag("enable-automation", true))
	} else {
		// Headless Chromium sets navigator.webdriver even without --enable-automation;
		// this is what turns it off, as in a browser a person uses.
		opts = append(opts, chromedp.Flag("disable-blink-features", "AutomationControlled"))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	if err := chromedp.Run(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("starting Chromium: %v", err)
	}
	t.Cleanup(func() {
		// Close the browser and wait for it, before its profile folder is removed.
		if err := chromedp.Cancel(ctx); err != nil {
			t.Logf("closing Chromium: %v", err)
		}
		cancel()
		cancelAlloc()
	})
	return ctx
}

// event is one POST /api/event body, decoded with the contract's exact field names.
type event struct {
	Site      string            `json:"site"`
	Name      string            `json:"name"`
	URL       string            `json:"url"`
	Referrer  *string           `json:"referrer,omitempty"`
	Width     int               `json:"width"`
	Props     map[string]string `json:"props,omitempty"`
	EngagedMS *int64            `json:"engaged_ms,omitempty"`
	Scroll    *int              `json:"scroll,omitempty"`
}

func (e event) String() string {
	b, _ := json.Marshal(e)
	return string(b)
}

// hit is one request that reached the stats server's API.
type hit struct {
	method, path, contentType, origin, cookie string
	body                                      string
	event                                     event
	err                                       error // the body did not decode as an event
}

// stats stands in for the collector: it serves the tracker with the real handler and
// records what arrives at /api/event (and anything else under /api/, such as a CORS
// preflight the tracker must never cause).
type stats struct {
	t      *testing.T
	origin string // http://stats.test:PORT
	port   string
	mu     sync.Mutex
	hits   []hit
}

func startStats(t *testing.T) *stats {
	t.Helper()
	s := &stats{t: t}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/js/script.js", trackerjs.Handler(nil))
	app.All("/api/*", func(c *fiber.Ctx) error {
		// Fiber reuses request memory after the handler returns: copy out.
		h := hit{
			method:      c.Method(),
			path:        string(c.Request().URI().RequestURI()),
			contentType: c.Get(fiber.HeaderContentType),
			origin:      c.Get(fiber.HeaderOrigin),
			cookie:      c.Get(fiber.HeaderCookie),
			body:        string(c.Body()),
		}
		h.method, h.contentType, h.origin, h.cookie = strings.Clone(h.method), strings.Clone(h.contentType), strings.Clone(h.origin), strings.Clone(h.cookie)
		if !strings.Contains(h.path, "sentinel") {
			dec := json.NewDecoder(strings.NewReader(h.body))
			dec.DisallowUnknownFields()
			h.err = dec.Decode(&h.event)
		}
		s.mu.Lock()
		s.hits = append(s.hits, h)
		s.mu.Unlock()
		return c.SendStatus(fiber.StatusAccepted)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	_, s.port, _ = net.SplitHostPort(ln.Addr().String())
	s.origin = "http://" + statsHost + ":" + s.port
	return s
}

// all returns every request that reached the API so far.
func (s *stats) all() []hit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]hit(nil), s.hits...)
}

// events returns the decoded events received so far (sentinels left out), failing the
// test for any request that is not what sendBeacon sends.
func (s *stats) events() []event {
	s.t.Helper()
	var out []event
	for _, h := range s.all() {
		if strings.Contains(h.path, "sentinel") {
			continue
		}
		if h.method != http.MethodPost {
			s.t.Errorf("%s %s reached the collector: the tracker must send simple POSTs (no preflight)", h.method, h.path)
			continue
		}
		if !strings.HasPrefix(h.contentType, "text/plain") {
			s.t.Errorf("beacon Content-Type %q, want text/plain (no CORS preflight)", h.contentType)
		}
		if h.cookie != "" {
			s.t.Errorf("beacon carried a cookie: %q", h.cookie)
		}
		if h.err != nil {
			s.t.Errorf("beacon body %q does not decode with the contract's field names: %v", h.body, h.err)
			continue
		}
		out = append(out, h.event)
	}
	return out
}

// waitEvents polls until the stats server has at least n events matching match, and
// returns them all.
func (s *stats) waitEvents(n int, what string, match func(event) bool) []event {
	s.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		var got []event
		for _, e := range s.events() {
			if match(e) {
				got = append(got, e)
			}
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waited %v for %d %s event(s), got %d; all events: %v", wait, n, what, len(got), s.events())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func named(name string) func(event) bool {
	return func(e event) bool { return e.Name == name }
}

// site serves the test pages on every host the browser maps to 127.0.0.1.
type site struct {
	t      *testing.T
	port   string
	stats  *stats
	mu     sync.Mutex
	pages  map[string]string
	served map[string]int // GET counts by path
}

func startSite(t *testing.T, st *stats) *site {
	t.Helper()
	s := &site{t: t, stats: st, pages: map[string]string{}, served: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	_, s.port, _ = net.SplitHostPort(srv.Listener.Addr().String())
	return s
}

func (s *site) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.served[r.URL.Path]++
	body, ok := s.pages[r.URL.Path]
	s.mu.Unlock()
	switch {
	case r.URL.Path == "/favicon.ico":
		w.WriteHeader(http.StatusNoContent)
	case strings.HasPrefix(r.URL.Path, "/files/"):
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", "attachment")
		_, _ = w.Write([]byte("%PDF-1.4\n% loendur test file\n"))
	case ok:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(body))
	default:
		http.NotFound(w, r)
	}
}

func (s *site) hits(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served[path]
}

// url is an address of this site on host (siteHost unless told).
func (s *site) url(host, pathQuery string) string {
	return "http://" + host + ":" + s.port + pathQuery
}

// pageSpec is a test page: the tracker snippet with extra data-attributes, whatever
// goes before it in <head>, and a body.
type pageSpec struct {
	Attrs template.HTMLAttr // e.g. `data-outbound data-downloads`
	Head  template.HTML
	Body  template.HTML
	Bare  bool // no tracker on this page
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>loendur test page</title>
<meta name="viewport" content="width=device-width">
{{.Head}}
{{if not .Bare}}<script defer src="{{.Src}}" data-site="site.test" {{.Attrs}}></script>{{end}}
</head><body>{{.Body}}</body></html>`))

// page registers path (no query) with the given content.
func (s *site) page(path string, p pageSpec) {
	s.t.Helper()
	var buf bytes.Buffer
	err := pageTemplate.Execute(&buf, struct {
		pageSpec
		Src string
	}{p, s.stats.origin + "/js/script.js"})
	if err != nil {
		s.t.Fatal(err)
	}
	s.mu.Lock()
	s.pages[path] = buf.String()
	s.mu.Unlock()
}

// tab is one browser tab in its own browser context (its own cookies and storage),
// recording what the page logs and which requests it sends to the stats server.
type tab struct {
	t       *testing.T
	ctx     context.Context
	browser context.Context
	id      cdp.BrowserContextID
	stats   *stats

	mu       sync.Mutex
	console  []string  // every console API call, "type: args"
	errors   []string  // uncaught exceptions and error-level log entries
	netErrs  []string  // error-level log entries from the network (an unreachable collector)
	requests []request // requests to the stats server's API, in the order the page issued them
}

// request is one request the page issued to the stats server, as the browser saw it.
type request struct {
	method, url string
	event       event // decoded from the request body when it is one
}

func (r request) String() string { return r.method + " " + r.url + " " + r.event.String() }

func newTab(t *testing.T, browser context.Context, st *stats, initScripts ...string) *tab {
	t.Helper()
	// A browser context of its own (cookies, storage), in a window of its own: headless
	// Chromium cannot open a tab in a context that has no window yet.
	bctx, cancelBrowser := context.WithTimeout(browser, wait)
	defer cancelBrowser()
	exec := cdp.WithExecutor(bctx, chromedp.FromContext(browser).Browser)
	id, err := target.CreateBrowserContext().WithDisposeOnDetach(true).Do(exec)
	if err != nil {
		t.Fatalf("creating a browser context: %v", err)
	}
	targetID, err := target.CreateTarget("about:blank").WithBrowserContextID(id).WithNewWindow(true).Do(exec)
	if err != nil {
		t.Fatalf("opening a window: %v", err)
	}
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithTargetID(targetID))
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
		dctx, cancelDispose := context.WithTimeout(browser, wait)
		defer cancelDispose()
		_ = target.DisposeBrowserContext(id).Do(cdp.WithExecutor(dctx, chromedp.FromContext(browser).Browser))
	})
	tb := &tab{t: t, ctx: ctx, browser: browser, id: id, stats: st}
	chromedp.ListenTarget(ctx, tb.listen)
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("attaching to the tab: %v", err)
	}
	for _, src := range initScripts {
		tb.run(chromedp.ActionFunc(func(ctx context.Context) error {
			_, err := page.AddScriptToEvaluateOnNewDocument(src).Do(ctx)
			return err
		}))
	}
	return tb
}

func (tb *tab) listen(ev any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var args []string
		for _, a := range e.Args {
			switch {
			case a.Value != nil:
				args = append(args, string(a.Value))
			case a.Preview != nil:
				var props []string
				for _, p := range a.Preview.Properties {
					props = append(props, p.Name+"="+p.Value)
				}
				args = append(args, "{"+strings.Join(props, " ")+"}")
			default:
				args = append(args, a.Description)
			}
		}
		tb.console = append(tb.console, string(e.Type)+": "+strings.Join(args, " "))
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		tb.errors = append(tb.errors, fmt.Sprintf("uncaught: %s (%s:%d)", msg, d.URL, d.LineNumber))
	case *log.EventEntryAdded:
		if e.Entry.Level == log.LevelError {
			entry := fmt.Sprintf("%s: %s %s", e.Entry.Source, e.Entry.Text, e.Entry.URL)
			if e.Entry.Source == log.SourceNetwork {
				tb.netErrs = append(tb.netErrs, entry)
			} else {
				tb.errors = append(tb.errors, entry)
			}
		}
	case *network.EventRequestWillBeSent:
		if strings.HasPrefix(e.Request.URL, tb.stats.origin+"/api/") {
			r := request{method: e.Request.Method, url: e.Request.URL}
			var body []byte
			for _, p := range e.Request.PostDataEntries {
				b, err := base64.StdEncoding.DecodeString(p.Bytes)
				if err != nil {
					b = []byte(p.Bytes)
				}
				body = append(body, b...)
			}
			_ = json.Unmarshal(body, &r.event)
			tb.requests = append(tb.requests, r)
		}
	}
}

func (tb *tab) run(actions ...chromedp.Action) {
	tb.t.Helper()
	if err := chromedp.Run(tb.ctx, actions...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

// open loads url and waits for its load event (the deferred tracker may run later).
func (tb *tab) open(url string) {
	tb.t.Helper()
	tb.run(chromedp.Navigate(url))
}

// waitTracker waits until the deferred tracker has run on the current page.
func (tb *tab) waitTracker() {
	tb.t.Helper()
	tb.poll(`typeof loendur == 'function' && typeof loendur.optIn == 'function'`)
}

// poll waits until the JavaScript expression is truthy in the page, across navigations.
func (tb *tab) poll(expr string) {
	tb.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		var ok bool
		err := chromedp.Run(tb.ctx, chromedp.Evaluate(`!!(`+expr+`)`, &ok))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("waited %v for %s (last error: %v)", wait, expr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (tb *tab) eval(expr string, out any) {
	tb.t.Helper()
	tb.run(chromedp.Evaluate(expr, out))
}

func (tb *tab) click(selector string) {
	tb.t.Helper()
	tb.run(chromedp.Click(selector, chromedp.ByQuery))
}

// hide puts another tab of the same window in front, which hides this page
// (visibilitychange to hidden) as when a visitor switches tabs; show brings this one
// back and closes the other.
func (tb *tab) hide() (show func()) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.browser, wait)
	defer cancel()
	exec := cdp.WithExecutor(ctx, chromedp.FromContext(tb.browser).Browser)
	other, err := target.CreateTarget("about:blank").WithBrowserContextID(tb.id).Do(exec)
	if err != nil {
		tb.t.Fatalf("opening a second tab: %v", err)
	}
	tb.poll(`document.visibilityState == 'hidden'`)
	return func() {
		tb.t.Helper()
		ctx, cancel := context.WithTimeout(tb.browser, wait)
		defer cancel()
		exec := cdp.WithExecutor(ctx, chromedp.FromContext(tb.browser).Browser)
		if err := target.CloseTarget(other).Do(exec); err != nil {
			tb.t.Fatalf("closing the second tab: %v", err)
		}
		if err := target.ActivateTarget(chromedp.FromContext(tb.ctx).Target.TargetID).Do(exec); err != nil {
			tb.t.Fatalf("activating the tab: %v", err)
		}
		tb.poll(`document.visibilityState == 'visible'`)
	}
}

// sentRequests returns the requests this tab sent to the stats server's API.
func (tb *tab) sentRequests() []request {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]request(nil), tb.requests...)
}

var sentinels atomic.Int64

// settle sends a sentinel beacon from the page and waits until it reached the collector
// and the browser's network log: whatever the tracker sent before it was issued first.
// It returns the requests the page issued before the sentinel (sentinels left out).
func (tb *tab) settle() []request {
	tb.t.Helper()
	marker := fmt.Sprintf("sentinel=%d", sentinels.Add(1))
	tb.eval(fmt.Sprintf(`navigator.sendBeacon(%q, 'sentinel')`, tb.stats.origin+"/api/event?"+marker), nil)
	deadline := time.Now().Add(wait)
	for {
		var before []request
		seen := false
		for _, r := range tb.sentRequests() {
			if strings.HasSuffix(r.url, marker) {
				seen = true
				break
			}
			if !strings.Contains(r.url, "sentinel") {
				before = append(before, r)
			}
		}
		arrived := false
		for _, h := range tb.stats.all() {
			arrived = arrived || strings.HasSuffix(h.path, marker)
		}
		// Every request issued before the sentinel has arrived too.
		if seen && arrived && len(tb.stats.events()) >= len(before) {
			return before
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("sentinel beacon not seen within %v (requests %v)", wait, tb.sentRequests())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mark is a point in a tab's history of requests, to check what came after it.
type mark struct{ requests, events int }

func (tb *tab) mark() mark {
	tb.t.Helper()
	n := len(tb.settle())
	return mark{requests: n, events: len(tb.stats.events())}
}

// assertNothingSentSince checks that neither the page's network log nor the collector
// shows an event after m.
func (tb *tab) assertNothingSentSince(m mark) {
	tb.t.Helper()
	reqs := tb.settle()
	if len(reqs) > m.requests {
		tb.t.Errorf("the page sent %d request(s) to the collector, want none: %v", len(reqs)-m.requests, reqs[m.requests:])
	}
	if evs := tb.stats.events(); len(evs) > m.events {
		tb.t.Errorf("the collector received %d event(s), want none: %v", len(evs)-m.events, evs[m.events:])
	}
}

// assertNothingSent checks that the page sent the collector nothing at all.
func (tb *tab) assertNothingSent() {
	tb.t.Helper()
	tb.assertNothingSentSince(mark{})
}

// assertQuiet checks that the page logged nothing to the console and threw nothing: the
// tracker stays silent unless data-debug is set.
func (tb *tab) assertQuiet() {
	tb.t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if len(tb.errors) > 0 {
		tb.t.Errorf("errors on the page: %q", tb.errors)
	}
	if len(tb.netErrs) > 0 {
		tb.t.Errorf("failed requests on the page: %q", tb.netErrs)
	}
	if len(tb.console) > 0 {
		tb.t.Errorf("console output on the page: %q", tb.console)
	}
}

// assertNoStorage checks that nothing was stored in the browser for the site or for the
// collector: no cookie, and no web storage entry other than those listed in allowed.
func (tb *tab) assertNoStorage(siteURL string, allowed ...string) {
	tb.t.Helper()
	var cookies []*network.Cookie
	tb.run(chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		cookies, err = network.GetCookies().WithURLs([]string{siteURL, tb.stats.origin + "/"}).Do(ctx)
		return err
	}))
	for _, c := range cookies {
		tb.t.Errorf("cookie set: %s=%s (domain %s)", c.Name, c.Value, c.Domain)
	}
	var keys []string
	tb.eval(`[...Object.keys(localStorage).map(k => 'localStorage.' + k), ...Object.keys(sessionStorage).map(k => 'sessionStorage.' + k)]`, &keys)
	want := map[string]bool{}
	for _, a := range allowed {
		want[a] = true
	}
	for _, k := range keys {
		if !want[k] {
			tb.t.Errorf("stored in the browser: %s", k)
		}
		delete(want, k)
	}
	for k := range want {
		tb.t.Errorf("expected %s to be stored", k)
	}
	var dbs []any
	tb.run(chromedp.Evaluate(`indexedDB.databases()`, &dbs, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	}))
	if len(dbs) > 0 {
		tb.t.Errorf("IndexedDB databases created: %v", dbs)
	}
}
