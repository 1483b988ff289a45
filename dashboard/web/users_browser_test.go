package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestUsersTableAndSiteDeletion: the Users page is a table (role, sites, 2FA, last
// login) that fits a phone, its search narrows it, a row leads to the account's page;
// on the Sites page an admin deletes a site by typing its domain, and a reload after
// it says nothing again.
func TestUsersTableAndSiteDeletion(t *testing.T) {
	srv := startServer(t, "gone-1440.test", "gone-375.test")
	for _, w := range widths {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			tb := newTab(t)
			tb.size(w, 900)
			tb.login(srv.origin, "/admin/users", adminEmail, password)
			tb.waitFor("the Users table", `location.pathname === "/admin/users" && document.querySelector('table.users tbody tr')`)
			var heads []string
			tb.eval(`[...document.querySelectorAll('table.users thead th')].map(th => th.innerText.trim())`, &heads)
			if strings.Join(heads, "|") != "Email|Role|Sites|2FA|Last login" {
				t.Errorf("table headings %v", heads)
			}
			mgrRow := tb.text(`tr[data-user="` + mgrEmail + `"]`)
			if !strings.Contains(mgrRow, "manager") || !strings.Contains(mgrRow, "off") || !strings.Contains(mgrRow, "never") {
				t.Errorf("the manager's row reads %q", mgrRow)
			}
			if adminRow := tb.text(`tr[data-user="` + adminEmail + `"]`); !strings.Contains(adminRow, "UTC") {
				t.Errorf("the admin's row shows no last login: %q", adminRow)
			}
			tb.noSidewaysScroll("users table")
			var fits bool
			tb.eval(`(() => { const s = document.querySelector('table.users').closest('.scroll'); return s.scrollWidth <= s.clientWidth })()`, &fits)
			if !fits {
				t.Error("the Users table scrolls sideways")
			}
			var overlaps []string
			tb.eval(`[...document.querySelectorAll('table.users td')].filter(td => [...td.querySelectorAll('a, span')].some(el =>
				el.getBoundingClientRect().right > td.getBoundingClientRect().right + 1)).map(td => td.innerText)`, &overlaps)
			if len(overlaps) > 0 {
				t.Errorf("cells whose text runs into the next column: %q", overlaps)
			}
			tb.screenshot(fmt.Sprintf("admin-users-table-%d", w))

			tb.run(chromedp.SendKeys(`input[name=q]`, "client", chromedp.ByQuery), chromedp.Submit(`input[name=q]`, chromedp.ByQuery))
			tb.waitFor("the search", `location.search === "?q=client" && document.readyState === "complete" && document.querySelector("table.users tbody tr")`)
			var rows int
			tb.eval(`document.querySelectorAll('table.users tbody tr[data-user]').length`, &rows)
			if rows != 1 || tb.text(`tr[data-user="`+mgrEmail+`"]`) == "" {
				t.Errorf("search for client: %d rows", rows)
			}
			tb.run(chromedp.Click(`tr[data-user="`+mgrEmail+`"] a`, chromedp.ByQuery))
			tb.waitFor("the account's page", `location.pathname.startsWith("/admin/users/") && document.querySelector('form[aria-label^="Edit"]')`)
			if h := tb.text("main h1"); h != mgrEmail {
				t.Errorf("the account's page is titled %q", h)
			}
			tb.noSidewaysScroll("user page")
			tb.screenshot(fmt.Sprintf("admin-user-%d", w))

			// Delete a site: typed domain, redirect, the notice once.
			gone := fmt.Sprintf("gone-%d.test", w)
			tb.run(chromedp.Navigate(srv.origin + "/admin/sites"))
			tb.waitFor("the Sites page", `document.querySelector('form[aria-label="Delete `+gone+`"]')`)
			tb.run(chromedp.Click(`form[aria-label="Delete `+gone+`"]`, chromedp.ByQuery))
			tb.eval(`document.querySelector('form[aria-label="Delete `+gone+`"]').closest('details').open = true`, nil)
			tb.run(chromedp.SendKeys(`form[aria-label="Delete `+gone+`"] input[name=confirm_domain]`, gone, chromedp.ByQuery))
			tb.screenshot(fmt.Sprintf("admin-site-delete-%d", w))
			tb.run(chromedp.Click(`form[aria-label="Delete `+gone+`"] button[type=submit]`, chromedp.ByQuery))
			tb.waitFor("the notice", `document.body.innerText.includes("Deleted `+gone+` and its data")`)
			var left bool
			tb.eval(`!!document.querySelector('form[aria-label="Delete `+gone+`"]')`, &left)
			if left {
				t.Error("the deleted site is still listed")
			}
			tb.run(chromedp.Reload())
			tb.waitFor("the reloaded page", `document.readyState === "complete" && document.querySelector('main h1')`)
			if strings.Contains(tb.text("main"), "Deleted "+gone) {
				t.Error("a reload says it again")
			}
			tb.noSidewaysScroll("sites page")
			tb.noScriptErrors()
		})
	}
}
