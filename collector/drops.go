package collector

import (
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/internal/sites"
)

// drop answers an event that is not stored as accepted, and counts it by reason: in
// loendur_events_dropped_total, and per site and day for the dashboard.
func (c *Collector) drop(ctx *fiber.Ctx, site sites.Site, reason string, now time.Time) error {
	c.m.dropped.WithLabelValues(reason).Inc()
	c.drops.Add(site.Domain, now, reason)
	return c.accepted(ctx)
}

// Bursts: a person reads a page before opening the next; a program that drives a real
// browser through a site does not. A visitor (hash) may open burstPages page views at
// once and then one every readInterval; faster page views are dropped as "burst".
const (
	burstPages     = 20
	readInterval   = 2 * time.Second
	burstShards    = 64
	burstMaxBucket = 1 << 20 // visitors remembered, over all shards
)

// bursts is a token readBucket per visitor id, bounded: a full shard forgets the visitors
// whose readBucket has refilled (idle for burstPages × readInterval), then everyone.
type bursts struct {
	shards [burstShards]burstShard
}

type burstShard struct {
	mu sync.Mutex
	m  map[uint64]readBucket
}

type readBucket struct {
	tokens float64
	last   int64 // Unix nanoseconds
}

func newBursts() *bursts {
	b := &bursts{}
	for i := range b.shards {
		b.shards[i].m = make(map[uint64]readBucket)
	}
	return b
}

// allow takes a page view of visitor at now; false means it came faster than a person
// reads.
func (b *bursts) allow(visitor uint64, now time.Time) bool {
	sh := &b.shards[visitor%burstShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	t := now.UnixNano()
	bk, ok := sh.m[visitor]
	if !ok {
		if len(sh.m) >= burstMaxBucket/burstShards {
			sh.forgetIdle(t)
		}
		bk = readBucket{tokens: burstPages, last: t}
	}
	if t > bk.last {
		bk.tokens = min(burstPages, bk.tokens+float64(t-bk.last)/float64(readInterval))
		bk.last = t
	}
	allowed := bk.tokens >= 1
	if allowed {
		bk.tokens--
	}
	sh.m[visitor] = bk
	return allowed
}

func (sh *burstShard) forgetIdle(now int64) {
	full := int64(burstPages * readInterval)
	for k, bk := range sh.m {
		if now-bk.last >= full {
			delete(sh.m, k)
		}
	}
	if len(sh.m) >= burstMaxBucket/burstShards {
		clear(sh.m)
	}
}

// sweep forgets visitors idle long enough to have a full readBucket; run periodically.
func (b *bursts) sweep(now time.Time) {
	for i := range b.shards {
		sh := &b.shards[i]
		sh.mu.Lock()
		full := int64(burstPages * readInterval)
		for k, bk := range sh.m {
			if now.UnixNano()-bk.last >= full {
				delete(sh.m, k)
			}
		}
		sh.mu.Unlock()
	}
}

// Viewports no person reads in: the tracker sends window.innerWidth, which is 0 in a
// window that shows nothing (prerendering, hidden frames, some headless set-ups) and
// never wider than any screen.
const (
	minViewportWidth = 32
	maxViewportWidth = 16384
)

func impossibleViewport(p *payload) bool {
	return p.Width.set && (p.Width.value < minViewportWidth || p.Width.value > maxViewportWidth)
}
