package browsertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/websystems/loendur/internal/testenv"
	trackerjs "github.com/websystems/loendur/tracker-js"
)

// binDir holds the loendur binary built for this test run; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds cmd/loendur once per test run.
var binary = sync.OnceValues(func() (string, error) {
	var err error
	binDir, err = os.MkdirTemp("", "loendur-browsertest")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(binDir, "loendur")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/websystems/loendur/cmd/loendur").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/loendur: %v\n%s", err, out)
	}
	return bin, nil
})

// collector is a running `loendur serve` on a ClickHouse database of its own.
type collector struct {
	t      *testing.T
	origin string // http://stats.test:PORT
	addr   string // 127.0.0.1:PORT
	conn   clickhouse.Conn
	db     string
}

func startCollector(t *testing.T) *collector {
	t.Helper()
	chAddr := testenv.ClickHouseAddr(t)
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	c := &collector{t: t, db: "loendur_browser_" + hex.EncodeToString(suffix)}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.addr = ln.Addr().String()
	_, port, _ := net.SplitHostPort(c.addr)
	ln.Close()
	c.origin = "http://" + statsHost + ":" + port

	logs := &strings.Builder{}
	var logMu sync.Mutex
	cmd := exec.Command(bin, "serve", "--addr", c.addr, "--db", "clickhouse://"+chAddr+"/"+c.db, "--site", siteHost,
		"--spool", t.TempDir()) // the default, ./spool, would be in the source tree
	w := writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logs.Write(p)
	})
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	c.conn, err = clickhouse.Open(&clickhouse.Options{Addr: []string{chAddr}, Auth: clickhouse.Auth{Database: "default"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(wait):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			logMu.Lock()
			t.Logf("loendur serve output:\n%s", logs.String())
			logMu.Unlock()
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = c.conn.Exec(ctx, "DROP DATABASE IF EXISTS "+c.db)
		c.conn.Close()
	})

	// Ready when the database is reachable and the migrations ran.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + c.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			logMu.Lock()
			defer logMu.Unlock()
			t.Fatalf("loendur serve exited: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			logMu.Lock()
			defer logMu.Unlock()
			t.Fatalf("loendur serve not ready within 30s:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The collector serves the tracker embedded in the binary.
	resp, err := http.Get("http://" + c.addr + "/js/script.js")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != string(trackerjs.Script) {
		t.Fatalf("GET /js/script.js: status %d, %d bytes: the collector must serve trackerjs.Handler there", resp.StatusCode, len(body))
	}
	return c
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// row is the part of an events row the tracker is responsible for.
type row struct {
	Name, Pathname, ReferrerHost, ReferrerSource, UTMSource string
	EngagedMS                                               uint32
	Scroll                                                  uint8
	Props                                                   map[string]string
}

func (r row) String() string {
	return fmt.Sprintf("%s %s ref=%s/%s utm=%s engaged=%d scroll=%d props=%v",
		r.Name, r.Pathname, r.ReferrerHost, r.ReferrerSource, r.UTMSource, r.EngagedMS, r.Scroll, r.Props)
}

func (c *collector) rows() []row {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	q := fmt.Sprintf(`SELECT name, pathname, referrer_host, referrer_source, utm_source, engaged_ms, scroll, prop_keys, prop_values
		FROM %s.events WHERE site = 'site.test' ORDER BY timestamp, name`, c.db)
	rs, err := c.conn.Query(ctx, q)
	if err != nil {
		c.t.Fatalf("reading events: %v", err)
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		var keys, values []string
		if err := rs.Scan(&r.Name, &r.Pathname, &r.ReferrerHost, &r.ReferrerSource, &r.UTMSource, &r.EngagedMS, &r.Scroll, &keys, &values); err != nil {
			c.t.Fatalf("reading events: %v", err)
		}
		if len(keys) > 0 {
			r.Props = map[string]string{}
			for i, k := range keys {
				if i < len(values) {
					r.Props[k] = values[i]
				}
			}
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		c.t.Fatalf("reading events: %v", err)
	}
	return out
}

// waitRows polls until the database holds n rows matching match (the collector batches
// its writes) and returns all rows.
func (c *collector) waitRows(n int, what string, match func(row) bool) []row {
	c.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		rows := c.rows()
		got := 0
		for _, r := range rows {
			if match(r) {
				got++
			}
		}
		if got >= n {
			return rows
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("waited %v for %d %s row(s); rows: %v", wait, n, what, rows)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// settleDB sends a sentinel event for pageURL from the page in tb, the way the tracker
// would, and waits for its row: the collector stores in order, so the rows of anything
// sent before are in too.
func (c *collector) settleDB(tb *tab, pageURL string) []row {
	c.t.Helper()
	tb.eval(fmt.Sprintf(`navigator.sendBeacon(%q, JSON.stringify({site: 'site.test', name: 'sentinel', url: %q}))`, c.origin+"/api/event", pageURL), nil)
	rows := c.waitRows(1, "sentinel", func(r row) bool { return r.Name == "sentinel" })
	return slices.DeleteFunc(rows, func(r row) bool { return r.Name == "sentinel" })
}

// End to end: the real binary serves the tracker and stores what it sends in ClickHouse.
func TestTrackerEndToEnd(t *testing.T) {
	testenv.ClickHouseAddr(t)
	b := launch(t, false)

	setup := func(t *testing.T, initScripts ...string) (*collector, *site, *tab) {
		c := startCollector(t)
		// The site's pages load the tracker from the collector; the stats stand-in is
		// only there to record in the tab's log what reaches the collector's origin.
		st := &stats{t: t, origin: c.origin}
		s := startSite(t, st)
		return c, s, newTab(t, b, st, initScripts...)
	}

	t.Run("page views, SPA navigation, engagement, custom and link events", func(t *testing.T) {
		c, s, tb := setup(t)
		landing := s.url(siteHost, "/pricing?utm_source=newsletter")
		s.page("/blog", pageSpec{Bare: true, Body: template.HTML(`<a id="go" href="` + landing + `">pricing</a>`)})
		s.page("/pricing", pageSpec{
			Attrs: "data-outbound data-downloads",
			Head:  stub + `<script>loendur('Signup', {props: {plan: 'pro'}})</script>`,
			Body: template.HTML(`<article style="height:5000px"><button id="brochure" data-loendur-event="Brochure Request" data-loendur-prop-format="pdf">Get it</button>
<a id="report" href="/files/report.pdf">report</a></article>
<a id="out" href="` + s.url(otherHost, "/partner") + `">partner</a>`),
		})
		s.page("/partner", pageSpec{Bare: true, Body: `<h1 id="partner">Partner</h1>`})

		tb.open(s.url(otherHost, "/blog"))
		start := time.Now()
		tb.click("#go")
		tb.waitTracker()
		tb.click("#brochure")
		tb.eval(`history.pushState({}, '', '/pricing/enterprise')`, nil)
		tb.eval(`history.replaceState({}, '', '/pricing/enterprise')`, nil) // same URL: no page view
		time.Sleep(300 * time.Millisecond)                                  // reading
		tb.eval(`scrollTo(0, document.documentElement.scrollHeight)`, nil)
		tb.poll(`scrollY + innerHeight >= document.documentElement.scrollHeight - 1`)
		tb.hide()()
		elapsed := time.Since(start)
		tb.click("#report")
		tb.click("#out")
		tb.poll(`document.getElementById('partner') != null`)

		c.waitRows(1, "outbound", func(r row) bool { return r.Name == "Outbound Link: Click" })
		rows := c.settleDB(tb, landing)
		var got []string
		for _, r := range rows {
			got = append(got, r.Name+" "+r.Pathname)
		}
		slices.Sort(got)
		want := []string{
			"Brochure Request /pricing",
			"File Download /pricing/enterprise",
			"Outbound Link: Click /pricing/enterprise",
			"Signup /pricing",
			"engagement /pricing",
			"engagement /pricing/enterprise",
			"pageview /pricing",
			"pageview /pricing/enterprise",
		}
		if !slices.Equal(got, want) {
			t.Errorf("stored events\n got %q\nwant %q", got, want)
		}
		for _, r := range rows {
			switch {
			case r.Name == "pageview" && r.Pathname == "/pricing":
				if r.ReferrerHost != otherHost || r.UTMSource != "newsletter" {
					t.Errorf("first page view %v, want referrer %s and utm_source newsletter", r, otherHost)
				}
			case r.Name == "pageview":
				if r.ReferrerHost != "" {
					t.Errorf("SPA page view %v carries a referrer", r)
				}
			case r.Name == "engagement" && r.Pathname == "/pricing/enterprise":
				if r.Scroll != 100 || r.EngagedMS < 300 || int64(r.EngagedMS) > elapsed.Milliseconds() {
					t.Errorf("engagement %v, want scroll 100 and engaged_ms between 300 and %d", r, elapsed.Milliseconds())
				}
			case r.Name == "Signup":
				if r.Props["plan"] != "pro" {
					t.Errorf("Signup props %v, want plan=pro", r.Props)
				}
			case r.Name == "Brochure Request":
				if r.Props["format"] != "pdf" {
					t.Errorf("Brochure Request props %v, want format=pdf", r.Props)
				}
			case r.Name == "File Download":
				if r.Props["url"] != s.url(siteHost, "/files/report.pdf") {
					t.Errorf("File Download props %v", r.Props)
				}
			case r.Name == "Outbound Link: Click":
				if r.Props["url"] != s.url(otherHost, "/partner") {
					t.Errorf("Outbound Link: Click props %v", r.Props)
				}
			}
		}
		tb.assertNoStorage(landing)
	})

	for _, tc := range []struct {
		name  string
		init  []string
		attrs template.HTMLAttr
		path  string
	}{
		{name: "Global Privacy Control", init: []string{gpcOn}},
		{name: "Do Not Track", init: []string{dntOn}},
		{name: "excluded path", attrs: `data-exclude="/admin/*"`, path: "/admin/users"},
	} {
		t.Run("nothing stored: "+tc.name, func(t *testing.T) {
			c, s, tb := setup(t, tc.init...)
			path := tc.path
			if path == "" {
				path = "/page"
			}
			s.page(path, pageSpec{Attrs: tc.attrs, Body: `<button id="cta" data-loendur-event="CTA">Go</button>`})
			tb.open(s.url(siteHost, path))
			tb.waitTracker()
			tb.click("#cta")
			tb.hide()()
			if rows := c.settleDB(tb, s.url(siteHost, path)); len(rows) != 0 {
				t.Errorf("stored %v, want nothing", rows)
			}
		})
	}

	t.Run("nothing stored after optOut", func(t *testing.T) {
		c, s, tb := setup(t)
		s.page("/page", pageSpec{Body: `<button id="cta" data-loendur-event="CTA">Go</button>`})
		tb.open(s.url(siteHost, "/page"))
		tb.waitTracker()
		tb.eval(`loendur.optOut()`, nil)
		tb.open(s.url(siteHost, "/page"))
		tb.waitTracker()
		tb.click("#cta")
		tb.hide()()
		var got []string
		for _, r := range c.settleDB(tb, s.url(siteHost, "/page")) {
			got = append(got, r.Name)
		}
		if want := []string{"pageview"}; !slices.Equal(got, want) { // the one before opting out
			t.Errorf("stored %q, want only %q", got, want)
		}
	})
}
