package collector

import (
	"context"
	"encoding/json"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/internal/erasure"
	"github.com/websystems/loendur/internal/httperr"
	"github.com/websystems/loendur/internal/privacy"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
)

// Limits of the self-service endpoints, per client address: an erasure rewrites table
// parts, so forget is allowed rarely; /api/me is a count.
const (
	forgetPerMinute   = 3
	mePerMinute       = 30
	forgetTimeout     = 2 * time.Minute
	RequestedByForget = "visitor (self-service forget)"
)

// privacyEndpoints holds the state of /api/forget and /api/me: their rate limits and
// the lock that runs one erasure at a time.
type privacyEndpoints struct {
	forgetLimit *minuteLimiter
	meLimit     *minuteLimiter
	erasing     sync.Mutex
}

func newPrivacyEndpoints() *privacyEndpoints {
	return &privacyEndpoints{forgetLimit: newMinuteLimiter(forgetPerMinute), meLimit: newMinuteLimiter(mePerMinute)}
}

func (c *Collector) privacy() *privacyEndpoints { return c.privacyEP }

// mountPrivacy registers POST /api/forget and GET /api/me (with CORS preflights).
func (c *Collector) mountPrivacy(app fiber.Router) {
	app.Post("/api/forget", c.handleForget)
	app.Options("/api/forget", handlePreflight)
	app.Get("/api/me", c.handleMe)
	app.Options("/api/me", handlePreflight)
}

type forgetAnswer struct {
	Erased uint64 `json:"erased"`
	From   string `json:"from"`
	To     string `json:"to"`
}

type meAnswer struct {
	VisitorID string `json:"visitor_id"`
	Events    uint64 `json:"events"`
}

// visitorIDs are the ids this browser (full address behind trusted proxies, user
// agent) has for site under every salt still held, newest first. The full address is
// used here and not kept.
func (c *Collector) visitorIDs(ctx *fiber.Ctx, site string) (ids []uint64, ip netip.Addr) {
	ip = c.opts.Proxies.ClientIP(remoteAddr(ctx), forwardedFor(ctx))
	ua := string(ctx.Request().Header.UserAgent())
	for _, salt := range c.opts.Salts.Live() {
		ids = append(ids, privacy.VisitorID(salt, site, ip, ua))
	}
	return ids, ip
}

// privacySite reads and checks the site of a self-service request.
func (c *Collector) privacySite(raw string) (string, *rejection) {
	domain, err := sites.NormalizeDomain(raw)
	if raw == "" || err != nil {
		return "", reject(reasonBadField, "site must be a domain such as example.com")
	}
	if _, ok := c.opts.Sites.Lookup(domain); !ok {
		return "", reject(reasonUnknownSite, "site "+domain+" is not registered")
	}
	return domain, nil
}

