package notice_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/eventtest"
	"github.com/websystems/loendur/internal/notice"
	"github.com/websystems/loendur/internal/privacy"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

// fixture is a registered site on one engine and what Gather reads it with.
type fixture struct {
	t     *testing.T
	db    store.Store
	reg   *sites.Registry
	site  string
	now   time.Time
	links staticLinks
}

// staticLinks stands for the shared-links feature (built on another branch): a list
// held in memory, as its lister will return it from its own table.
type staticLinks []notice.SharedLink

func (l staticLinks) SharedLinks(context.Context, string) ([]notice.SharedLink, error) { return l, nil }

func newFixture(t *testing.T, db store.Store, name string) *fixture {
	t.Helper()
	f := &fixture{t: t, db: db, reg: sites.NewRegistry(db, slog.New(slog.NewTextHandler(io.Discard, nil))),
		site: fmt.Sprintf("%s-%d.test", name, rand.Uint32()), now: time.Now().UTC()}
	if _, err := f.reg.Ensure(context.Background(), []string{f.site}); err != nil {
		t.Fatal(err)
	}
	return f
}

// setSite stores the site's retention and Do Not Track setting as the dashboard does:
// a newer row of the sites table.
func (f *fixture) setSite(months int, dnt bool) {
	f.t.Helper()
	honour := uint8(0)
	if dnt {
		honour = 1
	}
	err := f.db.Insert(context.Background(), "sites", []string{"domain", "created", "timezone", "retention_months", "honour_dnt", "deleted", "version"},
		[][]any{{f.site, f.now, "UTC", uint16(months), honour, uint8(0), uint64(time.Now().UnixNano())}})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.reg.Load(context.Background()); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) settings(s notice.Settings) {
	f.t.Helper()
	if _, err := notice.SaveSettings(context.Background(), f.db, f.site, s, f.now); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) insert(evs ...store.Event) {
	f.t.Helper()
	if err := store.InsertEvents(context.Background(), f.db, evs); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) event(ip string, props ...string) store.Event {
	e := eventtest.Pageview(f.site, f.now.Add(-time.Hour), "/")
	e.IP, e.VisitorID, e.SessionID = ip, rand.Uint64(), rand.Uint64()
	for i := 0; i+1 < len(props); i += 2 {
		e.Name = "Signup"
		e.PropKeys, e.PropValues = append(e.PropKeys, props[i]), append(e.PropValues, props[i+1])
	}
	return e
}

// gather runs Gather with the default prefixes and the fixture's links.
func (f *fixture) gather(tr privacy.Truncator) (notice.Report, notice.Facts) {
	f.t.Helper()
	s, ok := f.reg.Lookup(f.site)
	if !ok {
		f.t.Fatalf("site %s not registered", f.site)
	}
	facts, err := notice.Gather(context.Background(), notice.Sources{DB: f.db, Truncator: tr,
		Agency: notice.Agency{Domains: []string{"agency.test"}}, Links: f.links, Now: func() time.Time { return f.now }}, s)
	if err != nil {
		f.t.Fatal(err)
	}
	r, err := notice.Build(facts)
	if err != nil {
		f.t.Fatal(err)
	}
	return r, facts
}

func met(r notice.Report, id string) (bool, string) {
	for _, c := range r.Check.Conditions {
		if c.ID == id {
			return c.Met, c.Reason
		}
	}
	return false, "no condition " + id
}

var defaults = privacy.Truncator{V4Bits: 16, V6Bits: 48}

