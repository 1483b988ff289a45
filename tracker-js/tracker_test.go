package trackerjs

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/gofiber/fiber/v2"

	"github.com/websystems/loendur/tracker-js/internal/minify"
)

// The committed script.min.js is what src/script.js minifies to today, and it fits the
// budget that the issue sets for the script as served.
func TestScriptIsCurrentAndWithinBudget(t *testing.T) {
	src, err := os.ReadFile("src/script.js")
	if err != nil {
		t.Fatal(err)
	}
	want, err := minify.Script(src)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(Script, want) {
		t.Errorf("script.min.js is stale: run `go generate ./tracker-js` and commit script.min.js")
	}
	size, err := minify.GzipSize(Script)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("script.min.js: %d bytes minified, %d bytes gzip -9 (budget %d)", len(Script), size, minify.Budget)
	if size > minify.Budget {
		t.Errorf("script.min.js is %d bytes gzipped, over the budget of %d", size, minify.Budget)
	}
}

func newApp(allow func(string) bool) *fiber.App {
	app := fiber.New()
	if err := Register(app, allow); err != nil {
		panic(err)
	}
	return app
}

func get(t *testing.T, app *fiber.App, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/js/script.js", nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestHandlerServesScript(t *testing.T) {
	resp, body := get(t, newApp(nil), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if !bytes.Equal(body, Script) {
		t.Errorf("body is not the script (%d bytes, want %d)", len(body), len(Script))
	}
	for k, want := range map[string]string{
		"Content-Type":     "application/javascript; charset=utf-8",
		"Cache-Control":    CacheControl,
		"Content-Encoding": "",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if v := resp.Header.Get("Vary"); !strings.Contains(v, "Accept-Encoding") {
		t.Errorf("Vary = %q, want it to name Accept-Encoding", v)
	}
	if etag := resp.Header.Get("ETag"); !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
		t.Errorf("ETag = %q, want a strong tag", etag)
	}
}

func TestHandlerETagAndNotModified(t *testing.T) {
	app := newApp(nil)
	first, _ := get(t, app, nil)
	etag := first.Header.Get("ETag")
	again, _ := get(t, app, nil)
	if again.Header.Get("ETag") != etag {
		t.Errorf("ETag changed between requests: %q then %q", etag, again.Header.Get("ETag"))
	}

	for _, inm := range []string{etag, `"other", ` + etag, "W/" + etag, "*"} {
		resp, body := get(t, app, map[string]string{"If-None-Match": inm})
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("If-None-Match %s: status %d, want 304", inm, resp.StatusCode)
		}
		if len(body) != 0 {
			t.Errorf("If-None-Match %s: 304 with a %d-byte body", inm, len(body))
		}
		if resp.Header.Get("ETag") == "" || resp.Header.Get("Cache-Control") == "" {
			t.Errorf("If-None-Match %s: 304 without ETag or Cache-Control", inm)
		}
	}
	// A tag received with gzip revalidates a copy kept in any coding.
	gz, _ := get(t, app, map[string]string{"Accept-Encoding": "gzip"})
	if resp, _ := get(t, app, map[string]string{"If-None-Match": gz.Header.Get("ETag")}); resp.StatusCode != http.StatusNotModified {
		t.Errorf("gzip ETag %s: status %d, want 304", gz.Header.Get("ETag"), resp.StatusCode)
	}
	if resp, _ := get(t, app, map[string]string{"If-None-Match": `"stale"`}); resp.StatusCode != http.StatusOK {
		t.Errorf("stale If-None-Match: status %d, want 200", resp.StatusCode)
	}
}

func TestHandlerCompression(t *testing.T) {
	app := newApp(nil)
	tags := map[string]string{}
	for _, tc := range []struct {
		accept, want string
	}{
		{"gzip, deflate, br, zstd", "br"}, // what Chromium sends
		{"gzip", "gzip"},
		{"br", "br"},
		{"br;q=0, gzip", "gzip"},
		{"gzip;q=0.5, br;q=0.2", "gzip"},
		{"*", "br"},
		{"identity", ""},
		{"deflate", ""},
		{"gzip;q=0, br;q=0", ""},
	} {
		resp, body := get(t, app, map[string]string{"Accept-Encoding": tc.accept})
		if got := resp.Header.Get("Content-Encoding"); got != tc.want {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, want %q", tc.accept, got, tc.want)
			continue
		}
		var plain []byte
		var err error
		switch tc.want {
		case "gzip":
			var zr *gzip.Reader
			if zr, err = gzip.NewReader(bytes.NewReader(body)); err == nil {
				plain, err = io.ReadAll(zr)
			}
		case "br":
			plain, err = io.ReadAll(brotli.NewReader(bytes.NewReader(body)))
		default:
			plain = body
		}
		if err != nil {
			t.Errorf("Accept-Encoding %q: decoding %s: %v", tc.accept, tc.want, err)
			continue
		}
		if !bytes.Equal(plain, Script) {
			t.Errorf("Accept-Encoding %q: decoded body is not the script", tc.accept)
		}
		if tc.want != "" && len(body) >= len(Script) {
			t.Errorf("Accept-Encoding %q: %s body of %d bytes is not smaller than %d", tc.accept, tc.want, len(body), len(Script))
		}
		tags[tc.want] = resp.Header.Get("ETag")
	}
	if tags["gzip"] == tags["br"] || tags["gzip"] == tags[""] {
		t.Errorf("codings share an ETag: %v", tags)
	}
	gz, _ := get(t, app, map[string]string{"Accept-Encoding": "gzip"})
	if n := gz.Header.Get("Content-Length"); n == "" {
		t.Errorf("gzip response without Content-Length")
	}
}

func TestHandlerCORS(t *testing.T) {
	var asked []string
	app := newApp(func(origin string) bool {
		asked = append(asked, origin)
		return origin == "https://example.com"
	})

	resp, _ := get(t, app, map[string]string{"Origin": "https://example.com"})
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://example.com" {
		t.Errorf("allowed origin: Access-Control-Allow-Origin = %q", got)
	}
	if v := resp.Header.Get("Vary"); !strings.Contains(v, "Origin") {
		t.Errorf("Vary = %q, want it to name Origin", v)
	}

	resp, body := get(t, app, map[string]string{"Origin": "https://evil.example"})
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("unknown origin: Access-Control-Allow-Origin = %q, want none", got)
	}
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, Script) {
		t.Errorf("unknown origin: a plain <script> without crossorigin must still load (status %d)", resp.StatusCode)
	}

	resp, _ = get(t, app, nil)
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("no Origin: Access-Control-Allow-Origin = %q, want none", got)
	}
	if len(asked) != 2 || asked[0] != "https://example.com" || asked[1] != "https://evil.example" {
		t.Errorf("allowOrigin asked about %q, want the two request origins", asked)
	}

	resp, _ = get(t, newApp(nil), map[string]string{"Origin": "https://any.example"})
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://any.example" {
		t.Errorf("nil allowOrigin: Access-Control-Allow-Origin = %q, want the origin", got)
	}
}
