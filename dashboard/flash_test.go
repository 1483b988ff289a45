package dashboard

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/store/storetest"
)

// TestFormsRedirectAfterPost: a form that worked answers 303 to its page, which says
// what happened once (a reload says nothing more and sends nothing again); a form that
// failed is shown again with the error.
func TestFormsRedirectAfterPost(t *testing.T) {
	e := newEnv(t, storetest.Server(t), "prg", "a")
	email := e.addUser("pia@prg.test", auth.RoleAdmin, nil)
	b := e.browser()
	b.mustLogin(email)
	form := url.Values{"csrf": {b.csrf}, "domain": {"prg-new.test"}, "timezone": {"UTC"}, "retention_months": {"25"}, "honour_dnt": {"1"}}
	r := b.do(http.MethodPost, "/admin/sites", strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin/sites" {
		t.Fatalf("adding a site: %d %q, want 303 to /admin/sites", r.StatusCode, r.Header.Get("Location"))
	}
	page := b.get("/admin/sites")
	if !strings.Contains(page.body, "Added prg-new.test.") {
		t.Errorf("the page after the redirect does not say what happened")
	}
	if again := b.get("/admin/sites"); strings.Contains(again.body, "Added prg-new.test.") {
		t.Errorf("a reload says it again")
	}
	// A failed form is shown again with the error and what was typed.
	form.Set("timezone", "Europe/Tallinn")
	r = b.post("/admin/sites", form)
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "registered already") ||
		!strings.Contains(r.body, `name="domain" value="prg-new.test"`) || !strings.Contains(r.body, `name="timezone" value="Europe/Tallinn"`) {
		t.Errorf("adding it twice: %d, typed values not kept", r.StatusCode)
	}
}