// Each condition flips with the stored setting or data that drives it, on both engines:
// retention and Do Not Track (sites), consent mode and the privacy page
// (site_privacy), custom properties and stored addresses (events and their rollup), a
// shared link (its lister), the prefixes (the process's truncator).
func TestGatherFollowsStoredSettings(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			f := newFixture(t, db, "gather-"+engine)
			f.insert(f.event("203.0.0.0", "plan", "pro"), f.event("2001:db8:1::"))
			r, facts := f.gather(defaults)
			if ok, why := met(r, notice.CondOptOut); ok {
				t.Errorf("opt-out met without a privacy page: %s", why)
			}
			for _, id := range []string{notice.CondOwnUse, notice.CondIdentifier, notice.CondIPTruncated, notice.CondRetention, notice.CondProperties, notice.CondImports} {
				if ok, why := met(r, id); !ok {
					t.Errorf("%s not met for a new site: %s", id, why)
				}
			}
			if facts.Stored.Events != 2 || len(facts.Properties) != 1 || facts.Properties[0].Key != "plan" {
				t.Errorf("facts of two events: %+v", facts)
			}
			if !strings.Contains(r.Notices["en"].Text, "these details: plan") || !strings.Contains(r.Notices["et"].Text, "järgmised andmed: plan") {
				t.Errorf("notice does not name the property in use:\n%s", r.Notices["en"].Text)
			}

			// The privacy page recorded: every condition met, exempt.
			f.settings(notice.Settings{PrivacyPage: "https://" + f.site + "/privacy"})
			if r, _ = f.gather(defaults); !r.Check.Exempt {
				t.Fatalf("not exempt with a privacy page: %+v", r.Check)
			}

			// Retention raised to 36 months: the site needs consent, and the notice says 36.
			f.setSite(36, true)
			r, _ = f.gather(defaults)
			if ok, why := met(r, notice.CondRetention); ok || why != "Retention is 36 months; the exemption allows at most 25. Lower it to 25 or less." {
				t.Errorf("retention 36: met=%v %q", ok, why)
			}
			if r.Check.Exempt || !strings.Contains(r.Notices["en"].Text, "kept for 36 months") || !strings.Contains(r.Notices["et"].Text, "hoitakse 36 kuud") {
				t.Errorf("retention 36: exempt=%v\n%s", r.Check.Exempt, r.Notices["en"].Text)
			}

			// Do Not Track off, consent mode on: the notice and the tracker tag follow.
			f.setSite(25, false)
			f.settings(notice.Settings{ConsentRequired: true, PrivacyPage: "https://" + f.site + "/privacy"})
			r, _ = f.gather(defaults)
			en := r.Notices["en"]
			if !r.Check.ConsentRequired || !strings.Contains(en.Text, "Do Not Track is not acted on") || !strings.Contains(en.Text, "We count your visit only after you agree") {
				t.Errorf("DNT off, consent on:\n%s", en.Text)
			}
			if !strings.Contains(en.Tracker, `data-consent="required" data-dnt="false"`) {
				t.Errorf("tracker tag: %s", en.Tracker)
			}

			// Coarser prefixes: the address sentence follows them.
			r, _ = f.gather(privacy.Truncator{V4Bits: 8, V6Bits: 32})
			if !strings.Contains(r.Notices["en"].Text, "only the first 8 of the 32 bits of an IPv4 address are kept (203.0.113.7 becomes 203.0.0.0), and the first 32 of the 128 bits") ||
				!strings.Contains(r.Notices["et"].Text, "esimesed 8 bitti 32-st") {
				t.Errorf("prefixes 8/32:\n%s", r.Notices["en"].Text)
			}

			// A property named like personal data, and one whose values are e-mail addresses.
			f.insert(f.event("203.0.0.0", "email", "x"), f.event("203.0.0.0", "ref", "ana@example.com"))
			r, _ = f.gather(defaults)
			if ok, why := met(r, notice.CondProperties); ok || !strings.Contains(why, `"email" (its name contains "email")`) || !strings.Contains(why, `"ref" (values look like e-mail addresses)`) {
				t.Errorf("personal properties: met=%v %s", ok, why)
			}

			// An address stored with more than /16 (an old or imported event).
			f.insert(f.event("203.0.113.0"))
			r, _ = f.gather(defaults)
			if ok, why := met(r, notice.CondIPTruncated); ok || !strings.Contains(why, "1 events of the last 7 days hold an address finer than /16") {
				t.Errorf("a finer IPv4 address: met=%v %s", ok, why)
			}
			f.insert(f.event("2001:db8:1:2::"))
			if _, facts = f.gather(defaults); facts.Stored.FinerIPv6 != 1 || facts.Stored.FinerIPv4 != 1 {
				t.Errorf("finer addresses: %+v", facts.Stored)
			}

			// A link open to anyone: statistics are shared.
			f.links = staticLinks{{Label: "board"}}
			r, _ = f.gather(defaults)
			if ok, why := met(r, notice.CondOwnUse); ok || !strings.Contains(why, `the shared link "board" is open to anyone who holds it`) {
				t.Errorf("shared link: met=%v %s", ok, why)
			}
		})
	}
}

// A located event makes the notice say where the location comes from; without one it
// does not claim a location is kept.
func TestGatherLocation(t *testing.T) {
	f := newFixture(t, storetest.Server(t), "geo")
	f.insert(f.event("203.0.0.0"))
	if r, _ := f.gather(defaults); strings.Contains(r.Notices["en"].Text, "country, region and city") {
		t.Errorf("no located event, but the notice mentions a location")
	}
	e := f.event("203.0.0.0")
	e.CountryCode, e.City = "EE", "Tallinn"
	f.insert(e)
	if r, _ := f.gather(defaults); !strings.Contains(r.Notices["en"].Text, "the country, region and city your IP address points to") {
		t.Errorf("located event, notice:\n%s", r.Notices["en"].Text)
	}
}

func TestPrivacyPageMustBeOnTheSite(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://shop.test/privacy": true, "http://www.shop.test/p#x": true, "": true,
		"https://evil.test/privacy": false, "javascript:alert(1)": false, "https://shop.test.evil/": false,
		"https://u:p@shop.test/": false, "shop.test/privacy": false,
	} {
		got, err := notice.NormalizePrivacyPage(raw, "shop.test")
		if (err == nil) != ok {
			t.Errorf("%q: %q %v", raw, got, err)
		}
	}
}
