package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/websystems/loendur/cmd/loendur/e2e/e2eproc"
)

// Every refused beacon names its reason in a header and a JSON body, with the status a
// client can act on, and counts it in /metrics; nothing refused is stored.
func TestRejectionReasons(t *testing.T) {
	t.Parallel()
	d := newDB(t, "server")
	p := start(t, run{DB: d, Args: []string{"--site", site, "--trusted-proxy", "127.0.0.1/32", "--rate-limit", "5"}})

	props31 := map[string]string{}
	for i := range 31 {
		props31[fmt.Sprintf("k%d", i)] = "v"
	}
	url := "https://site.test/"
	for _, c := range []struct {
		name   string
		method string
		body   string
		hdr    map[string]string
		status int
		reason string
	}{
		{"broken JSON", "POST", `{"site":"site.test","name":`, nil, 400, "bad_body"},
		{"missing site", "POST", `{"name":"pageview","url":"https://site.test/"}`, nil, 400, "bad_field"},
		{"missing name", "POST", `{"site":"site.test","url":"https://site.test/"}`, nil, 400, "bad_field"},
		{"missing url", "POST", `{"site":"site.test","name":"pageview"}`, nil, 400, "bad_field"},
		{"31 props", "POST", event("signup", url, map[string]any{"props": props31}), nil, 400, "bad_field"},
		// Numbers and booleans are taken as text (commit 8f8f902); an object is not.
		{"object prop value", "POST", event("signup", url, map[string]any{"props": map[string]any{"plan": map[string]string{"a": "b"}}}), nil, 400, "bad_body"},
		{"array prop value", "POST", event("signup", url, map[string]any{"props": map[string]any{"plan": []string{"a"}}}), nil, 400, "bad_body"},
		{"scroll 101", "POST", event("engagement", url, map[string]any{"engaged_ms": 1000, "scroll": 101}), nil, 400, "bad_field"},
		{"unknown site", "POST", `{"site":"other.test","name":"pageview","url":"https://other.test/"}`, nil, 403, "unknown_site"},
		{"foreign host", "POST", event("pageview", "https://evil.test/site.test", nil), nil, 403, "foreign_url"},
		{"body over 16 KiB", "POST", event("pageview", url, map[string]any{"props": map[string]string{"pad": strings.Repeat("x", 17<<10)}}), nil, 413, "too_large"},
		{"form content type", "POST", event("pageview", url, nil), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "bad_content_type"},
		{"GET", "GET", "", nil, 405, "bad_method"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := p.metrics()[e2eproc.Rejected(c.reason)]
			r := p.send(c.method, c.body, c.hdr)
			checkRefusal(t, r, c.status, c.reason)
			if got := p.metrics()[e2eproc.Rejected(c.reason)] - before; got != 1 {
				t.Errorf("%s went up by %g, want 1", e2eproc.Rejected(c.reason), got)
			}
		})
	}

	accepted := 0
	t.Run("subdomain accepted", func(t *testing.T) {
		if r := p.post(event("pageview", "https://blog.site.test/", nil), nil); r.Status != 202 {
			t.Errorf("POST for https://blog.site.test/: %d %s %s, want 202", r.Status, r.Reason, r.Body)
		} else {
			accepted++
		}
	})

	t.Run("rate limited", func(t *testing.T) {
		before := p.metrics()[e2eproc.Rejected("rate_limited")]
		one := map[string]string{"X-Forwarded-For": "203.0.113.9"}
		limited := 0
		for i := range 30 {
			r := p.post(event("pageview", fmt.Sprintf("https://site.test/p%d", i), nil), one)
			switch r.Status {
			case 202:
				accepted++
			case 429:
				limited++
				checkRefusal(t, r, 429, "rate_limited")
			default:
				t.Fatalf("request %d: %d %s %s, want 202 or 429", i, r.Status, r.Reason, r.Body)
			}
		}
		if limited == 0 || accepted < 5 {
			t.Errorf("%d accepted and %d rate limited of 30 from one address at --rate-limit 5; want at least 5 accepted and some refused", accepted, limited)
		}
		if got := p.metrics()[e2eproc.Rejected("rate_limited")] - before; got != float64(limited) {
			t.Errorf("%s went up by %g, want %d", e2eproc.Rejected("rate_limited"), got, limited)
		}
		// Another address is not limited by the first one's excess.
		if r := p.post(event("pageview", url, nil), map[string]string{"X-Forwarded-For": "203.0.113.10"}); r.Status != 202 {
			t.Errorf("another address: %d %s, want 202", r.Status, r.Reason)
		} else {
			accepted++
		}
	})

	p.stopClean()
	if n := len(d.events(t)); n != accepted {
		t.Errorf("events has %d rows, want %d (the accepted events only)", n, accepted)
	}
}

func checkRefusal(t *testing.T, r e2eproc.Reply, status int, reason string) {
	t.Helper()
	if r.Status != status || r.Reason != reason {
		t.Errorf("got %d with X-Loendur-Reason %q (body %s), want %d %q", r.Status, r.Reason, r.Body, status, reason)
	}
	var body struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Errorf("body is not JSON (%v): %s", err, r.Body)
	} else if body.Error != reason {
		t.Errorf(`body "error" = %q, want %q: %s`, body.Error, reason, r.Body)
	}
}

// Bots, prefetches, Global Privacy Control and Do Not Track get the same 202 as
// anyone, are counted by reason, and are not stored.
func TestBotsAndOptOutsNotStored(t *testing.T) {
	t.Parallel()
	d := newDB(t, "server")
	p := start(t, run{DB: d, Args: []string{"--site", site}})
	for _, c := range []struct {
		name   string
		hdr    map[string]string
		reason string
	}{
		{"Googlebot", map[string]string{"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}, "bot"},
		{"curl", map[string]string{"User-Agent": "curl/8.5.0"}, "bot"},
		{"HeadlessChrome", map[string]string{"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36"}, "bot"},
		{"empty user agent", map[string]string{"User-Agent": ""}, "bot"},
		{"prefetch", map[string]string{"Sec-Purpose": "prefetch"}, "bot"},
		{"Sec-GPC", map[string]string{"Sec-GPC": "1"}, "gpc"},
		{"DNT", map[string]string{"DNT": "1"}, "dnt"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := p.metrics()[e2eproc.Dropped(c.reason)]
			r := p.post(pageview, c.hdr)
			if r.Status != http.StatusAccepted {
				t.Errorf("%d %s %s, want 202", r.Status, r.Reason, r.Body)
			}
			if got := p.metrics()[e2eproc.Dropped(c.reason)] - before; got != 1 {
				t.Errorf("%s went up by %g, want 1", e2eproc.Dropped(c.reason), got)
			}
		})
	}
	// A person's page view, the control: it is the only row.
	if r := p.post(pageview, nil); r.Status != 202 {
		t.Fatalf("Firefox page view: %d %s, want 202", r.Status, r.Reason)
	}
	p.stopClean()
	rows := d.events(t)
	if len(rows) != 1 || rows[0].Browser != "Firefox" {
		t.Errorf("events holds %d rows, want only the Firefox page view: %+v", len(rows), rows)
	}
}
