package reports

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/store/storetest"
	"github.com/websystems/loendur/internal/testclock"
)

// apiEnv is the report API behind the real authentication middleware, with an admin
// and a manager of one site, each with an API key.
type apiEnv struct {
	app              *fiber.App
	adminKey, mgrKey string
	site, other      string
}

func newAPIEnv(t *testing.T, engine string) *apiEnv {
	t.Helper()
	db := storetest.Embedded(t)
	if engine == "server" {
		db = storetest.Server(t)
	}
	ctx := context.Background()
	e := &apiEnv{site: "api-" + engine + ".test", other: "api-other-" + engine + ".test"}
	c := testclock.New(time.Date(2024, 3, 6, 12, 0, 0, 0, time.UTC))
	r, reg := newSite(t, db, c, "Europe/Tallinn", e.site, e.other)
	loadFixture(t, db, e.site)
	// Written visits, as serve's finalizer leaves them: sampling counts those.
	if _, err := r.Finalize(ctx, e.site); err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(auth.Options{DB: db, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	admin, mgr := "admin-"+engine+"@example.com", "manager-"+engine+"@example.com"
	if _, _, err := auth.AddUser(ctx, db, admin, auth.RoleAdmin, nil, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := auth.AddUser(ctx, db, mgr, auth.RoleManager, []string{e.site}, ""); err != nil {
		t.Fatal(err)
	}
	if e.adminKey, err = auth.AddAPIKey(ctx, db, admin); err != nil {
		t.Fatal(err)
	}
	if e.mgrKey, err = auth.AddAPIKey(ctx, db, mgr); err != nil {
		t.Fatal(err)
	}
	e.app = fiber.New(fiber.Config{DisableStartupMessage: true})
	e.app.Use(a.Middleware())
	rep, err := New(Deps{DB: db, Sites: reg, Now: c.Now,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})), Audit: a.Audit})
	if err != nil {
		t.Fatal(err)
	}
	rep.Register(e.app.Group("/api/v1", auth.RequireUser))
	// The same reports with the sampling threshold below the fixture's visits.
	sampling, err := New(Deps{DB: db, Sites: reg, Now: c.Now, SampleAbove: 3})
	if err != nil {
		t.Fatal(err)
	}
	sampling.Register(e.app.Group("/sampling/api/v1", auth.RequireUser))
	return e
}