// handleForget is POST /api/forget {"site": "example.com"}: it erases every event of
// this browser on that site that can still be linked to it (those under the salts not
// yet deleted: today's and yesterday's), from the database and the spool, records the
// request in the erasure ledger, and answers how many events went and the period
// searched. Older events cannot be linked to anyone: their salt is gone.
func (c *Collector) handleForget(ctx *fiber.Ctx) error {
	allowAnyOrigin(ctx)
	ctx.Set(fiber.HeaderCacheControl, "no-store")
	if r := checkContentType(ctx.Get(fiber.HeaderContentType)); r != nil {
		return c.refuse(ctx, r)
	}
	var body struct {
		Site string `json:"site"`
	}
	if err := json.Unmarshal(ctx.Body(), &body); err != nil {
		return c.refuse(ctx, reject(reasonBadBody, `send {"site": "example.com"}`))
	}
	site, r := c.privacySite(body.Site)
	if r != nil {
		return c.refuse(ctx, r)
	}
	ids, ip := c.visitorIDs(ctx, site)
	now := c.opts.Now().UTC()
	if !c.privacy().forgetLimit.allow(ip, now) {
		return c.refuse(ctx, reject(reasonRateLimited, "too many erasure requests from this address; try again in a minute"))
	}
	if len(ids) == 0 {
		return c.refuse(ctx, reject(reasonQueueFull, "collector is starting; retry shortly"))
	}
	from := now.Truncate(24*time.Hour).AddDate(0, 0, -(len(ids) - 1))
	p := c.privacy()
	p.erasing.Lock()
	defer p.erasing.Unlock()
	// Events of this browser accepted before the request may still be queued: have the
	// writer store or spool them first, so the erasure reaches them. If it cannot, the
	// database is not answering: say so rather than report an erasure that missed them.
	if err := c.WaitQueued(ctx.UserContext()); err != nil {
		c.opts.Log.Error("forget: queued events not stored first; nothing erased", "site", site, "err", err)
		return answer(ctx, httperr.New(fiber.StatusServiceUnavailable, reasonErasureFailed, "the erasure could not be completed; please try again later"))
	}
	ectx, cancel := context.WithTimeout(context.Background(), forgetTimeout)
	defer cancel()
	opts := erasure.Options{RequestedBy: RequestedByForget, Now: c.opts.Now}
	if c.opts.Spool != nil {
		opts.Spool = c.opts.Spool
	}
	res, err := erasure.Erase(ectx, c.opts.DB, erasure.Selector{Site: site, Kind: erasure.KindVisitor, Visitors: ids}, opts)
	if err != nil {
		c.opts.Log.Error("forget: erasure failed", "site", site, "err", err)
		return answer(ctx, httperr.New(fiber.StatusServiceUnavailable, reasonErasureFailed, "the erasure could not be completed; please try again later"))
	}
	return ctx.JSON(forgetAnswer{Erased: res.Events + uint64(res.Spooled), From: from.Format(time.RFC3339), To: now.Format(time.RFC3339)})
}

// handleMe is GET /api/me?site=example.com: this browser's current pseudonymous id on
// the site and how many stored events can still be linked to it (under today's and
// yesterday's salts). It shows no pages: people behind one address with the same
// browser share an id and must not see each other's visits.
func (c *Collector) handleMe(ctx *fiber.Ctx) error {
	allowAnyOrigin(ctx)
	ctx.Set(fiber.HeaderCacheControl, "no-store")
	site, r := c.privacySite(ctx.Query("site"))
	if r != nil {
		return c.refuse(ctx, r)
	}
	ids, ip := c.visitorIDs(ctx, site)
	if !c.privacy().meLimit.allow(ip, c.opts.Now()) {
		return c.refuse(ctx, reject(reasonRateLimited, "too many requests from this address; try again in a minute"))
	}
	if len(ids) == 0 {
		return c.refuse(ctx, reject(reasonQueueFull, "collector is starting; retry shortly"))
	}
	qctx, cancel := context.WithTimeout(ctx.UserContext(), 10*time.Second)
	defer cancel()
	n, err := countVisitorEvents(qctx, c.opts.DB, site, ids)
	if err != nil {
		c.opts.Log.Error("api/me: count events", "err", err)
		return answer(ctx, httperr.New(fiber.StatusServiceUnavailable, reasonUnavailable, "try again later"))
	}
	return ctx.JSON(meAnswer{VisitorID: strconv.FormatUint(ids[0], 10), Events: n})
}

func countVisitorEvents(ctx context.Context, db store.Store, site string, ids []uint64) (uint64, error) {
	in := ""
	for i, id := range ids {
		if i > 0 {
			in += ", "
		}
		in += strconv.FormatUint(id, 10)
	}
	var rows []struct {
		N uint64 `ch:"n"`
	}
	if err := db.Select(ctx, &rows, "SELECT count() AS n FROM events WHERE site = ? AND visitor_id IN ("+in+")", site); err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, nil
	}
	return rows[0].N, nil
}

// minuteLimiter allows n requests per address per minute (a fixed window), in memory.
type minuteLimiter struct {
	n      int
	mu     sync.Mutex
	window time.Time
	counts map[netip.Addr]int
}

func newMinuteLimiter(n int) *minuteLimiter {
	return &minuteLimiter{n: n, counts: map[netip.Addr]int{}}
}

func (l *minuteLimiter) allow(addr netip.Addr, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w := now.Truncate(time.Minute); !w.Equal(l.window) {
		l.window = w
		clear(l.counts)
	}
	if l.counts[addr] >= l.n {
		return false
	}
	l.counts[addr]++
	return true
}
