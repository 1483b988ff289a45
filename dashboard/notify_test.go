package dashboard

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/dashboard/notify"
	"github.com/websystems/loendur/internal/store/storetest"
)

// An admin sets a site's reports and alerts on its page; a malformed address is
// refused with a message naming it, and the form keeps what was typed; a manager
// cannot reach the page; the unsubscribe page needs no account.
func TestNotifySettingsPage(t *testing.T) {
	db := storetest.Server(t)
	e := newEnv(t, db, "notify", "shop")
	site := e.sites[0]
	admin := e.addUser("admin@agency.example", auth.RoleAdmin, nil)
	b := e.browser()
	b.mustLogin(admin)

	page := b.get("/admin/sites/" + site + "/notify")
	if page.StatusCode != http.StatusOK || !strings.Contains(page.body, "E-mail reports and alerts: "+site) {
		t.Fatalf("settings page: %d %s", page.StatusCode, page.body)
	}
	bad := b.post("/admin/sites/"+site+"/notify", url.Values{"weekly": {"1"},
		"recipients": {"ana@agency.example\nboss(at)client.example"}, "stopped_hours": {"3"}})
	if bad.StatusCode != http.StatusBadRequest || !strings.Contains(pageText(bad.body), `"boss(at)client.example" is not an e-mail address`) ||
		!strings.Contains(bad.body, "boss(at)client.example</textarea>") {
		t.Fatalf("malformed address: %d, want 400 naming it and the form as typed:\n%s", bad.StatusCode, bad.body)
	}
	if got, _ := notify.Recipients(t.Context(), db, site); len(got) != 0 {
		t.Fatalf("a refused form stored %v", got)
	}
	ok := b.post("/admin/sites/"+site+"/notify", url.Values{"weekly": {"1"}, "monthly": {"1"},
		"recipients": {"ana@agency.example, Boss@Client.EXAMPLE"}, "stopped_hours": {"3"},
		"alert_recipients": {"ops@agency.example"}, "webhook_url": {"https://hooks.agency.example/loendur"}})
	if ok.StatusCode != http.StatusOK || !strings.Contains(ok.body, "Saved the e-mail reports and alerts of "+site) {
		t.Fatalf("save: %d %s", ok.StatusCode, ok.body)
	}
	got, err := notify.Recipients(t.Context(), db, site)
	if err != nil || strings.Join(got, ",") != "Boss@client.example,ana@agency.example,ops@agency.example" {
		t.Errorf("Recipients = %v, %v", got, err)
	}
	if !e.auditHas("notify_update", site) {
		t.Error("no audit entry for the change")
	}
	var js map[string]any
	api := b.get("/api/v1/sites/" + site + "/notify")
	api.json(t, &js)
	if js["weekly"] != true || js["webhook_secret"] == "" || js["token_key"] != nil {
		t.Errorf("API view: %v (the webhook secret shown, the unsubscribe key never)", js)
	}

	manager := e.addUser("m@client.example", auth.RoleManager, []string{site})
	m := e.browser()
	m.mustLogin(manager)
	if r := m.get("/admin/sites/" + site + "/notify"); r.StatusCode != http.StatusForbidden {
		t.Errorf("manager on the settings page: %d, want 403", r.StatusCode)
	}

	anon := e.browser()
	if r := anon.get("/unsubscribe/bm90LmEudG9rZW4.AAAA"); r.StatusCode != http.StatusNotFound ||
		!strings.Contains(r.body, "This unsubscribe link is not valid") {
		t.Errorf("forged unsubscribe link without an account: %d %s", r.StatusCode, r.body)
	}
}
