package collector

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/acceptlog"
	"github.com/websystems/loendur/internal/pageurl"
	"github.com/websystems/loendur/internal/privacy"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
)

// handleEvent is POST /api/event: parse, validate, drop what must not be stored,
// enrich and enqueue. Fiber reuses the request's memory after the handler returns, so
// every string kept in the event is copied out first (json.Unmarshal and the
// enrichment steps allocate new strings).
func (c *Collector) handleEvent(ctx *fiber.Ctx) error {
	c.m.received.Inc()
	if r := checkContentType(ctx.Get(fiber.HeaderContentType)); r != nil {
		return c.refuse(ctx, r)
	}
	p, r := parsePayload(ctx.Body())
	if r != nil {
		return c.refuse(ctx, r)
	}
	ev, site, r := c.resolvePage(&p)
	if r != nil {
		return c.refuse(ctx, r)
	}
	now := c.opts.Now().UTC()
	if reason := c.dropReason(ctx, site); reason != "" {
		return c.drop(ctx, site, reason, now)
	}
	ip := c.opts.Proxies.ClientIP(remoteAddr(ctx), forwardedFor(ctx))
	// A view of the header, not a copy: it is only read during this request (the
	// exclusions, the visitor hash, and the user-agent parser, which copies what it
	// keeps in its cache).
	userAgent := viewString(ctx.Request().Header.UserAgent())
	// The admin's exclusions see the full address, and nothing about an excluded
	// visitor is kept: not the address, not a log line, only the count.
	if c.opts.Exclusions != nil && c.opts.Exclusions.Excluded(site.Domain, ip, userAgent) {
		return c.drop(ctx, site, dropExcluded, now)
	}
	if !c.limiter.allow(ip, now) {
		return c.refuse(ctx, reject(reasonRateLimited, "too many events from this address; slow down"))
	}
	ua := c.ua.Parse(userAgent)
	if ua.Bot {
		return c.drop(ctx, site, dropBot, now)
	}
	if impossibleViewport(&p) {
		return c.drop(ctx, site, dropViewport, now)
	}
	// Referrer spam is sent by programs to advertise the referrer: the event is dropped,
	// not only its source.
	if p.Name == eventPageview && p.Referrer != "" && c.opts.ReferrerSpam.Has(c.refs.Parse(p.Referrer, site.Domain).Host) {
		return c.drop(ctx, site, dropReferrerSpam, now)
	}
	salt := c.opts.Salts.For(now)
	if salt == nil {
		return c.refuse(ctx, reject(reasonStarting, "collector is starting; retry shortly"))
	}
	visitor := privacy.VisitorID(salt, site.Domain, ip, userAgent)
	session, ok := c.sessions.admit(visitor, now, p.Name == eventPageview)
	if !ok {
		return c.drop(ctx, site, dropBurst, now)
	}
	c.enrich(&ev, &p, ip, visitor, session, now)
	ev.Browser, ev.BrowserVersion, ev.OS, ev.OSVersion, ev.Device = ua.Browser, ua.BrowserVersion, ua.OS, ua.OSVersion, ua.Device
	if c.held.Add(1) > int64(c.opts.QueueSize) {
		c.held.Add(-1)
		c.warnOncePerSecond(&c.lastFullWarn, slog.LevelWarn, "queue full: answering 503 until the writer catches up",
			"held", c.held.Load(), "queue_size", c.opts.QueueSize)
		return c.refuse(ctx, reject(reasonQueueFull, "collector overloaded; retry later"))
	}
	// held bounds what the queue holds.
	if c.alog == nil {
		c.queue.Push(0, &ev)
	} else if err := c.alog.Append(&ev, func(seq uint64) { c.queue.Push(seq, &ev) }); errors.Is(err, acceptlog.ErrClosed) {
		c.held.Add(-1)
		return c.refuse(ctx, reject(reasonStopping, "collector is stopping; retry shortly"))
	} else if err != nil {
		// The event is queued and will be stored as usual; only a kill before that
		// would lose it.
		c.warnOncePerSecond(&c.lastLogWarn, slog.LevelError, "accept log write failed: events are queued but would not survive a kill", "err", err)
	}
	return c.accepted(ctx)
}

// warnOncePerSecond logs msg at most once a second per gate (the Unix second of its last
// line), so an overload does not flood the log.
func (c *Collector) warnOncePerSecond(gate *atomic.Int64, level slog.Level, msg string, args ...any) {
	now := c.opts.Now().Unix()
	if last := gate.Load(); now > last && gate.CompareAndSwap(last, now) {
		c.opts.Log.Log(context.Background(), level, msg, args...)
	}
}

func (c *Collector) accepted(ctx *fiber.Ctx) error {
	c.m.accepted.Inc()
	allowAnyOrigin(ctx)
	ctx.Status(fiber.StatusAccepted)
	return nil
}

// checkContentType accepts what sendBeacon (text/plain) and fetch send, and no content
// type at all; anything else is refused.
func checkContentType(ct string) *rejection {
	mediaType, _, _ := strings.Cut(ct, ";")
	switch strings.ToLower(strings.TrimSpace(mediaType)) {
	case "", "text/plain", "application/json":
		return nil
	}
	return reject(reasonBadType, "send the event as application/json or text/plain")
}

