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
// bucket (tokenBucket) is kept with the visitor's session (sessions.admit).
const (
	burstPages   = 20
	readInterval = 2 * time.Second
	readPerNano  = 1 / float64(readInterval)
)

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
