package e2e

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/websystems/loendur/cmd/loendur/e2e/e2eproc"
)

// A visitor an admin excluded, by address (a CIDR, or one address) or by user agent, is
// answered, dropped and counted (loendur_events_dropped_total{reason="excluded"} and the
// daily counts the dashboard shows), and their address appears nowhere: not in a table,
// the log, /metrics, the spool or the accept log. The admin's own entry is configuration
// and stays in site_exclusions as typed.
func TestExcludedVisitorNowhere(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			d := newDB(t, engine)
			args := []string{"--site", site, "--trusted-proxy", "127.0.0.1/32"}
			start(t, run{DB: d, Args: args}).stopClean() // registers the site

			// The exclusions, from the command line.
			const (
				inRange  = "203.0.113.77" // inside the admin's 203.0.113.0/24
				exact    = "198.51.100.9" // the admin typed this one address
				monitor  = "192.0.2.44"   // excluded by its user agent
				person   = "192.0.2.55"   // counted
				monitorA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 AcmeWatch/2.1"
			)
			cli := exec.Command(loendurBin, "sites", "exclude", site, "--db", d.DSN,
				"--address", "203.0.113.0/24", "--address", exact, "--user-agent", "acmewatch", "--by", "admin@agency.test")
			cli.Env = e2eproc.Env(d.Env...)
			out, err := cli.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "203.0.113.0/24") || !strings.Contains(string(out), "acmewatch") {
				t.Fatalf("loendur sites exclude: %v\n%s", err, out)
			}

			spool := t.TempDir()
			p := start(t, run{DB: d, Args: append(args, "--spool", spool)})
			for _, c := range []struct{ ip, ua string }{
				{inRange, ""}, {exact, ""}, {monitor, monitorA}, {person, ""},
			} {
				hdr := map[string]string{"X-Forwarded-For": c.ip}
				if c.ua != "" {
					hdr["User-Agent"] = c.ua
				}
				if r := p.post(pageview, hdr); r.Status != 202 {
					t.Fatalf("POST from %s: %d %s, want 202", c.ip, r.Status, r.Reason)
				}
			}
			if n := p.metrics()[e2eproc.Dropped("excluded")]; n != 3 {
				t.Errorf("dropped{excluded} = %v, want 3", n)
			}
			metrics := p.metricsText()
			if engine == "server" {
				// The drop counts reach the table within a flush interval (1 s).
				s := d.open(t)
				if n := waitForCount(t, s, 3, 30*time.Second, "SELECT sum(events) AS n FROM events_dropped_daily WHERE site = ? AND reason = 'excluded'", site); n != 3 {
					t.Errorf("events_dropped_daily holds %d excluded events, want 3", n)
				}
			}
			p.stopClean()

			s := d.open(t)
			if n := count(t, s, "SELECT sum(events) AS n FROM events_dropped_daily WHERE site = ? AND reason = 'excluded'", site); n != 3 {
				t.Errorf("after stop, events_dropped_daily holds %d excluded events, want 3", n)
			}
			if events := selectEvents(t, s, ""); len(events) != 1 || events[0].IP != "192.0.0.0" {
				t.Errorf("stored %+v, want the one person's page view (ip 192.0.0.0)", events)
			}
			scope := "database = currentDatabase()"
			if d.Engine == "chdb" {
				scope = "database NOT IN ('system', 'information_schema', 'INFORMATION_SCHEMA')"
			}
			dump := dumpTables(t, s, scope)
			if !strings.Contains(dump["site_exclusions"], "203.0.113.0/24") {
				t.Errorf("site_exclusions does not hold the admin's entry:\n%s", dump["site_exclusions"])
			}
			for _, addr := range []string{inRange, monitor, exact} {
				for table, text := range dump {
					if strings.Contains(text, addr) && !(addr == exact && table == "site_exclusions") {
						t.Errorf("table %s holds %s:\n%s", table, addr, text)
					}
				}
				if strings.Contains(metrics, addr) {
					t.Errorf("GET /metrics contains %s", addr)
				}
				if strings.Contains(p.Log(), addr) {
					t.Errorf("the log contains %s", addr)
				}
				grepFiles(t, spool, addr)
				if d.Engine == "chdb" && addr != exact {
					grepFiles(t, d.Dir, addr)
				}
			}
		})
	}
}

// grepFiles fails the test when a file under dir contains s.
func grepFiles(t *testing.T, dir, s string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, de fs.DirEntry, err error) error {
		if err != nil || !de.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("file %s contains %s", path, s)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// --referrer-spam: a page view from a listed referrer host (or a subdomain of one) is
// answered and dropped as referrer_spam; other referrers are stored. A list that is
// not one stops the start with a message naming the flag.
func TestReferrerSpamList(t *testing.T) {
	d := newDB(t, "server")
	list := filepath.Join(t.TempDir(), "spammers.txt")
	if err := os.WriteFile(list, []byte("# test list\nsemalt.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, run{DB: d, Args: []string{"--site", site, "--referrer-spam", list}})
	spam := event("pageview", "https://site.test/", map[string]any{"referrer": "https://forum.semalt.com/top"})
	fine := event("pageview", "https://site.test/", map[string]any{"referrer": "https://news.example.org/"})
	for _, body := range []string{spam, fine} {
		if r := p.post(body, nil); r.Status != 202 {
			t.Fatalf("POST: %d %s", r.Status, r.Reason)
		}
	}
	if n := p.metrics()[e2eproc.Dropped("referrer_spam")]; n != 1 {
		t.Errorf("dropped{referrer_spam} = %v, want 1", n)
	}
	p.stopClean()
	events := d.events(t)
	if len(events) != 1 || events[0].ReferrerHost != "news.example.org" {
		t.Errorf("stored %+v, want only the page view from news.example.org", events)
	}

	bad := filepath.Join(t.TempDir(), "page.html")
	if err := os.WriteFile(bad, []byte("<html><body>not a list</body></html>\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := runToExit(t, run{DB: newDB(t, "server"), Args: []string{"--site", site, "--referrer-spam", bad}})
	if res.Code == 0 || !strings.Contains(res.Stderr, "--referrer-spam") {
		t.Errorf("start with a bad list: exit %d, stderr:\n%s", res.Code, res.Stderr)
	}
}
