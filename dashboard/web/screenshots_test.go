package web_test

import (
	"bytes"
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "write the README's screenshots to docs/screenshots/")

// maxDocShot bounds a committed screenshot, so the repository stays small.
const maxDocShot = 400 << 10

// TestScreenshots takes the README's pictures of the all-sites page and the report
// page at 1440 px, light, over the fixture, and checks each is a real picture under
// 400 KB. With -update-screenshots they are written to docs/screenshots/ (the only
// time a test writes into the source tree); otherwise to the screenshot folder.
func TestScreenshots(t *testing.T) {
	srv := startServer(t, newSite)
	tb := newTab(t)
	tb.size(1440, 900)
	tb.scheme("light")
	tb.login(srv.origin, "/", adminEmail, password)
	tb.waitFor("the all-sites page", `location.pathname === "/" && document.querySelector('main').dataset.loaded === "true"`)
	save(t, "all-sites", tb.capture(false))

	tb.run(chromedp.Navigate(srv.origin + "/sites/" + shopSite))
	tb.reportsReady()
	tb.waitFor("scroll drop-off", `document.querySelectorAll('#card-scroll .steps-bars li').length === 4`)
	save(t, "report", tb.capture(true))
	tb.noScriptErrors()
}

// capture takes the viewport, or the whole page, as PNG at scale 1.
func (tb *tab) capture(full bool) []byte {
	tb.t.Helper()
	var b []byte
	if full {
		tb.run(chromedp.FullScreenshot(&b, 100))
	} else {
		tb.run(chromedp.CaptureScreenshot(&b))
	}
	return b
}

func save(t *testing.T, name string, b []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: not a PNG: %v", name, err)
	}
	if r := img.Bounds(); r.Dx() < 1000 || r.Dy() < 600 || uniform(img) {
		t.Fatalf("%s: %v, blank or too small", name, r)
	}
	if len(b) > maxDocShot {
		t.Errorf("%s: %d KB, over %d KB", name, len(b)>>10, maxDocShot>>10)
	}
	dir := screenshotDir(t)
	if *updateScreenshots {
		dir = filepath.Join("..", "..", "docs", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// uniform says whether every sampled pixel has the same colour (a blank page).
func uniform(img image.Image) bool {
	r := img.Bounds()
	first := img.At(r.Min.X, r.Min.Y)
	for y := r.Min.Y; y < r.Max.Y; y += 7 {
		for x := r.Min.X; x < r.Max.X; x += 7 {
			if img.At(x, y) != first {
				return false
			}
		}
	}
	return true
}