// resolvePage checks the site and the page URL and fills the page fields of an event.
func (c *Collector) resolvePage(p *payload) (store.Event, sites.Site, *rejection) {
	site, r := c.lookupSite(p.Site)
	if r != nil {
		return store.Event{}, sites.Site{}, r
	}
	domain := site.Domain
	page, err := c.pages.Parse(p.URL)
	if err != nil {
		return store.Event{}, sites.Site{}, reject(reasonBadURL, err.Error())
	}
	if !pageurl.BelongsTo(page.Hostname, domain) {
		return store.Event{}, sites.Site{}, reject(reasonForeignURL, "url host does not belong to site "+domain)
	}
	ev := store.Event{
		Site: domain, Hostname: page.Hostname, Pathname: page.Pathname,
		UTMSource: page.UTM.Source, UTMMedium: page.UTM.Medium, UTMCampaign: page.UTM.Campaign,
		UTMTerm: page.UTM.Term, UTMContent: page.UTM.Content,
	}
	return ev, site, nil
}

// lookupSite finds the registered site named in a beacon. The tracker sends the
// domain as registered, so an exact match comes first; only other spellings (upper
// case, a trailing dot, Unicode) go through normalisation, whose IDNA step cost more
// than the rest of the lookup.
func (c *Collector) lookupSite(name string) (sites.Site, *rejection) {
	if site, ok := c.opts.Sites.Lookup(name); ok {
		return site, nil
	}
	domain, err := sites.NormalizeDomain(name)
	if err != nil {
		return sites.Site{}, reject(reasonBadField, "site must be a domain such as example.com")
	}
	site, ok := c.opts.Sites.Lookup(domain)
	if !ok {
		return sites.Site{}, reject(reasonUnknownSite, "site "+domain+" is not registered")
	}
	return site, nil
}

// dropReason says why an event must be answered but not stored: prefetches, Global
// Privacy Control, and Do Not Track where the site honours it.
func (c *Collector) dropReason(ctx *fiber.Ctx, site sites.Site) string {
	h := &ctx.Request().Header
	if isPrefetch(h.Peek("Sec-Purpose")) || isPrefetch(h.Peek("Purpose")) || isPrefetch(h.Peek("X-Purpose")) || isPrefetch(h.Peek("X-Moz")) {
		return dropBot
	}
	if string(h.Peek("Sec-GPC")) == "1" {
		return dropGPC
	}
	if site.HonourDNT == 1 && string(h.Peek("DNT")) == "1" {
		return dropDNT
	}
	return ""
}

func isPrefetch(v []byte) bool {
	return len(v) > 0 && (bytes.Contains(bytes.ToLower(v), []byte("prefetch")) || bytes.Contains(bytes.ToLower(v), []byte("preview")))
}

// enrich fills what is derived from the request: time, referrer, geo, visitor and
// session, and the truncated address. The full address ip is used here and not kept;
// visitor is its hash (privacy.VisitorID) and session its session, both found before for
// the burst check.
func (c *Collector) enrich(ev *store.Event, p *payload, ip netip.Addr, visitor, session uint64, now time.Time) {
	ev.EventID = newEventID()
	ev.Timestamp = c.clock.stamp(now)
	ev.Name = p.Name
	if p.Name == eventPageview && p.Referrer != "" {
		ref := c.refs.Parse(p.Referrer, ev.Site)
		ev.ReferrerHost, ev.ReferrerSource = ref.Host, ref.Source
	}
	loc := c.opts.Geo.Lookup(ip)
	ev.CountryCode, ev.Region, ev.City = loc.CountryCode, loc.Region, loc.City
	ev.VisitorID = visitor
	ev.SessionID = session
	ev.IP = c.opts.Truncator.Truncate(ip).String()
	ev.Width = uint16(p.Width.value)
	ev.EngagedMS = uint32(p.EngagedMS.value)
	ev.Scroll = uint8(p.Scroll.value)
	if len(p.Props) > 0 {
		ev.PropKeys = make([]string, len(p.Props))
		ev.PropValues = make([]string, len(p.Props))
		for i, pr := range p.Props {
			ev.PropKeys[i], ev.PropValues[i] = pr.key, pr.value
		}
	}
}

func remoteAddr(ctx *fiber.Ctx) netip.Addr {
	addr, _ := netip.AddrFromSlice(ctx.Context().RemoteIP())
	return addr.Unmap()
}

// forwardedFor joins every X-Forwarded-For header in order, as proxies may add several.
// A single header is returned as a view of the request's memory, valid only during the
// request: the client address is parsed from it and nothing keeps it.
func forwardedFor(ctx *fiber.Ctx) string {
	values := ctx.Request().Header.PeekAll(fiber.HeaderXForwardedFor)
	switch len(values) {
	case 0:
		return ""
	case 1:
		return viewString(values[0])
	}
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = string(v)
	}
	return strings.Join(parts, ",")
}

// viewString is b as a string without a copy: valid only while b's memory is (for
// request headers, until the handler returns), so it must not be kept.
func viewString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// newEventID is a random (version 4) UUID, as uuid.New makes, read straight into the
// value: uuid.New reads through an io.Reader, which costs a heap allocation per event.
func newEventID() uuid.UUID {
	var id uuid.UUID
	_, _ = rand.Read(id[:]) // crypto/rand never returns an error (it crashes instead)
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	return id
}
