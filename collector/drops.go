package collector

import (
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
// once and then one every readInterval; faster page views are dropped as "burst". The
// bucket is kept with the visitor's session (sessions.admit).
const (
	burstPages   = 20
	readInterval = 2 * time.Second
)

// readBucket is a visitor's token bucket of page views. Its zero value is full: it
// refills from the start of Unix time.
type readBucket struct {
	tokens float64
	last   int64 // Unix nanoseconds
}

// take spends a page view at t (Unix nanoseconds); false means none is left.
func (bk *readBucket) take(t int64) bool {
	if t > bk.last {
		bk.tokens = min(burstPages, bk.tokens+float64(t-bk.last)/float64(readInterval))
		bk.last = t
	}
	if bk.tokens < 1 {
		return false
	}
	bk.tokens--
	return true
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
