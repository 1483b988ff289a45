package dashboard

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/erasure"
	"github.com/websystems/loendur/internal/erasure/erasuretest"
	"github.com/websystems/loendur/internal/spool"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

// requestFixture stores the erasure fixture (erasuretest.Events) on site, with
// visitor 1's second event a Signup whose prop needs quoting in CSV; on other: visitor
// 1's first event again.
func requestFixture(t *testing.T, db store.Store, site, other string) []store.Event {
	t.Helper()
	evs := erasuretest.Events(site)
	evs[1].Name, evs[1].PropKeys, evs[1].PropValues = "Signup", []string{"plan"}, []string{"pro, \"yearly\""}
	evs = append(evs, erasuretest.Events(other)[0])
	erasuretest.Store(t, db, evs)
	return evs
}

// storedVisitors lists the visitor id of every row of table on site, sorted.
func storedVisitors(t *testing.T, db store.Store, table, site string) []uint64 {
	t.Helper()
	var rows []struct {
		V uint64 `ch:"v"`
	}
	if err := db.Select(context.Background(), &rows, "SELECT visitor_id AS v FROM "+table+" WHERE site = ? ORDER BY v", site); err != nil {
		t.Fatal(err)
	}
	out := []uint64{}
	for _, r := range rows {
		out = append(out, r.V)
	}
	return out
}

