package reports

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
	"github.com/websystems/loendur/internal/testclock"
)

// Visits whose page views share one second, as fast visitors, single-page apps and
// redirects make them, get their entry, exit, bounce and funnel figures from the order
// the events arrived in (time_us), never from the engine's choice among ties; the
// same data gives the same answers on every query and on both engines. The paths sort
// the other way round from the visit order, and the event ids too, so neither an
// alphabetical nor an id order can pass for the right one.
func TestSubSecondOrder(t *testing.T) {
	at := func(clock string) time.Time {
		ts, err := time.Parse("2006-01-02 15:04:05.999999", "2024-03-04 "+clock)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	type ev struct {
		visitor uint64
		clock   string
		name    string
		path    string
		ms      uint32
		scroll  uint8
	}
	fixture := []ev{
		// A fast visitor: /pricing, /features, /buy, all within 08:00:00.
		{21, "08:00:00.1", "pageview", "/pricing", 0, 0},
		{21, "08:00:00.4", "pageview", "/features", 0, 0},
		{21, "08:00:00.9", "pageview", "/buy", 0, 0},
		// The engagement event of /home and the page view of /about are sent as the next
		// page starts: one microsecond apart, inside one second with the first view.
		{22, "09:00:05.1", "pageview", "/home", 0, 0},
		{22, "09:00:05.6", "engagement", "/home", 500, 80},
		{22, "09:00:05.600001", "pageview", "/about", 0, 0},
		{22, "09:00:30", "engagement", "/about", 20000, 100},
		// A bounce.
		{23, "10:00:00.5", "pageview", "/buy", 0, 0},
	}
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			site := "order-" + engine + ".test"
			c := testclock.New(time.Date(2024, 3, 6, 12, 0, 0, 0, time.UTC))
			r, _ := newSite(t, db, c, "Europe/Tallinn", site)
			var events []store.Event
			for i, e := range fixture {
				id := uuid.New()
				id[0] = byte(0xf0 - i) // later events get smaller ids
				events = append(events, store.Event{EventID: id, Site: site, Timestamp: at(e.clock), Name: e.name,
					Hostname: site, Pathname: e.path, VisitorID: e.visitor, SessionID: e.visitor * 100,
					EngagedMS: e.ms, Scroll: e.scroll, IP: "203.0.0.0", Device: "desktop"})
			}
			slices.Reverse(events) // stored in the opposite order of arrival
			insertEvents(t, db, events)
			check := func(t *testing.T) {
				q := fixtureQuery(t, site, "")
				q.Range = newRange(q.Range.From, q.Range.From, q.Location) // 2024-03-04 only
				for range 3 {
					checkOrderFigures(t, r, q)
				}
			}
			t.Run("from events", check)
			c.Set(time.Date(2024, 3, 5, 12, 0, 0, 0, time.UTC))
			if n, err := r.Finalize(context.Background(), site); err != nil || n != 3 {
				t.Fatalf("finalize wrote %d visits (%v), want 3", n, err)
			}
			c.Set(time.Date(2024, 3, 6, 12, 0, 0, 0, time.UTC))
			t.Run("from the sessions table", check)
		})
	}
}

func checkOrderFigures(t *testing.T, r *Service, q Query) {
	t.Helper()
	ctx := context.Background()
	sorted := func(rows []Row, fields ...string) []string {
		out := lines(rows, fields...)
		slices.Sort(out)
		return out
	}
	entries, err := r.Dimension(ctx, q, "entry-pages", "")
	if err != nil {
		t.Fatal(err)
	}
	equalLines(t, "entry pages", sorted(entries, "page", "entries", "bounce_rate"),
		[]string{"/buy 1 100", "/home 1 0", "/pricing 1 0"})
	exits, err := r.ExitPages(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	// /buy: two views (the fast visitor's last and the bounce), both exits.
	equalLines(t, "exit pages", sorted(exits, "page", "exits", "pageviews", "exit_rate"),
		[]string{"/about 1 1 100", "/buy 2 2 100"})
	ov, err := r.Overview(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if ov.Visits.Value != 3 || ov.BounceRate.Value != 33.3 || ov.Pageviews.Value != 6 {
		t.Errorf("overview: %v visits, %v%% bounces, %v page views; want 3, 33.3, 6", ov.Visits.Value, ov.BounceRate.Value, ov.Pageviews.Value)
	}
	for _, tc := range []struct {
		steps []Step
		want  []string
	}{
		{[]Step{{StepPage, "/pricing"}, {StepPage, "/features"}, {StepPage, "/buy"}}, []string{"1 1", "2 1", "3 1"}},
		// /about came after /home, so no visit went from /about to /home.
		{[]Step{{StepPage, "/about"}, {StepPage, "/home"}}, []string{"1 1", "2 0"}},
		{[]Step{{StepPage, "/home"}, {StepPage, "/about"}}, []string{"1 1", "2 1"}},
	} {
		rows, err := r.FunnelReport(ctx, q, Funnel{Name: "f", Steps: tc.steps})
		if err != nil {
			t.Fatal(err)
		}
		equalLines(t, "funnel "+strings.TrimSpace(lines([]Row{{{"s", tc.steps}}}, "s")[0]), lines(rows, "step", "visits"), tc.want)
	}
}
