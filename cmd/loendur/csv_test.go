package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/csvout/csvouttest"
	"github.com/websystems/loendur/internal/store/storetest"
)

// Visitors' text that a spreadsheet would run, sent through the collector of a serving
// process as event names, UTM values and properties, leaves every CSV path neutralised:
// the report CSVs and the Data requests export of the API, and `loendur export`. On
// the server (chDB allows one store per process; the dashboard tests cover both).
func TestCSVFromCollectedFormulas(t *testing.T) {
	// Each formula from its own address, so each is a visit of its own (a visit has one
	// set of UTM values); all in 203.0.0.0/16, which the export asks for.
	const site, addr = "formulas.csv.test", "203.0.113.9"
	from := func(i int) string { return "203.0.113." + strconv.Itoa(10+i) }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dsn := storetest.ServerDSN(t)
	svc, deps := startServing(t, ctx, site, "--db", dsn, "--trusted-proxy", "0.0.0.0/0", "--accept-log", "off")
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer scancel()
		if err := svc.col.Shutdown(sctx); err != nil {
			t.Error(err)
		}
	}()
	if _, _, err := auth.AddUser(ctx, deps.db, "dpo@formulas.test", auth.RoleAdmin, nil, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	key, err := auth.AddAPIKey(ctx, deps.db, "dpo@formulas.test")
	if err != nil {
		t.Fatal(err)
	}
	first := time.Now().UTC().Add(-time.Hour).Format(time.DateOnly)

	// The collector refuses TAB and CR in event names and strips them from UTM values;
	// property values keep them.
	for i, p := range csvouttest.Printable {
		f := csvouttest.Formula(p)
		page := "https://" + site + "/landing?" + url.Values{"utm_source": {f}, "utm_medium": {f}, "utm_campaign": {f}}.Encode()
		sendEvent(t, svc, from(i), map[string]any{"site": site, "name": "pageview", "url": page})
		sendEvent(t, svc, from(i), map[string]any{"site": site, "name": f, "url": page})
	}
	for i, p := range csvouttest.Prefixes {
		sendEvent(t, svc, from(i), map[string]any{"site": site, "name": "Signup", "url": "https://" + site + "/landing",
			"props": map[string]any{"plan": csvouttest.Formula(p)}})
	}
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := svc.col.WaitQueued(wctx); err != nil {
		t.Fatal(err)
	}
	last := time.Now().UTC().Format(time.DateOnly)

	period := "&period=custom&from=" + first + "&to=" + last + "&format=csv"
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"events?", csvouttest.Printable},
		{"utm?", csvouttest.Printable},
		{"utm?by=utm_medium&", csvouttest.Printable},
		{"utm?by=utm_campaign&", csvouttest.Printable},
		{"events?filters=event%3D%3DSignup&", csvouttest.Prefixes},
	} {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/stats/"+c.query+"site="+site+period, nil)
		body := csvBody(t, svc, key, req)
		csvouttest.Check(t, "report "+c.query, csvouttest.Parse(t, c.query, body), c.want)
	}

	sel := `{"site":"` + site + `","kind":"ip","ip":"` + addr + `","from":"` + first + `","to":"` + last + `"}`
	req := httptest.NewRequest(http.MethodPost, "/api/v1/requests/export?format=csv", strings.NewReader(sel))
	req.Header.Set("Content-Type", "application/json")
	recs := csvouttest.Parse(t, "data request export", csvBody(t, svc, key, req))
	if want := 1 + 2*len(csvouttest.Printable) + len(csvouttest.Prefixes); len(recs) != want {
		t.Errorf("data request export: %d records, want %d", len(recs), want)
	}
	csvouttest.Check(t, "data request export", recs, csvouttest.Printable)

	var out bytes.Buffer
	if err := runExport([]string{"--db", dsn, "--site", site, "--ip", addr, "--from", first, "--to", last,
		"--format", "csv"}, &out); err != nil {
		t.Fatal(err)
	}
	csvouttest.Check(t, "loendur export", csvouttest.Parse(t, "loendur export", out.String()), csvouttest.Printable)
}

// sendEvent posts a beacon from addr as Firefox and fails unless it was accepted.
func sendEvent(t *testing.T, svc *services, addr string, event map[string]any) {
	t.Helper()
	body, _ := json.Marshal(event)
	req := httptest.NewRequest(http.MethodPost, "/api/event", bytes.NewReader(body))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0")
	req.Header.Set("X-Forwarded-For", addr)
	resp, err := svc.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("event %s: %d %s", body, resp.StatusCode, b)
	}
}

// csvBody sends req with the API key and returns the body of its CSV answer.
func csvBody(t *testing.T, svc *services, key string, req *http.Request) string {
	t.Helper()
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := svc.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("%s %s: %d %s %s", req.Method, req.URL, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return string(b)
}
