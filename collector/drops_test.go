package collector

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/websystems/loendur/internal/clientip"
	"github.com/websystems/loendur/internal/dropcount"
	"github.com/websystems/loendur/internal/privacy"
	"github.com/websystems/loendur/internal/referrer"
	"github.com/websystems/loendur/internal/salt"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
	"github.com/websystems/loendur/internal/testclock"
)

func TestBurstsAllowReadingPace(t *testing.T) {
	s := newSessions(1 << 16)
	view := func(visitor uint64, at time.Time) bool {
		_, ok := s.admit(visitor, at, true)
		return ok
	}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := range burstPages {
		if !view(1, t0) {
			t.Fatalf("page view %d of a burst of %d dropped", i+1, burstPages)
		}
	}
	if view(1, t0.Add(time.Second)) {
		t.Error("page view beyond the burst, half a reading interval later, kept")
	}
	if _, ok := s.admit(1, t0.Add(time.Second), false); !ok {
		t.Error("an engagement event of a visitor out of page views refused")
	}
	if !view(2, t0.Add(time.Second)) {
		t.Error("another visitor's page view dropped")
	}
	if !view(1, t0.Add(readInterval+time.Second)) {
		t.Error("page view a reading interval later dropped")
	}
	// A person reading at a steady pace is never dropped.
	at := t0.Add(time.Hour)
	for i := range 500 {
		if !view(3, at) {
			t.Fatalf("page view %d at one every %s dropped", i, readInterval)
		}
		at = at.Add(readInterval)
	}
}

// A dropped page view does not extend the visitor's session.
func TestBurstDropsLeaveTheSession(t *testing.T) {
	s := newSessions(1 << 16)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var first uint64
	for range burstPages {
		first, _ = s.admit(4, t0, true)
	}
	if _, ok := s.admit(4, t0.Add(time.Second), true); ok {
		t.Fatal("page view beyond the burst kept")
	}
	at := t0.Add(privacy.SessionTimeout + time.Second/2) // under a session's length after the drop
	if id, _ := s.admit(4, at, false); id == first {
		t.Error("the dropped page view extended the session")
	}
}

// newClockedCollector is a collector on db whose clock the test moves.
func newClockedCollector(t *testing.T, db store.Store, site string, clock *testclock.Clock) (*Collector, *prometheus.Registry) {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	registry := sites.NewRegistry(db, log)
	if _, err := registry.Ensure(ctx, []string{site}); err != nil {
		t.Fatal(err)
	}
	keeper := salt.New(db, log, nil)
	if err := keeper.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	proxies, _ := clientip.NewResolver([]string{"0.0.0.0/0", "::/0"})
	reg := prometheus.NewRegistry()
	spam, err := referrer.ParseSpamList(strings.NewReader("semalt.com\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{DB: db, Sites: registry, Salts: keeper, Proxies: proxies, Log: log,
		Registry: reg, FlushInterval: time.Hour, RateLimit: -1, Now: clock.Now, ReferrerSpam: spam})
	if err != nil {
		t.Fatal(err)
	}
	return c, reg
}

func postAs(t *testing.T, c *Collector, body, clientIP, ua string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/api/event", strings.NewReader(body))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("User-Agent", ua)
	req.Header.Set("X-Forwarded-For", clientIP)
	resp, err := testApp(t, c).Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode
}

// Every drop is answered 202, counted by reason on /metrics and per site and day in
// events_dropped_daily, which the dashboard reads.
func TestDropsCountedBySiteAndReason(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			site := "drops-" + engine + ".test"
			clock := testclock.New(time.Now().UTC())
			c, reg := newClockedCollector(t, db, site, clock)
			page := func(width int) string {
				return `{"site":"` + site + `","name":"pageview","url":"https://` + site + `/a","width":` + itoa(width) + `}`
			}
			send := func(body, ip, ua string) {
				t.Helper()
				if code := postAs(t, c, body, ip, ua); code != 202 {
					t.Fatalf("POST %s: %d, want 202", body, code)
				}
			}
			spamPage := `{"site":"` + site + `","name":"pageview","url":"https://` + site + `/a","referrer":"https://forum.semalt.com/"}`
			send(spamPage, "192.0.2.9", firefoxUA)
			send(page(0), "192.0.2.1", firefoxUA)     // viewport
			send(page(40000), "192.0.2.1", firefoxUA) // viewport
			send(page(1280), "192.0.2.1", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Ghost Inspector")
			for range burstPages + 3 { // 3 beyond the burst, within a second
				send(page(1280), "192.0.2.2", firefoxUA)
			}
			clock.Add(time.Hour)
			send(page(1280), "192.0.2.2", firefoxUA) // read at a person's pace again: kept
			for reason, want := range map[string]float64{dropViewport: 2, dropBot: 1, dropBurst: 3, dropExcluded: 0, dropReferrerSpam: 1} {
				if got := counterValue(t, reg, "loendur_events_dropped_total", reason); got != want {
					t.Errorf("dropped{%s} = %v, want %v", reason, got, want)
				}
			}
			if got := counterValue(t, reg, "loendur_events_accepted_total", ""); got != 4+burstPages+3+1 {
				t.Errorf("accepted = %v, want every beacon", got)
			}
			if err := c.flushDrops(context.Background()); err != nil {
				t.Fatal(err)
			}
			day := clock.Now()
			got, err := dropcount.ByReason(context.Background(), db, site, day.AddDate(0, 0, -1), day)
			if err != nil {
				t.Fatal(err)
			}
			want := []dropcount.Reason{{Reason: dropBurst, Events: 3}, {Reason: dropViewport, Events: 2}, {Reason: dropBot, Events: 1}, {Reason: dropReferrerSpam, Events: 1}}
			if len(got) != len(want) {
				t.Fatalf("ByReason = %+v, want %+v", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("ByReason = %+v, want %+v", got, want)
				}
			}
			// A second flush adds; the engine sums the rows.
			send(page(0), "192.0.2.3", firefoxUA)
			if err := c.flushDrops(context.Background()); err != nil {
				t.Fatal(err)
			}
			// The same two days: the clock's hour may have crossed midnight.
			got, _ = dropcount.ByReason(context.Background(), db, site, day.AddDate(0, 0, -1), day)
			for _, r := range got {
				if r.Reason == dropViewport && r.Events != 3 {
					t.Errorf("viewport drops after a second flush = %d, want 3", r.Events)
				}
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// counterValue reads a counter from reg as /metrics shows it; reason "" for one without
// labels.
func counterValue(t *testing.T, reg *prometheus.Registry, name, reason string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if reason == "" || len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no %s{reason=%q} on the registry", name, reason)
	return 0
}
