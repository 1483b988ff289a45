package testenv

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// DesktopUA replaces headless Chromium's "HeadlessChrome" user agent, which a collector
// rightly drops as a bot, where a test's page views should be counted.
const DesktopUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"

// ChromiumOptions starts headless Chromium the way DESIGN.md asks (no background
// networking: this machine's network is closed) with the profile in profileDir and a
// desktop user agent. Callers add what their test needs.
func ChromiumOptions(t testing.TB, profileDir string) []chromedp.ExecAllocatorOption {
	t.Helper()
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Chromium(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(profileDir),
		chromedp.UserAgent(DesktopUA),
	}
}

// ScreenshotDir is where browser tests keep their screenshots for a person to look at:
// LOENDUR_SCREENSHOTS/sub (make test sets testdata-out/screenshots, git-ignored), or
// loendur-screenshots/sub in the system's temporary folder, never elsewhere in the
// source tree.
func ScreenshotDir(t testing.TB, sub string) string {
	t.Helper()
	root := os.Getenv("LOENDUR_SCREENSHOTS")
	if root == "" {
		root = filepath.Join(os.TempDir(), "loendur-screenshots")
	}
	dir, err := filepath.Abs(filepath.Join(root, sub))
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		t.Fatalf("screenshot folder: %v", err)
	}
	return dir
}
