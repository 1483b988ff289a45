package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/websystems/loendur/internal/testenv"
)

// wait bounds every browser step.
const wait = 30 * time.Second

// tab is a headless Chromium of its own (fresh profile, so its own cookies), started
// with the flags of DESIGN.md, recording script errors and every URL the page
// requested, so a test can prove that no request left for another origin.
type tab struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	errors   []string
	requests []string
}

func newTab(t *testing.T, extra ...chromedp.ExecAllocatorOption) *tab {
	t.Helper()
	// Not t.TempDir: Chromium may still write to its profile for a moment after it was
	// told to quit, and a failed clean-up would fail the test.
	profile, err := os.MkdirTemp("", "loendur-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(testenv.ChromiumOptions(t, profile),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(1280, 900),
	)
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	tb := &tab{t: t, ctx: ctx}
	chromedp.ListenTarget(ctx, tb.listen)
	if err := chromedp.Run(ctx); err != nil {
		cancel()
		cancelAlloc()
		_ = os.RemoveAll(profile)
		t.Fatalf("starting Chromium: %v", err)
	}
	t.Cleanup(func() {
		_ = chromedp.Cancel(ctx) // closes the browser and waits for it
		cancel()
		cancelAlloc()
		for i := 0; i < 20 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(50 * time.Millisecond)
		}
	})
	return tb
}

func (tb *tab) listen(ev any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		tb.errors = append(tb.errors, fmt.Sprintf("uncaught: %s (%s:%d)", msg, d.URL, d.LineNumber))
	case *log.EventEntryAdded:
		// Refused API calls (403 in the manager test) are logged by Chromium as network
		// errors; what matters here are CSP violations and script errors.
		if e.Entry.Level == log.LevelError && e.Entry.Source != log.SourceNetwork {
			tb.errors = append(tb.errors, fmt.Sprintf("%s: %s %s", e.Entry.Source, e.Entry.Text, e.Entry.URL))
		}
	case *network.EventRequestWillBeSent:
		tb.requests = append(tb.requests, e.Request.URL)
	}
}

func (tb *tab) run(actions ...chromedp.Action) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, wait)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

// size sets the viewport; widths under 500 emulate a phone.
func (tb *tab) size(width, height int64) {
	tb.t.Helper()
	mobile := width < 500
	tb.run(emulation.SetDeviceMetricsOverride(width, height, 1, mobile))
}

// scheme emulates prefers-color-scheme: "light" or "dark".
func (tb *tab) scheme(s string) {
	tb.t.Helper()
	tb.run(emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: s}}))
}

// eval runs a script expression and decodes its value into out.
func (tb *tab) eval(expr string, out any) {
	tb.t.Helper()
	tb.run(chromedp.Evaluate(expr, out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	}))
}

// waitFor polls a script expression until it is true in a parsed page.
func (tb *tab) waitFor(what, expr string) {
	tb.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		var ok bool
		ctx, cancel := context.WithTimeout(tb.ctx, wait)
		// A page still being parsed may hold the element waited for but not those after
		// it, which the test reads next.
		err := chromedp.Run(ctx, chromedp.Evaluate("document.readyState !== 'loading' && Boolean("+expr+")", &ok))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			var text string
			_ = chromedp.Run(tb.ctx, chromedp.Evaluate(`document.body ? document.body.innerText.slice(0, 3000) : ""`, &text))
			tb.t.Fatalf("waited %v for %s (%s; err %v); page text:\n%s\nerrors: %v", wait, what, expr, err, text, tb.scriptErrors())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// foreignRequests lists the requests the page sent anywhere but origin.
func (tb *tab) foreignRequests(origin string) []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var out []string
	for _, u := range tb.requests {
		if !strings.HasPrefix(u, origin+"/") && u != origin && !strings.HasPrefix(u, "data:") && u != "about:blank" {
			out = append(out, u)
		}
	}
	return out
}

func (tb *tab) scriptErrors() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.errors...)
}

// noScriptErrors fails the test for any uncaught exception or CSP violation so far.
func (tb *tab) noScriptErrors() {
	tb.t.Helper()
	if errs := tb.scriptErrors(); len(errs) > 0 {
		tb.t.Errorf("the page logged errors:\n%s", strings.Join(errs, "\n"))
	}
}

// screenshot saves the whole page as PNG under the screenshot folder.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	var png []byte
	tb.run(chromedp.FullScreenshot(&png, 100))
	path := filepath.Join(screenshotDir(tb.t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("screenshot %s", path)
}

// screenshotElement saves one element as PNG.
func (tb *tab) screenshotElement(name, sel string) {
	tb.t.Helper()
	var png []byte
	tb.run(chromedp.Screenshot(sel, &png, chromedp.ByQuery))
	path := filepath.Join(screenshotDir(tb.t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("screenshot %s", path)
}

// screenshotDir is where this package's screenshots go (testenv.ScreenshotDir).
func screenshotDir(t *testing.T) string { return testenv.ScreenshotDir(t, "dashboard") }
