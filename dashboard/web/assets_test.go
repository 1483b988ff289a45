package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/dashboard/auth"
)

func assetApp(t *testing.T) (*fiber.App, *assets) {
	t.Helper()
	as, err := newAssets()
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New()
	app.Get("/assets/*", as.serve)
	return app, as
}

func get(t *testing.T, app *fiber.App, url string, headers map[string]string) (*httptestResponse, []byte) {
	t.Helper()
	req := httptest.NewRequest("GET", url, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return &httptestResponse{Status: resp.StatusCode, Header: resp.Header.Get}, body
}

type httptestResponse struct {
	Status int
	Header func(string) string
}

func TestAssetsCaching(t *testing.T) {
	app, as := assetApp(t)
	for _, name := range []string{"app.js", "app.css", "favicon.svg"} {
		if as.files[name] == nil {
			t.Fatalf("asset %s is not embedded", name)
		}
	}
	js := as.files["app.js"]

	r, body := get(t, app, "/assets/app.js", nil)
	if r.Status != 200 || !bytes.Equal(body, js.body) {
		t.Fatalf("GET app.js: %d, %d bytes", r.Status, len(body))
	}
	if ct := r.Header("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := r.Header("Cache-Control"); cc != cacheRevalidated {
		t.Errorf("unversioned Cache-Control %q, want %q", cc, cacheRevalidated)
	}
	etag := r.Header("ETag")
	if etag != `"`+js.hash+`"` {
		t.Errorf("ETag %q", etag)
	}
	if r.Header("X-Content-Type-Options") != "nosniff" {
		t.Error("no nosniff")
	}

	// The URL the pages use carries the content hash and may be kept for a year.
	url := as.url("app.js")
	if !strings.Contains(url, "?v="+js.hash) {
		t.Errorf("asset URL %q lacks the content hash", url)
	}
	if r, _ := get(t, app, url, nil); r.Header("Cache-Control") != cacheVersioned {
		t.Errorf("versioned Cache-Control %q", r.Header("Cache-Control"))
	}
	if r, _ := get(t, app, "/assets/app.js?v=stale", nil); r.Header("Cache-Control") != cacheRevalidated {
		t.Errorf("stale version cached as %q", r.Header("Cache-Control"))
	}

	// Revalidation answers 304 without a body, for either coding's tag.
	for _, tag := range []string{etag, `W/` + etag, `"x", "` + js.hash + `-gz"`} {
		r, body := get(t, app, "/assets/app.js", map[string]string{"If-None-Match": tag})
		if r.Status != 304 || len(body) != 0 {
			t.Errorf("If-None-Match %s: %d, %d bytes", tag, r.Status, len(body))
		}
	}
	if r, _ := get(t, app, "/assets/app.js", map[string]string{"If-None-Match": `"other"`}); r.Status != 200 {
		t.Errorf("foreign ETag: %d", r.Status)
	}

	// gzip for clients that take it, the same bytes once decoded.
	r, body = get(t, app, "/assets/app.js", map[string]string{"Accept-Encoding": "br, gzip"})
	if r.Header("Content-Encoding") != "gzip" || r.Header("ETag") != `"`+js.hash+`-gz"` || r.Header("Vary") != "Accept-Encoding" {
		t.Fatalf("gzip answer: encoding %q etag %q vary %q", r.Header("Content-Encoding"), r.Header("ETag"), r.Header("Vary"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if !bytes.Equal(plain, js.body) {
		t.Error("gzip body differs from the script")
	}
	if r, _ := get(t, app, "/assets/app.js", map[string]string{"Accept-Encoding": "gzip;q=0"}); r.Header("Content-Encoding") != "" {
		t.Error("gzip sent to a client that refused it")
	}

	for _, bad := range []string{"/assets/nope.js", "/assets/../web.go", "/assets/.gitkeep", "/assets/"} {
		if r, _ := get(t, app, bad, nil); r.Status != 404 {
			t.Errorf("GET %s: %d, want 404", bad, r.Status)
		}
	}
}

// TestChartAssets checks the library copied by `make assets`, when it is there, and
// otherwise that the page says how to build it instead of breaking.
func TestChartAssets(t *testing.T) {
	_, as := assetApp(t)
	if !as.chartReady && os.Getenv("CI") == "true" {
		t.Errorf("dist/ holds no chart library: `make test` must run `make assets` first")
	} else if !as.chartReady {
		t.Logf("dist/ holds no chart library (run make assets); checking the page's notice only")
	} else if !bytes.Contains(as.files["uPlot.iife.min.js"].body, []byte("uPlot")) {
		t.Error("dist/uPlot.iife.min.js is not uPlot")
	}
	for _, ready := range []bool{false, true} {
		html := renderReport(t, ready)
		notice := strings.Contains(html, "Chart assets not built: run <code>make assets</code>")
		script := strings.Contains(html, `src="/assets/uPlot.iife.min.js`)
		if notice == ready || script != ready {
			t.Errorf("chart ready %v: notice %v, library script %v", ready, notice, script)
		}
	}
}

func renderReport(t *testing.T, chartReady bool) string {
	t.Helper()
	f, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.assets.chartReady = chartReady
	var b strings.Builder
	err = f.execute(&b, "report", pageData{
		Header: Header{Title: "shop.test", User: &auth.User{Email: "a@b.test", Role: auth.RoleAdmin}, CSRF: "tok<en>",
			Site: "shop.test", SiteMenu: []string{"a.test", "shop.test"}},
		Timezone: "Europe/Tallinn",
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestPageNeedsNoInlineCode keeps the page within default-src 'self': no inline script,
// no event handler attributes, no style attributes, nothing from another origin.
func TestPageNeedsNoInlineCode(t *testing.T) {
	html := renderReport(t, true)
	checks := map[string]*regexp.Regexp{
		"inline script":      regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`),
		"script without src": regexp.MustCompile(`<script(?:(?:\s(?:defer|type="[^"]*"))*)>`),
		"event handler":      regexp.MustCompile(`(?i)\son[a-z]+\s*=`),
		"style attribute":    regexp.MustCompile(`(?i)\sstyle\s*=`),
		"style element":      regexp.MustCompile(`(?i)<style`),
		"other origin":       regexp.MustCompile(`(?i)(src|href)="(https?:)?//`),
	}
	for what, re := range checks {
		if m := re.FindString(html); m != "" {
			t.Errorf("report page has an %s: %q", what, m)
		}
	}
	if !strings.Contains(html, `data-csrf="tok&lt;en&gt;"`) {
		t.Error("the CSRF token is not on the page, escaped")
	}
	js := string(mustAsset(t, "app.js"))
	for _, banned := range []string{"innerHTML", "eval(", "new Function", "setAttribute('style'", "document.write", "http://", "https://"} {
		if strings.Contains(js, banned) {
			t.Errorf("app.js uses %s", banned)
		}
	}
}

func mustAsset(t *testing.T, name string) []byte {
	t.Helper()
	_, as := assetApp(t)
	f := as.files[name]
	if f == nil {
		t.Fatalf("no asset %s", name)
	}
	return f.body
}
