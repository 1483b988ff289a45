package dashboard

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/csvout/csvouttest"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

var formulaDay = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// formulaFixture stores, for each formula prefix, a visitor whose custom event name,
// UTM source, medium and campaign are formulas, and a Signup event whose property
// value is one; all from the address 203.0.0.0 on formulaDay. The day before has more
// visitors, so the overview's changes are negative numbers.
func formulaFixture(t *testing.T, db store.Store, site string) {
	t.Helper()
	var evs []store.Event
	for i, p := range csvouttest.Prefixes {
		f := csvouttest.Formula(p)
		at := formulaDay.Add(time.Duration(i) * time.Minute)
		base := store.Event{Site: site, Hostname: site, Pathname: "/landing", VisitorID: uint64(100 + i),
			SessionID: uint64(1000 + i), IP: "203.0.0.0", Browser: "Firefox", CountryCode: "EE",
			UTMSource: f, UTMMedium: f, UTMCampaign: f}
		view, custom, signup := base, base, base
		view.EventID, view.Timestamp, view.Name = uuid.New(), at, "pageview"
		custom.EventID, custom.Timestamp, custom.Name = uuid.New(), at.Add(time.Second), f
		signup.EventID, signup.Timestamp, signup.Name = uuid.New(), at.Add(2*time.Second), "Signup"
		signup.PropKeys, signup.PropValues = []string{"plan"}, []string{f}
		evs = append(evs, view, custom, signup)
	}
	for i := range 2 * len(csvouttest.Prefixes) {
		evs = append(evs, store.Event{EventID: uuid.New(), Site: site, Hostname: site, Pathname: "/landing",
			Timestamp: formulaDay.Add(-24 * time.Hour), Name: "pageview", VisitorID: uint64(500 + i),
			SessionID: uint64(5000 + i), IP: "198.51.0.0"})
	}
	if err := store.InsertEvents(context.Background(), db, evs); err != nil {
		t.Fatal(err)
	}
}

// csvAnswer parses a CSV answer, failing the test when it is not one.
func csvAnswer(t *testing.T, what string, r response) [][]string {
	t.Helper()
	if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("%s: %d %s %q", what, r.StatusCode, r.Header.Get("Content-Type"), r.body)
	}
	return csvouttest.Parse(t, what, r.body)
}

// Every CSV the dashboard writes, from visitors' text that starts with a formula
// character: the Data requests export (page and API) and the report CSVs of the API.
func TestCSVExportsNeutraliseFormulas(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, db, "csv-"+engine, "formulas")
			site := e.sites[0]
			formulaFixture(t, db, site)
			admin := e.browser()
			admin.mustLogin(e.addUser("dpo-"+engine+"@csv.test", auth.RoleAdmin, nil))

			byAddress := url.Values{"site": {site}, "kind": {"ip"}, "ip": {"203.0.113.7"},
				"from": {"2026-03-10"}, "to": {"2026-03-10"}, "format": {"csv"}}
			page := csvAnswer(t, "data request export (page)", admin.post("/admin/requests/export", byAddress))
			if len(page) != 1+3*len(csvouttest.Prefixes) {
				t.Errorf("data request export: %d records, want a header and %d events", len(page), 3*len(csvouttest.Prefixes))
			}
			csvouttest.Check(t, "data request export (page)", page, csvouttest.Prefixes)
			api := csvAnswer(t, "data request export (API)", admin.api(http.MethodPost, "/api/v1/requests/export?format=csv",
				map[string]any{"site": site, "kind": "ip", "ip": "203.0.113.7", "from": "2026-03-10", "to": "2026-03-10"}))
			csvouttest.Check(t, "data request export (API)", api, csvouttest.Prefixes)

			period := "&period=custom&from=2026-03-10&to=2026-03-10&format=csv"
			for _, report := range []string{"events?", "utm?", "utm?by=utm_medium&", "utm?by=utm_campaign&",
				"events?filters=event%3D%3DSignup&"} {
				what := "report " + report
				csvouttest.Check(t, what, csvAnswer(t, what, admin.get("/api/v1/stats/"+report+"site="+site+period)), csvouttest.Prefixes)
			}

			// Numbers we compute stay numbers, negative ones too: fewer visitors than the
			// day before is a negative change, not a formula and not text.
			overview := csvAnswer(t, "overview", admin.get("/api/v1/stats/overview?site="+site+period))
			checkOverviewNumbers(t, overview)
		})
	}
}

// checkOverviewNumbers checks that the overview CSV's value, previous and change cells
// are numbers, the visitors' change a negative one.
func checkOverviewNumbers(t *testing.T, recs [][]string) {
	t.Helper()
	if len(recs) < 2 || strings.Join(recs[0], ",") != "metric,value,previous,change" {
		t.Fatalf("overview csv: %q", recs)
	}
	for _, rec := range recs[1:] {
		for _, cell := range rec[1:] {
			if _, err := strconv.ParseFloat(cell, 64); cell != "" && err != nil {
				t.Errorf("overview %s: %q is not a number", rec[0], cell)
			}
		}
		if rec[0] == "visitors" {
			if c, err := strconv.ParseFloat(rec[3], 64); err != nil || c >= 0 {
				t.Errorf("visitors change %q, want a negative number (%d today, %d the day before)", rec[3],
					len(csvouttest.Prefixes), 2*len(csvouttest.Prefixes))
			}
		}
	}
}