func ledgerOf(t *testing.T, db store.Store, site string) []erasure.Entry {
	t.Helper()
	all, err := erasure.Ledger(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	var out []erasure.Entry
	for _, e := range all {
		if e.Site == site {
			out = append(out, e)
		}
	}
	return out
}

func TestDataRequests(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, db, "requests-"+engine, "a", "b")
			site, other := e.sites[0], e.sites[1]
			sp, err := spool.Open(spool.Options{Dir: t.TempDir(), MaxBytes: 16 << 20, Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer sp.Close()
			e.dash.opts.Erasure = erasure.NewService(erasure.ServiceOptions{DB: db, Spool: sp})
			evs := requestFixture(t, db, site, other)
			// Events of visitors 1 and 2 still waiting in the spool.
			spooled := []store.Event{
				{EventID: uuid.New(), Site: site, Timestamp: time.Now().UTC(), Name: "pageview", VisitorID: 1, SessionID: 13, IP: "203.0.0.0"},
				{EventID: uuid.New(), Site: site, Timestamp: time.Now().UTC(), Name: "pageview", VisitorID: 2, SessionID: 22, IP: "203.0.0.0"},
			}
			if err := sp.Append(spool.Batch{ID: uuid.New(), Events: spooled}); err != nil {
				t.Fatal(err)
			}

			adminEmail := e.addUser("ada-"+engine+"@requests.test", auth.RoleAdmin, nil)
			admin := e.browser()
			admin.mustLogin(adminEmail)

			page := admin.get("/admin/requests")
			if page.StatusCode != http.StatusOK || !strings.Contains(page.body, `href="/admin/requests" aria-current="page"`) ||
				!strings.Contains(page.body, "Past erasures") || !strings.Contains(page.body, site) {
				t.Fatalf("requests page: %d %s", page.StatusCode, page.body)
			}

			// Preview: how many rows each table holds for visitor 1.
			visitor1 := url.Values{"site": {site}, "kind": {"visitor"}, "ids": {"1"}}
			r := admin.post("/admin/requests/preview", visitor1)
			body := pageText(r.body)
			if r.StatusCode != http.StatusOK || !strings.Contains(body, "3 events match") ||
				!strings.Contains(body, "<tr><td>events</td><td>3</td></tr>") || !strings.Contains(body, "<tr><td>sessions</td><td>2</td></tr>") {
				t.Fatalf("preview: %d %s", r.StatusCode, body)
			}

			// Export, JSON: exactly visitor 1's events on the site, as stored.
			want := map[string]store.Event{}
			for _, ev := range evs[:3] {
				want[ev.EventID.String()] = ev
			}
			form := cloneValues(visitor1)
			form.Set("format", "json")
			r = admin.post("/admin/requests/export", form)
			if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") ||
				!strings.HasPrefix(r.Header.Get("Content-Disposition"), `attachment; filename="loendur-export-`+site) {
				t.Fatalf("export json: %d %v %s", r.StatusCode, r.Header, r.body)
			}
			var exported []map[string]any
			r.json(t, &exported)
			if len(exported) != len(want) {
				t.Fatalf("exported %d events, want %d: %s", len(exported), len(want), r.body)
			}
			for _, got := range exported {
				ev, ok := want[got["event_id"].(string)]
				if !ok {
					t.Fatalf("exported an event that is not visitor 1's: %v", got)
				}
				if got["site"] != site || got["pathname"] != ev.Pathname || got["name"] != ev.Name || got["visitor_id"] != "1" ||
					got["session_id"] != strconv.FormatUint(ev.SessionID, 10) || got["ip"] != ev.IP || got["country_code"] != "EE" ||
					got["timestamp"] != ev.Timestamp.Format(time.RFC3339) {
					t.Errorf("exported %v, stored %+v", got, ev)
				}
				if ev.Name == "Signup" && (len(got["prop_values"].([]any)) != 1 || got["prop_values"].([]any)[0] != ev.PropValues[0]) {
					t.Errorf("exported properties %v, stored %v", got["prop_values"], ev.PropValues)
				}
			}

			// Export, CSV: the same events, a header of the column names.
			form.Set("format", "csv")
			r = admin.post("/admin/requests/export", form)
			if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
				t.Fatalf("export csv: %d %s", r.StatusCode, r.body)
			}
			recs, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
			if err != nil || len(recs) != 1+len(want) || !slices.Equal(recs[0], store.EventColumns) {
				t.Fatalf("csv export: %v %q", err, r.body)
			}
			col := func(name string) int { return slices.Index(store.EventColumns, name) }
			for _, rec := range recs[1:] {
				ev, ok := want[rec[col("event_id")]]
				if !ok || rec[col("pathname")] != ev.Pathname || rec[col("visitor_id")] != "1" || rec[col("site")] != site {
					t.Errorf("csv row %v, stored %+v", rec, ev)
				}
				if ev.Name == "Signup" {
					var props []string
					if err := json.Unmarshal([]byte(rec[col("prop_values")]), &props); err != nil || !slices.Equal(props, ev.PropValues) {
						t.Errorf("csv properties %q, stored %v", rec[col("prop_values")], ev.PropValues)
					}
				}
			}
			if !e.auditHas(auditExport, site) {
				t.Error("the export is not in the audit log")
			}

			// Erase needs the confirmation box; without it nothing goes.
			r = admin.post("/admin/requests/erase", cloneValues(visitor1))
			if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "confirm") {
				t.Fatalf("erase without confirmation: %d %s", r.StatusCode, r.body)
			}
			if got := storedVisitors(t, db, "events", site); !slices.Equal(got, []uint64{1, 1, 1, 2, 3}) {
				t.Fatalf("unconfirmed erase changed events: %v", got)
			}

			// Erase: exactly visitor 1's rows on the site, in every table and the spool.
			form = cloneValues(visitor1)
			form.Set("confirm", "1")
			r = admin.post("/admin/requests/erase", form)
			body = pageText(r.body)
			if r.StatusCode != http.StatusOK || !strings.Contains(body, "Erased 3 events (5 rows in all tables, 1 from the spool) and verified") ||
				!strings.Contains(body, "Verified: every table") {
				t.Fatalf("erase: %d %s", r.StatusCode, body)
			}
			if got := storedVisitors(t, db, "events", site); !slices.Equal(got, []uint64{2, 3}) {
				t.Errorf("events left on the site: %v, want visitors 2 and 3", got)
			}
			if got := storedVisitors(t, db, "sessions", site); !slices.Equal(got, []uint64{2, 3}) {
				t.Errorf("visits left on the site: %v, want visitors 2 and 3", got)
			}
			if got := storedVisitors(t, db, "events", other); !slices.Equal(got, []uint64{1}) {
				t.Errorf("another site's events were touched: %v", got)
			}
			if b, ok, err := sp.Oldest(); err != nil || !ok || len(b.Events) != 1 || b.Events[0].VisitorID != 2 {
				t.Errorf("spool after the erasure: %+v %v %v", b.Events, ok, err)
			}
			led := ledgerOf(t, db, site)
			if len(led) != 1 || led[0].Kind != "visitor" || led[0].RowsErased != 3 || led[0].RequestedBy != adminEmail {
				t.Fatalf("ledger: %+v", led)
			}
			if !e.auditHas(erasure.AuditAction, site) {
				t.Error("the erasure is not in the audit log")
			}
			page = admin.get("/admin/requests")
			if body := pageText(page.body); !strings.Contains(body, "<td>"+site+"</td><td>visitor</td><td>3</td><td>"+adminEmail+"</td>") {
				t.Errorf("the page does not list the erasure: %s", body)
			}

			// The JSON API: preview and erase by address and time window, on one page.
			sel := map[string]any{"site": site, "kind": "ip", "ip": "203.0.113.77", "from": "2026-03-11", "to": "2026-03-11", "page": "/a*"}
			r = admin.api(http.MethodPost, "/api/v1/requests/preview", sel)
			var pv previewView
			r.json(t, &pv)
			if r.StatusCode != http.StatusOK || pv.Events != 1 || pv.Kind != "ip" || !strings.Contains(pv.Description, "203.0.0.0") {
				t.Fatalf("api preview: %d %s", r.StatusCode, r.body)
			}
			if r := admin.api(http.MethodPost, "/api/v1/requests/erase", sel); r.StatusCode != http.StatusBadRequest {
				t.Fatalf("api erase without confirm: %d %s", r.StatusCode, r.body)
			}
			exp := admin.api(http.MethodPost, "/api/v1/requests/export?format=csv", sel)
			if exp.StatusCode != http.StatusOK || strings.Count(strings.TrimSpace(exp.body), "\n") != 1 {
				t.Fatalf("api export: %d %s", exp.StatusCode, exp.body)
			}
			sel["confirm"] = true
			r = admin.api(http.MethodPost, "/api/v1/requests/erase", sel)
			var ev erasureView
			r.json(t, &ev)
			if r.StatusCode != http.StatusOK || ev.Events != 1 || !ev.Verified || ev.RequestedBy != adminEmail || ev.Spooled != 0 {
				t.Fatalf("api erase: %d %s", r.StatusCode, r.body)
			}
			if got := storedVisitors(t, db, "events", site); !slices.Equal(got, []uint64{3}) {
				t.Errorf("events left after the address erasure: %v, want visitor 3", got)
			}
			var list struct {
				Entries []ledgerEntry `json:"entries"`
			}
			r = admin.get("/api/v1/requests/ledger?limit=1000")
			r.json(t, &list)
			n := 0
			for _, le := range list.Entries {
				if le.Site == site {
					n++
				}
			}
			if r.StatusCode != http.StatusOK || n != 2 || strings.Contains(r.body, "203.0.0.0") {
				t.Errorf("api ledger: %d %s", r.StatusCode, r.body)
			}

			// The preview page carries the normalized selector into its export and erase
			// forms: posting them back acts on exactly what was previewed.
			r = admin.post("/admin/requests/preview", url.Values{"site": {site}, "kind": {"ip"}, "ip": {"198.51.100.20"},
				"from": {"2026-03-10T12:30"}, "to": {"2026-03-10"}, "ids": {"999"}})
			hidden := previewForm(t, r.body, "/admin/requests/erase")
			if hidden.Get("ip") != "198.51.0.0" || hidden.Get("from") != "2026-03-10T12:30:00Z" || hidden.Get("to") != "2026-03-10T23:59:59Z" ||
				hidden.Has("ids") || hidden.Get("csrf") != admin.csrf {
				t.Fatalf("erase form of an address preview: %v", hidden)
			}
			hidden.Set("format", "json")
			r = admin.post("/admin/requests/export", hidden)
			exported = nil
			r.json(t, &exported)
			if len(exported) != 1 || exported[0]["visitor_id"] != "3" {
				t.Fatalf("export from the preview's fields: %s", r.body)
			}

			// Mistakes are the person's to fix, not ours.
			for _, bad := range []url.Values{
				{"site": {site}, "kind": {"visitor"}, "ids": {"x1"}},
				{"site": {site}, "kind": {"ip"}, "ip": {"203.0.113.7"}},
				{"site": {"unknown-" + engine + ".test"}, "kind": {"visitor"}, "ids": {"1"}},
				{"site": {site}, "kind": {"event"}, "ids": {"not-a-uuid"}},
				{"site": {site}, "kind": {"everything"}},
			} {
				if r := admin.post("/admin/requests/preview", bad); r.StatusCode != http.StatusBadRequest {
					t.Errorf("preview %v: %d", bad, r.StatusCode)
				}
			}

			// A POST that came with the session cookie but without the CSRF token: 403.
			noToken := url.Values{"site": {site}, "kind": {"visitor"}, "ids": {"3"}, "confirm": {"1"}}
			r = admin.do(http.MethodPost, "/admin/requests/erase", strings.NewReader(noToken.Encode()),
				map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("erase without the CSRF token: %d", r.StatusCode)
			}
			raw, _ := json.Marshal(map[string]any{"site": site, "kind": "visitor", "ids": []string{"3"}, "confirm": true})
			r = admin.do(http.MethodPost, "/api/v1/requests/erase", bytes.NewReader(raw), map[string]string{"Content-Type": "application/json"})
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("api erase without the CSRF header: %d", r.StatusCode)
			}
			if got := storedVisitors(t, db, "events", site); !slices.Equal(got, []uint64{3}) {
				t.Errorf("a refused request erased: %v", got)
			}

			// A manager, even of this site, may do none of it.
			mgrEmail := e.addUser("max-"+engine+"@requests.test", auth.RoleManager, []string{site})
			mgr := e.browser()
			mgr.mustLogin(mgrEmail)
			if r := mgr.get("/admin/requests"); r.StatusCode != http.StatusForbidden {
				t.Errorf("manager GET /admin/requests: %d", r.StatusCode)
			}
			if r := mgr.get("/api/v1/requests/ledger"); r.StatusCode != http.StatusForbidden {
				t.Errorf("manager GET ledger: %d", r.StatusCode)
			}
			mform := url.Values{"site": {site}, "kind": {"visitor"}, "ids": {"3"}, "confirm": {"1"}, "format": {"json"}}
			for _, path := range []string{"/admin/requests/preview", "/admin/requests/export", "/admin/requests/erase"} {
				if r := mgr.post(path, cloneValues(mform)); r.StatusCode != http.StatusForbidden {
					t.Errorf("manager POST %s: %d", path, r.StatusCode)
				}
			}
			for _, path := range []string{"/api/v1/requests/preview", "/api/v1/requests/export", "/api/v1/requests/erase"} {
				if r := mgr.api(http.MethodPost, path, map[string]any{"site": site, "kind": "visitor", "ids": []string{"3"}, "confirm": true}); r.StatusCode != http.StatusForbidden {
					t.Errorf("manager POST %s: %d", path, r.StatusCode)
				}
			}
			if got := storedVisitors(t, db, "events", site); !slices.Equal(got, []uint64{3}) {
				t.Errorf("a manager's request erased: %v", got)
			}
		})
	}
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z]+)" value="([^"]*)">`)

// previewForm reads the hidden fields of the form with the action on a page.
func previewForm(t *testing.T, page, action string) url.Values {
	t.Helper()
	_, rest, ok := strings.Cut(page, `action="`+action+`"`)
	if !ok {
		t.Fatalf("no form for %s: %s", action, page)
	}
	rest, _, _ = strings.Cut(rest, "</form>")
	out := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(rest, -1) {
		out.Set(m[1], html.UnescapeString(m[2]))
	}
	return out
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// The log of a failed request names the site and the selector kind, never the ids.
func TestRedact(t *testing.T) {
	id := uuid.MustParse("0190a5c2-7b1e-7c3a-9f2d-3b5e8c1d2a4f")
	sel := erasure.Selector{Site: "s.test", Kind: erasure.KindVisitor, Visitors: []uint64{1234567, 123}, Events: []uuid.UUID{id}, IP: "203.0.0.0"}
	got := redact("DELETE WHERE visitor_id IN (1234567, 123) AND event_id = '"+id.String()+"' AND ip = '203.0.0.0'", sel)
	for _, v := range []string{"1234567", "123", id.String(), "203.0.0.0"} {
		if strings.Contains(got, v) {
			t.Errorf("redacted message still holds %s: %s", v, got)
		}
	}
}

// A staff erasure first has the collector store what it holds (the erasure service's
// Queue; the real collector is wired and tested in cmd/loendur). When that fails, nothing is
// erased and the request says it failed, rather than report a verified erasure that
// an event still in memory could follow.
func TestEraseWaitsForTheCollectorQueue(t *testing.T) {
	db := storetest.Embedded(t)
	e := newEnv(t, db, "erasequeue", "a", "b")
	site, other := e.sites[0], e.sites[1]
	requestFixture(t, db, site, other)
	waits := 0
	stuck := true
	e.dash.opts.Erasure = erasure.NewService(erasure.ServiceOptions{DB: db, Queue: erasure.QueueFunc(func(context.Context) error {
		waits++
		if stuck {
			return errors.New("writer stuck")
		}
		return nil
	})})
	admin := e.browser()
	admin.mustLogin(e.addUser("ada@erasequeue.test", auth.RoleAdmin, nil))
	sel := map[string]any{"site": site, "kind": "visitor", "ids": []string{"3"}, "confirm": true}
	if r := admin.api(http.MethodPost, "/api/v1/requests/erase", sel); r.StatusCode != http.StatusInternalServerError ||
		!strings.Contains(r.body, "storing queued events") {
		t.Errorf("erase with the queue not stored: %d %s", r.StatusCode, r.body)
	}
	if got := storedVisitors(t, db, "events", site); !slices.Contains(got, 3) {
		t.Errorf("erased although the queue was not stored: %v", got)
	}
	if got := ledgerOf(t, db, site); len(got) != 0 {
		t.Errorf("ledger entry for a failed erasure: %+v", got)
	}
	stuck = false
	if r := admin.api(http.MethodPost, "/api/v1/requests/erase", sel); r.StatusCode != http.StatusOK {
		t.Fatalf("erase: %d %s", r.StatusCode, r.body)
	}
	if got := storedVisitors(t, db, "events", site); slices.Contains(got, 3) {
		t.Errorf("visitor 3 not erased: %v", got)
	}
	if waits != 2 {
		t.Errorf("WaitQueued called %d times for two erasures, want 2", waits)
	}
}
