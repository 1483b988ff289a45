package e2e

import (
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/websystems/loendur/cmd/loendur/e2e/e2eproc"
)

// The public /metrics names no site: the registered sites are the agency's client list,
// and an unknown and a forbidden site must look the same from outside. The finalizer's
// lag, once labelled per site, is the series checked (it appears after its first run,
// up to 20 s after start).
func TestMetricsNameNoSite(t *testing.T) {
	t.Parallel()
	const secret = "secret-client.test"
	p := start(t, run{DB: newDB(t, "server"), Args: []string{"--site", secret}})
	deadline := time.Now().Add(40 * time.Second)
	lag := regexp.MustCompile(`(?m)^loendur_sessions_finalize_lag_seconds(\{[^}]*\})? ([0-9.e+]+)$`)
	for {
		text := p.metricsText()
		if m := lag.FindStringSubmatch(text); m != nil && m[2] != "0" {
			if strings.Contains(text, "secret-client") {
				t.Errorf("GET /metrics names the registered site %s:\n%s", secret, grepLines(text, "secret-client"))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the finalizer's lag did not appear on /metrics within 40 s:\n%s", grepLines(text, "finalize"))
		}
		time.Sleep(500 * time.Millisecond)
	}
	p.stopClean()
}

// With --metrics-addr, /metrics is served there and no longer on the public address.
func TestMetricsOnTheirOwnAddress(t *testing.T) {
	t.Parallel()
	p := start(t, run{DB: newDB(t, "server"), Args: []string{"--site", site, "--metrics-addr", "127.0.0.1:0"}})
	m := regexp.MustCompile(`msg="metrics served" addr=(\S+)`).FindStringSubmatch(p.Log())
	if m == nil {
		t.Fatalf("no \"metrics served\" line in the log:\n%s", p.Log())
	}
	resp, err := client.Get("http://" + m[1] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(body.String(), "loendur_events_received_total") {
		t.Errorf("GET /metrics on --metrics-addr: %d\n%s", resp.StatusCode, body.String())
	}
	resp, err = client.Get(p.URL("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	body.Reset()
	_, _ = body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || strings.Contains(body.String(), "loendur_") {
		t.Errorf("GET /metrics on the public address answers %d, want 404:\n%s", resp.StatusCode, body.String())
	}
	p.stopClean()
}

// A request too large for the dashboard (a 20 KiB login form) is refused with 413 but
// is no beacon: loendur_events_rejected_total{reason="too_large"} counts beacons only.
func TestDashboard413IsNoBeaconRejection(t *testing.T) {
	t.Parallel()
	p := start(t, run{DB: newDB(t, "server"), Args: []string{"--site", site}})
	before := p.metrics()[e2eproc.Rejected("too_large")]
	form := "email=a%40b.test&password=" + strings.Repeat("x", 20<<10)
	resp, err := client.Post(p.URL("/login"), "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("20 KiB login form: %d, want 413", resp.StatusCode)
	}
	if got := p.metrics()[e2eproc.Rejected("too_large")] - before; got != 0 {
		t.Errorf("a dashboard 413 went into %s (+%g)", e2eproc.Rejected("too_large"), got)
	}
	// A beacon that size still counts.
	r := p.post(event("pageview", "https://site.test/", map[string]any{"props": map[string]string{"pad": strings.Repeat("x", 17<<10)}}), nil)
	checkRefusal(t, r, 413, "too_large")
	if got := p.metrics()[e2eproc.Rejected("too_large")] - before; got != 1 {
		t.Errorf("%s went up by %g for one oversize beacon, want 1", e2eproc.Rejected("too_large"), got)
	}
	p.stopClean()
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
