// Package browsertest drives the tracker in headless Chromium (chromedp): a test site on
// one origin, the script and a recording collector on another, and checks what the
// tracker sends, and that it sends nothing when it must not. The tests skip locally
// without Chromium and fail under CI=true (internal/testenv).
package browsertest
