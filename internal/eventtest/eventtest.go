// Package eventtest builds store.Event values for tests: a page view with the fields
// every stored event has (Pageview), a run of them (Pageviews), events as the collector
// stores them after enrichment (Realistic), and an event with every field set (Filled)
// for codecs that must carry every field.
package eventtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/store"
)

// Pageview is a page view of path on site at time at, with a fresh event id and the
// site as hostname. Tests set the other fields they need on the value.
func Pageview(site string, at time.Time, path string) store.Event {
	return store.Event{EventID: uuid.New(), Site: site, Timestamp: at, Name: "pageview", Hostname: site, Pathname: path}
}

// Pageviews are n page views on site a second apart from at, on /p0, /p1 and /p2 in
// turn, each of its own visitor and session (ids 1..n).
func Pageviews(site string, at time.Time, n int) []store.Event {
	evs := make([]store.Event, n)
	for i := range evs {
		evs[i] = Pageview(site, at.Add(time.Duration(i)*time.Second), fmt.Sprintf("/p%d", i%3))
		evs[i].VisitorID, evs[i].SessionID = uint64(i+1), uint64(i+1)
	}
	return evs
}

// Realistic returns n events as the collector stores them after enrichment (truncated
// addresses, hashed ids, short strings), the same for the same seed: files written from
// them are compared byte for byte with committed ones.
func Realistic(n int, seed uint64) []store.Event {
	r := rand.New(rand.NewPCG(seed, 42))
	pick := func(ss ...string) string { return ss[r.IntN(len(ss))] }
	pickInt := func(xs ...int) int { return xs[r.IntN(len(xs))] }
	base := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	evs := make([]store.Event, n)
	for i := range evs {
		var id uuid.UUID
		for j := range id {
			id[j] = byte(r.Uint32())
		}
		site := pick("example.com", "shop.example.org", "blog.example.net", "agency.example")
		e := store.Event{
			EventID:        id,
			Site:           site,
			Timestamp:      base.Add(time.Duration(i) * 37 * time.Millisecond),
			Name:           pick("pageview", "pageview", "pageview", "engagement", "Signup"),
			Hostname:       site,
			Pathname:       fmt.Sprintf("/%s/%d", pick("blog", "products", "docs", "pricing", "about", "news/2025"), r.IntN(500)),
			ReferrerHost:   pick("", "", "www.google.com", "duckduckgo.com", "news.ycombinator.com", "t.co"),
			ReferrerSource: pick("", "", "Google", "DuckDuckGo", "Hacker News", "Twitter"),
			CountryCode:    pick("EE", "FI", "DE", "FR", "US", "SE", ""),
			Region:         pick("", "Harju", "Uusimaa", "Bavaria"),
			City:           pick("", "Tallinn", "Helsinki", "Munich", "Paris"),
			Browser:        pick("Chrome", "Firefox", "Safari", "Edge"),
			BrowserVersion: pick("126.0", "127.0", "17.5", "125.0.2535"),
			OS:             pick("Windows", "Mac OS X", "Linux", "Android", "iOS"),
			OSVersion:      pick("10", "14.5", "", "17.5.1"),
			Device:         pick("desktop", "mobile", "tablet"),
			Width:          uint16(pickInt(390, 1280, 1440, 1920)),
			VisitorID:      r.Uint64(),
			SessionID:      r.Uint64(),
			IP:             fmt.Sprintf("%d.%d.0.0", 1+r.IntN(223), r.IntN(256)),
			EngagedMS:      uint32(r.IntN(300_000)),
			Scroll:         uint8(r.IntN(101)),
		}
		if r.IntN(10) == 0 {
			e.UTMSource, e.UTMMedium, e.UTMCampaign = "newsletter", "email", "spring-sale"
		}
		if r.IntN(8) == 0 {
			e.PropKeys = []string{"plan", "author"}
			e.PropValues = []string{pick("free", "pro"), pick("anna", "jüri", "mari")}
		}
		evs[i] = e
	}
	return evs
}

// Filled returns an event with every field set to a value that is not zero and differs
// from field to field, the same on every call. It fails the test when store.Event has
// a field of a type it does not know: an encoding of events must learn that field too.
func Filled(t testing.TB) store.Event {
	t.Helper()
	var e store.Event
	v := reflect.ValueOf(&e).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		name := v.Type().Field(i).Name
		switch {
		case f.Type() == reflect.TypeFor[uuid.UUID]():
			f.Set(reflect.ValueOf(uuid.UUID{0x1d, 15: byte(i)}))
		case f.Type() == reflect.TypeFor[time.Time]():
			f.Set(reflect.ValueOf(time.Date(2031, 7, 9, 1, 2, 3, 456789012, time.UTC)))
		case f.Kind() == reflect.String:
			f.SetString("value of " + name + " ✓")
		case f.Kind() == reflect.Uint8, f.Kind() == reflect.Uint16, f.Kind() == reflect.Uint32, f.Kind() == reflect.Uint64:
			f.SetUint(math.MaxUint64>>(64-8*f.Type().Size()) - uint64(i)) // near the top of the type's range
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
			f.Set(reflect.ValueOf([]string{name + " one", "", name + " three"}))
		default:
			t.Fatalf("eventtest.Filled does not know how to fill store.Event.%s (%s): teach it, and add a layout version to the encodings", name, f.Type())
		}
	}
	return e
}
