package web_test

import (
	"strings"
	"testing"
)

// TestLoginNextStaysOnSite: a TAB in the return address, which browsers drop
// ("/\t/evil.example/" → "//evil.example/", another origin), must not take the person
// off the site after signing in. Before the fix Chromium's only defence was the page's
// CSP form-action, which blocks the redirect and leaves the person on the sign-in page
// (this test then times out); without CSP the browser went to evil.example.
func TestLoginNextStaysOnSite(t *testing.T) {
	srv := startServer(t)
	tb := newTab(t)
	tb.login(srv.origin, "/login?next=%2F%09%2Fevil.example%2F", adminEmail, password)
	tb.waitFor("the page after sign-in", `!location.href.startsWith(`+"`"+srv.origin+`/login`+"`"+`)`)
	if loc := tb.location(); !strings.HasPrefix(loc, srv.origin+"/") {
		t.Fatalf("after sign-in the browser is at %s, off %s", loc, srv.origin)
	}
}