// do sends a request with key (none when empty) and returns status, content type and body.
func (e *apiEnv) do(t *testing.T, method, key, target, body string) (int, string, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.app.Test(req, 30_000)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func TestAPI(t *testing.T) {
	for _, engine := range []string{"server", "embedded"} {
		t.Run(engine, func(t *testing.T) {
			e := newAPIEnv(t, engine)
			period := "&period=custom&from=2024-03-04&to=2024-03-05"

			t.Run("overview answers metrics with comparison", func(t *testing.T) {
				code, _, body := e.do(t, "GET", e.mgrKey, "/api/v1/stats/overview?site="+e.site+period, "")
				if code != 200 {
					t.Fatalf("status %d: %s", code, body)
				}
				var a struct {
					Site       string
					Period     periodJSON
					Comparison periodJSON
					Metrics    map[string]Metric
				}
				if err := json.Unmarshal([]byte(body), &a); err != nil {
					t.Fatal(err)
				}
				if a.Site != e.site || a.Period != (periodJSON{"2024-03-04", "2024-03-05"}) || a.Comparison != (periodJSON{"2024-03-02", "2024-03-03"}) {
					t.Errorf("site/period/comparison = %s %v %v", a.Site, a.Period, a.Comparison)
				}
				if m := a.Metrics["visitors"]; m.Value != 4 || m.Previous != 2 || m.Change == nil || *m.Change != 100 {
					t.Errorf("visitors = %+v", m)
				}
			})

			t.Run("sampling: the rate in every answer, off on request", func(t *testing.T) {
				for _, c := range []struct {
					target string
					code   int
					want   string
				}{
					{"/api/v1/stats/overview?site=" + e.site + period, 200, `"sample_rate":1`},
					// The period's 5 visits are over the threshold of 3: one visitor in 32, and
					// the fixture has none of them.
					{"/sampling/api/v1/stats/overview?site=" + e.site + period, 200, `"sample_rate":32`},
					{"/sampling/api/v1/stats/sources?site=" + e.site + period, 200, `"rows":[],"includes_imported":false,"sample_rate":32`},
					{"/sampling/api/v1/stats/overview?site=" + e.site + period + "&sample=off", 200, `"visitors":{"value":4,`},
					{"/sampling/api/v1/stats/overview?site=" + e.site + period + "&sample=off", 200, `"sample_rate":1`},
					{"/sampling/api/v1/stats/events?site=" + e.site + period, 200, `"sample_rate":1`},
					{"/sampling/api/v1/stats/realtime?site=" + e.site, 200, `"sample_rate":1`},
					{"/sampling/api/v1/stats/overview?site=" + e.site + period + "&sample=half", 400, "sample must be auto or off"},
				} {
					code, _, body := e.do(t, "GET", e.mgrKey, c.target, "")
					if code != c.code || !strings.Contains(body, c.want) {
						t.Errorf("%s: %d %s, want %d and %s", c.target, code, body, c.code, c.want)
					}
				}
				// A CSV of estimated figures says so in its file name and a header.
				for target, want := range map[string][2]string{
					"/sampling/api/v1/stats/top-pages?format=csv&site=" + e.site + period:            {"-2024-03-04-2024-03-05-estimated-1-in-32.csv", "32"},
					"/sampling/api/v1/stats/top-pages?format=csv&sample=off&site=" + e.site + period: {"-2024-03-04-2024-03-05.csv", "1"},
				} {
					req := httptest.NewRequest("GET", target, nil)
					req.Header.Set("Authorization", "Bearer "+e.mgrKey)
					resp, err := e.app.Test(req, 30_000)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if name := resp.Header.Get("Content-Disposition"); resp.StatusCode != 200 || !strings.Contains(name, want[0]+`"`) ||
						resp.Header.Get("X-Sample-Rate") != want[1] {
						t.Errorf("%s: %d, %q, sample rate %q; want a file name ending %s and rate %s", target, resp.StatusCode, name,
							resp.Header.Get("X-Sample-Rate"), want[0], want[1])
					}
				}
			})

			t.Run("rows are objects with named fields in order", func(t *testing.T) {
				code, _, body := e.do(t, "GET", e.mgrKey, "/api/v1/stats/top-pages?site="+e.site+period+"&limit=1", "")
				if code != 200 {
					t.Fatalf("status %d: %s", code, body)
				}
				if !strings.Contains(body, `"dimension":"page","rows":[{"page":"/pricing","visitors":4,"pageviews":4,"time_on_page":52.5,"scroll_depth":70}]`) {
					t.Errorf("top pages body: %s", body)
				}
			})

			t.Run("filters as typed, unencoded", func(t *testing.T) {
				code, _, body := e.do(t, "GET", e.mgrKey, "/api/v1/stats/sources?site="+e.site+period+"&filters=source==Google;country==EE", "")
				if code != 200 || !strings.Contains(body, `"filters":[{"key":"source","op":"is","value":"Google"},{"key":"country","op":"is","value":"EE"}]`) ||
					!strings.Contains(body, `"rows":[{"source":"Google","visitors":1,"visits":2,"bounce_rate":50,"visit_duration":180}]`) {
					t.Errorf("%d %s", code, body)
				}
			})

			t.Run("is not and contains", func(t *testing.T) {
				// contains ignores case: "goO" finds Google, as source==Google does.
				code, _, body := e.do(t, "GET", e.mgrKey, "/api/v1/stats/sources?site="+e.site+period+"&filters=source~=goO;country==EE", "")
				if code != 200 || !strings.Contains(body, `"rows":[{"source":"Google","visitors":1,"visits":2,"bounce_rate":50,"visit_duration":180}]`) {
					t.Errorf("contains: %d %s", code, body)
				}
				code, _, body = e.do(t, "GET", e.mgrKey, "/api/v1/stats/sources?site="+e.site+period+"&filters=source!=Google", "")
				if code != 200 || strings.Contains(body, `"source":"Google"`) || !strings.Contains(body, `"op":"is_not"`) || !strings.Contains(body, `"rows":[{`) {
					t.Errorf("is not: %d %s", code, body)
				}
				// A page that is not /pricing: visits that never viewed it.
				_, _, all := e.do(t, "GET", e.mgrKey, "/api/v1/stats/overview?site="+e.site+period, "")
				_, _, with := e.do(t, "GET", e.mgrKey, "/api/v1/stats/overview?site="+e.site+period+"&filters=page==/pricing", "")
				_, _, without := e.do(t, "GET", e.mgrKey, "/api/v1/stats/overview?site="+e.site+period+"&filters=page!=/pricing", "")
				visits := func(body string) float64 {
					var a struct {
						Metrics struct {
							Visits struct{ Value float64 } `json:"visits"`
						} `json:"metrics"`
					}
					if err := json.Unmarshal([]byte(body), &a); err != nil {
						t.Fatalf("%v: %s", err, body)
					}
					return a.Metrics.Visits.Value
				}
				if a, w, wo := visits(all), visits(with), visits(without); w == 0 || wo == 0 || w+wo != a {
					t.Errorf("visits: all %v, with /pricing %v, without %v: want with + without = all", a, w, wo)
				}
				if code, _, body := e.do(t, "GET", e.mgrKey, "/api/v1/stats/sources?site="+e.site+period+"&filters=source~=", ""); code != 400 {
					t.Errorf("empty contains: %d %s", code, body)
				}
			})

			t.Run("csv export", func(t *testing.T) {
				code, ctype, body := e.do(t, "GET", e.mgrKey, "/api/v1/stats/exit-pages?format=csv&site="+e.site+period, "")
				if code != 200 || !strings.HasPrefix(ctype, "text/csv") {
					t.Fatalf("status %d, type %s: %s", code, ctype, body)
				}
				want := "page,visitors,exits,pageviews,exit_rate\n/pricing,2,2,4,50\n/signup,2,2,2,100\n/blog/hello,1,1,2,50\n"
				if body != want {
					t.Errorf("csv:\n%s\nwant:\n%s", body, want)
				}
			})

			t.Run("unknown and forbidden sites answer the same 403", func(t *testing.T) {
				_, _, forbidden := e.do(t, "GET", e.mgrKey, "/api/v1/stats/overview?site="+e.other, "")
				code1, _, _ := e.do(t, "GET", e.mgrKey, "/api/v1/stats/overview?site="+e.other, "")
				code2, _, unknown := e.do(t, "GET", e.mgrKey, "/api/v1/stats/overview?site=nope-"+engine+".test", "")
				code3, _, garbage := e.do(t, "GET", e.mgrKey, "/api/v1/stats/overview?site=%2F..%2F", "")
				if code1 != 403 || code2 != 403 || code3 != 403 || forbidden != unknown || unknown != garbage {
					t.Errorf("forbidden %d %s; unknown %d %s; garbage %d %s", code1, forbidden, code2, unknown, code3, garbage)
				}
				if code, _, body := e.do(t, "GET", e.adminKey, "/api/v1/stats/overview?site="+e.other, ""); code != 200 {
					t.Errorf("admin reads every site: %d %s", code, body)
				}
				if code, _, _ := e.do(t, "GET", "", "/api/v1/stats/overview?site="+e.site, ""); code != 401 {
					t.Errorf("no key: %d, want 401", code)
				}
			})

			t.Run("bad requests are 400 with a message", func(t *testing.T) {
				for _, q := range []string{
					"period=fortnight", "period=custom&from=2024-03-05", "period=custom&from=2024-03-05&to=2024-03-01",
					"period=custom&from=yesterday&to=2024-03-01", "filters=colour==red", "filters=country", "filters=country==E*",
					"limit=0", "limit=abc",
				} {
					code, _, body := e.do(t, "GET", e.mgrKey, "/api/v1/stats/top-pages?site="+e.site+"&"+q, "")
					var msg struct{ Error string }
					if code != 400 || json.Unmarshal([]byte(body), &msg) != nil || msg.Error == "" {
						t.Errorf("%s: %d %s", q, code, body)
					}
				}
				if code, _, body := e.do(t, "GET", e.mgrKey, "/api/v1/stats/scroll?site="+e.site, ""); code != 400 {
					t.Errorf("scroll without a page: %d %s", code, body)
				}
				if code, _, body := e.do(t, "GET", e.mgrKey, "/api/v1/stats/sources?by=colour&site="+e.site, ""); code != 400 {
					t.Errorf("sources by colour: %d %s", code, body)
				}
				if code, _, body := e.do(t, "GET", e.mgrKey, "/api/v1/stats/bogus?site="+e.site, ""); code != 404 {
					t.Errorf("unknown report: %d %s", code, body)
				}
			})

			t.Run("every report answers", func(t *testing.T) {
				for _, report := range ReportNames {
					if report == "funnel" {
						continue
					}
					extra := ""
					if report == "scroll" {
						extra = "&page=/pricing"
					}
					for _, p := range []string{"day", "today", "yesterday", "7d", "30d", "month", "thismonth", "lastmonth", "12mo"} {
						code, _, body := e.do(t, "GET", e.mgrKey, "/api/v1/stats/"+report+"?site="+e.site+"&period="+p+extra, "")
						if code != 200 {
							t.Errorf("%s %s: %d %s", report, p, code, body)
						}
					}
					code, _, body := e.do(t, "GET", e.mgrKey, "/api/v1/stats/"+report+"?site="+e.site+period+extra+
						"&filters=page%3D%3D%2F*%3Bcountry%3D%3DEE%3Bsource%3D%3DGoogle", "")
					if code != 200 {
						t.Errorf("%s with filters: %d %s", report, code, body)
					}
				}
			})

			t.Run("funnels: admins change, managers read", func(t *testing.T) {
				def := `{"name":"Signup","steps":[{"type":"page","value":"/"},{"type":"page","value":"/pricing"},{"type":"event","value":"Signup"}]}`
				if code, _, body := e.do(t, "POST", e.mgrKey, "/api/v1/funnels?site="+e.site, def); code != 403 {
					t.Errorf("manager creates a funnel: %d %s", code, body)
				}
				if code, _, body := e.do(t, "POST", e.adminKey, "/api/v1/funnels?site="+e.site, `{"name":"x","steps":[{"type":"page","value":"/"}]}`); code != 400 {
					t.Errorf("one-step funnel: %d %s", code, body)
				}
				code, _, body := e.do(t, "POST", e.adminKey, "/api/v1/funnels?site="+e.site, def)
				var f Funnel
				if code != 201 || json.Unmarshal([]byte(body), &f) != nil || f.ID == "" || len(f.Steps) != 3 {
					t.Fatalf("create funnel: %d %s", code, body)
				}
				code, _, body = e.do(t, "GET", e.mgrKey, "/api/v1/funnels?site="+e.site, "")
				if code != 200 || !strings.Contains(body, f.ID) {
					t.Errorf("list funnels: %d %s", code, body)
				}
				code, _, body = e.do(t, "GET", e.mgrKey, "/api/v1/stats/funnel?site="+e.site+period+"&funnel="+f.ID, "")
				if code != 200 || !strings.Contains(body, `{"step":3,"type":"event","value":"Signup","label":"Event: Signup","visitors":2,"visits":2,"conversion_rate":66.7,"dropoff":1,"dropoff_rate":33.3}`) {
					t.Errorf("funnel report: %d %s", code, body)
				}
				upd := strings.Replace(def, `"Signup","steps"`, `"Renamed","steps"`, 1)
				if code, _, body := e.do(t, "PUT", e.adminKey, "/api/v1/funnels/"+f.ID+"?site="+e.site, upd); code != 200 || !strings.Contains(body, "Renamed") {
					t.Errorf("update funnel: %d %s", code, body)
				}
				if code, _, body := e.do(t, "GET", e.mgrKey, "/api/v1/funnels?site="+e.other, ""); code != 403 {
					t.Errorf("manager lists another site's funnels: %d %s", code, body)
				}
				if code, _, body := e.do(t, "GET", e.mgrKey, "/api/v1/stats/funnel?site="+e.site+"&funnel=nope", ""); code != 404 {
					t.Errorf("unknown funnel: %d %s", code, body)
				}
				if code, _, body := e.do(t, "DELETE", e.adminKey, "/api/v1/funnels/"+f.ID+"?site="+e.site, ""); code != 204 {
					t.Errorf("delete funnel: %d %s", code, body)
				}
				if code, _, body := e.do(t, "GET", e.mgrKey, "/api/v1/funnels?site="+e.site, ""); code != 200 || strings.Contains(body, f.ID) {
					t.Errorf("deleted funnel still listed: %d %s", code, body)
				}
			})
		})
	}
}
