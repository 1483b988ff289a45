package dashboard

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/erasure"
	"github.com/websystems/loendur/internal/erasure/erasuretest"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

// siteRows counts site's rows in every table and view with a site column.
func siteRows(t *testing.T, db store.Store, site string) map[string]uint64 {
	t.Helper()
	ctx := context.Background()
	names, err := siteTables(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, name := range names {
		var n []struct {
			N uint64 `ch:"n"`
		}
		if err := db.Select(ctx, &n, "SELECT count() AS n FROM `"+name+"` WHERE site = ?", site); err != nil {
			t.Fatalf("count %s: %v", name, err)
		}
		out[name] = n[0].N
	}
	return out
}

// fillSite gives site real events and visits, and a row (defaults but the site) in
// every other table with a site column, so that no table is left out by chance.
func fillSite(t *testing.T, db store.Store, site string) {
	t.Helper()
	ctx := context.Background()
	erasuretest.Store(t, db, erasuretest.Events(site))
	cat, err := erasure.Discover(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	names, err := siteTables(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if slices.Contains(cat.Views, name) || name == "events" || name == "sessions" {
			continue
		}
		// Numbers 1, not 0: a summing table drops rows whose sums are all zero.
		var cols []struct {
			Name string `ch:"name"`
		}
		if err := db.Select(ctx, &cols, `SELECT name FROM system.columns WHERE database = currentDatabase()
			AND table = ? AND match(type, '^U?Int') AND default_kind = ''`, name); err != nil {
			t.Fatal(err)
		}
		list, values := "site", "?"
		for _, c := range cols {
			list, values = list+", `"+c.Name+"`", values+", 1"
		}
		if err := db.Exec(ctx, "INSERT INTO `"+name+"` ("+list+") SELECT "+values, site); err != nil {
			t.Fatalf("insert a row of %s into %s: %v", site, name, err)
		}
	}
}

func TestDeleteSiteWithItsData(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, db, "sdel-"+engine, "gone", "kept")
			gone, kept := e.sites[0], e.sites[1]
			fillSite(t, db, gone)
			fillSite(t, db, kept)
			adminEmail := e.addUser("sda-"+engine+"@sdel.test", auth.RoleAdmin, nil)
			mgr := e.addUser("sdm-"+engine+"@sdel.test", auth.RoleManager, e.sites)
			keptBefore := siteRows(t, db, kept)
			t.Logf("tables and views with a site column: %d", len(keptBefore))
			for name, n := range siteRows(t, db, gone) {
				if n == 0 {
					t.Fatalf("the fixture left %s without a row of %s", name, gone)
				}
			}

			// Managers may not; admins must type the domain.
			m := e.browser()
			m.mustLogin(mgr)
			if r := m.post("/admin/sites/"+gone+"/delete", url.Values{"confirm_domain": {gone}}); r.StatusCode != http.StatusForbidden {
				t.Fatalf("a manager deletes a site: %d", r.StatusCode)
			}
			admin := e.browser()
			admin.mustLogin(adminEmail)
			r := admin.post("/admin/sites/"+gone+"/delete", url.Values{"confirm_domain": {"something-else.test"}})
			if r.StatusCode != http.StatusBadRequest || !strings.Contains(pageText(r.body), "type the domain "+gone) {
				t.Fatalf("unconfirmed deletion: %d", r.StatusCode)
			}
			if _, ok := e.dash.opts.Sites.Lookup(gone); !ok || siteRows(t, db, gone)["events"] == 0 {
				t.Fatal("an unconfirmed deletion deleted")
			}
			r = admin.post("/admin/sites/"+gone+"/delete", url.Values{"confirm_domain": {gone}})
			if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Deleted "+gone+" and its data") {
				t.Fatalf("deletion: %d %s", r.StatusCode, r.body)
			}

			for name, n := range siteRows(t, db, gone) {
				if n != 0 && name != erasure.LedgerTable {
					t.Errorf("%s still has %d rows of the deleted site", name, n)
				}
			}
			if n := siteRows(t, db, gone)[erasure.LedgerTable]; n == 0 {
				t.Errorf("the erasure ledger's record was deleted too")
			}
			for name, n := range siteRows(t, db, kept) {
				if n != keptBefore[name] {
					t.Errorf("%s: the other site has %d rows, had %d", name, n, keptBefore[name])
				}
			}
			var sitesRows []struct {
				N uint64 `ch:"n"`
			}
			if err := db.Select(context.Background(), &sitesRows, "SELECT count() AS n FROM sites WHERE domain = ?", gone); err != nil || sitesRows[0].N != 0 {
				t.Errorf("sites table still has the site: %v %v", sitesRows, err)
			}
			if _, ok := e.dash.opts.Sites.Lookup(gone); ok {
				t.Error("the registry still has the site")
			}
			if r := admin.get("/api/v1/stats/overview?period=7d&site=" + gone); r.StatusCode != http.StatusNotFound && r.StatusCode != http.StatusForbidden {
				t.Errorf("reports of the deleted site: %d", r.StatusCode)
			}
			var users struct{ Users []auth.User }
			admin.get("/api/v1/users").json(t, &users)
			for _, u := range users.Users {
				if u.Email == mgr && (slices.Contains(u.Sites, gone) || !slices.Contains(u.Sites, kept)) {
					t.Errorf("manager's sites after the deletion: %v", u.Sites)
				}
			}
			if !e.auditHas("site_delete", gone) {
				t.Error("the deletion is not in the audit log")
			}
			// The API twin: needs the domain again, and a session.
			if r := admin.api(http.MethodDelete, "/api/v1/sites/"+kept, map[string]string{"confirm": "x"}); r.StatusCode != http.StatusBadRequest {
				t.Errorf("API deletion without confirmation: %d", r.StatusCode)
			}
		})
	}
}
