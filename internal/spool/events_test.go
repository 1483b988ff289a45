package spool

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/store"
)

// testEvents returns n realistic events (what the collector stores after enrichment:
// truncated addresses, hashed ids, short strings), the same for the same seed.
func testEvents(n int, seed uint64) []store.Event {
	r := rand.New(rand.NewPCG(seed, 42))
	pick := func(ss ...string) string { return ss[r.IntN(len(ss))] }
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
			Width:          uint16(pick2(r, 390, 1280, 1440, 1920)),
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

func pick2(r *rand.Rand, xs ...int) int { return xs[r.IntN(len(xs))] }

// testBatch returns a batch of n events with a fresh id.
func testBatch(n int, seed uint64) Batch {
	return Batch{ID: uuid.New(), Events: testEvents(n, seed)}
}
