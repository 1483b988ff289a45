package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
	"github.com/websystems/loendur/dashboard/auth"
)

// TestRecoveryCodesInChromium: turning two-factor sign-in on at /account shows 10
// recovery codes once; the login form accepts one typed as shown, once.
func TestRecoveryCodesInChromium(t *testing.T) {
	srv := startServer(t)
	for _, w := range widths {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			email := fmt.Sprintf("rec-%d@client.test", w)
			if _, _, err := auth.AddUser(context.Background(), srv.db, email, auth.RoleManager, []string{clientSite}, password); err != nil {
				t.Fatal(err)
			}
			tb := newTab(t)
			tb.size(w, 900)
			tb.login(srv.origin, "/account", email, password)
			tb.waitFor("the account page", `location.pathname === "/account" && document.querySelector('form[action="/account/totp"] button')`)
			tb.run(chromedp.Click(`form[action="/account/totp"] button`, chromedp.ByQuery))
			tb.waitFor("the key", `document.querySelector('form[action="/account/totp/confirm"]')`)
			var secret string
			tb.eval(`[...document.querySelectorAll('main p code')].map(c => c.innerText).find(s => /^[A-Z2-7]{16,}$/.test(s)) || ""`, &secret)
			code, err := totp.GenerateCode(secret, time.Now())
			if err != nil {
				t.Fatalf("key %q: %v", secret, err)
			}
			tb.run(chromedp.SendKeys(`form[action="/account/totp/confirm"] input[name=code]`, code, chromedp.ByQuery),
				chromedp.Click(`form[action="/account/totp/confirm"] button`, chromedp.ByQuery))
			tb.waitFor("the recovery codes", `document.querySelector('#secret')`)
			codes := strings.Fields(tb.text("#secret"))
			if len(codes) != 10 || !strings.Contains(tb.text("main"), "10 of 10 left") {
				t.Fatalf("recovery codes shown: %q; page: %q", codes, tb.text("main"))
			}
			tb.noSidewaysScroll("account page with recovery codes")
			tb.screenshot(fmt.Sprintf("account-recovery-codes-%d", w))
			tb.run(chromedp.Reload())
			tb.waitFor("the reloaded page", `document.readyState === "complete" && document.querySelector('main h1')`)
			var shown bool
			tb.eval(`!!document.querySelector('#secret')`, &shown)
			if shown {
				t.Error("a reload shows the codes again")
			}

			// Sign in again with a code, through the form (its pattern must let it through).
			signIn := func(c string) string {
				tb.run(chromedp.Click(`#account-menu summary`, chromedp.ByQuery), chromedp.Click(`#logout`, chromedp.ByQuery))
				tb.waitFor("the login page", `location.pathname === "/login"`)
				tb.login(srv.origin, "/account", email, password)
				tb.waitFor("the code field", `document.querySelector('input[name=code][required]')`)
				tb.eval(`window.beforeSubmit = true`, nil)
				tb.run(chromedp.SendKeys(`input[name=password]`, password, chromedp.ByQuery),
					chromedp.SendKeys(`input[name=code]`, c, chromedp.ByQuery),
					chromedp.Click(`form[action="/login"] button[type=submit]`, chromedp.ByQuery))
				tb.waitFor("an answer", `!window.beforeSubmit && document.readyState === "complete" && (location.pathname === "/account" || !!document.querySelector('.error, [role=alert]'))`)
				var path string
				tb.eval(`location.pathname`, &path)
				return path
			}
			if p := signIn(codes[2]); p != "/account" {
				t.Fatalf("sign-in with a recovery code ended on %s: %q", p, tb.text("main"))
			}
			if p := signIn(codes[2]); p == "/account" {
				t.Error("the same recovery code signed in twice")
			}
			tb.noScriptErrors()
		})
	}
}
