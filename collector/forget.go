package collector

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/internal/erasure"
	"github.com/websystems/loendur/internal/privacy"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/literal"
)

// Limits of the self-service endpoints: an erasure rewrites table parts, so forget is
// allowed rarely; /api/me is a count. Each has a limit per client address and one for
// all addresses together, so that many addresses cannot keep the database rewriting.
const (
	forgetPerMinute       = 3
	forgetGlobalPerMinute = 30
	mePerMinute           = 30
	meGlobalPerMinute     = 600
	forgetTimeout         = 2 * time.Minute
	RequestedByForget     = "visitor (self-service forget)"
)

// Answers of the self-service endpoints besides the beacon's rejection reasons.
const (
	reasonForbiddenOrigin = "forbidden_origin" // 403: a page of another site called
	reasonErasureFailed   = "erasure_failed"   // 503
	reasonUnavailable     = "unavailable"      // 503: /api/me could not count
)

// privacyEndpoints holds the state of /api/forget and /api/me: their rate limits.
// Erasures run one at a time in Options.Erasure.
type privacyEndpoints struct {
	forgetLimit *minuteLimiter
	meLimit     *minuteLimiter
}

func newPrivacyEndpoints() *privacyEndpoints {
	return &privacyEndpoints{
		forgetLimit: newMinuteLimiter(forgetPerMinute, forgetGlobalPerMinute),
		meLimit:     newMinuteLimiter(mePerMinute, meGlobalPerMinute),
	}
}

func (c *Collector) privacy() *privacyEndpoints { return c.privacyEP }

// mountPrivacy registers POST /api/forget and GET /api/me (with CORS preflights).
func (c *Collector) mountPrivacy(app fiber.Router) {
	app.Post("/api/forget", c.handleForget)
	app.Options("/api/forget", c.privacyPreflight("POST, OPTIONS"))
	app.Get("/api/me", c.handleMe)
	app.Options("/api/me", c.privacyPreflight("GET, OPTIONS"))
}

// Who may call /api/me and /api/forget. They act on the browser that sends them (its
// address and user agent make its visitor id), so a page of any origin could otherwise
// read which sites this browser visited, or erase its visits, without the visitor
// knowing. A browser sends Origin with every cross-origin fetch and every POST; a
// request with an Origin must come from a web page (http or https) of the site it names
// or of a subdomain, as the tracker script's CORS does (sites.Registry.AllowsOriginFor).
// A request without Origin is not another site's page at work (curl, a link typed
// into the address bar): it is allowed, and a page that sends one cannot read the answer.

// checkOrigin refuses a request whose Origin is not a page of site, and otherwise lets
// that origin read the answer.
func (c *Collector) checkOrigin(ctx *fiber.Ctx, site string) *rejection {
	ctx.Set(fiber.HeaderVary, fiber.HeaderOrigin)
	origin := ctx.Get(fiber.HeaderOrigin)
	if origin == "" {
		return nil
	}
	if !c.opts.Sites.AllowsOriginFor(origin, site) {
		return reject(reasonForbiddenOrigin, "only pages of the site itself may call this")
	}
	// Fiber reuses request memory after the handler returns: set a copy.
	ctx.Set(fiber.HeaderAccessControlAllowOrigin, strings.Clone(origin))
	return nil
}

// privacyPreflight answers a CORS preflight of /api/me or /api/forget for a page of a
// registered site (of the site in the query, when there is one) and refuses any other.
func (c *Collector) privacyPreflight(methods string) fiber.Handler {
	return func(ctx *fiber.Ctx) error {
		site := ""
		if raw := ctx.Query("site"); raw != "" {
			site, _ = sites.NormalizeDomain(raw)
		}
		// Only a page asks for a preflight: one without Origin is refused too.
		r := reject(reasonForbiddenOrigin, "only pages of the site itself may call this")
		if ctx.Get(fiber.HeaderOrigin) != "" {
			r = c.checkOrigin(ctx, site)
		}
		if r != nil {
			return c.refusePrivacy(ctx, endpointOf(ctx), r)
		}
		ctx.Set(fiber.HeaderAccessControlAllowMethods, methods)
		ctx.Set(fiber.HeaderAccessControlAllowHeaders, "Content-Type")
		ctx.Set(fiber.HeaderAccessControlMaxAge, "600")
		return ctx.SendStatus(fiber.StatusNoContent)
	}
}

func endpointOf(ctx *fiber.Ctx) string {
	if strings.HasSuffix(ctx.Path(), "/forget") {
		return "forget"
	}
	return "me"
}

// refusePrivacy answers a refused /api/me or /api/forget request: the reason in a
// header and a JSON body, counted by endpoint (not as a beacon rejection).
func (c *Collector) refusePrivacy(ctx *fiber.Ctx, endpoint string, r *rejection) error {
	c.m.visitorRequests.WithLabelValues(endpoint, r.Reason).Inc()
	ctx.Set("X-Loendur-Reason", r.Reason)
	if r.Reason == reasonRateLimited {
		ctx.Set(fiber.HeaderRetryAfter, "60")
	}
	return writeError(ctx, r)
}

// saltWindow is when the oldest of n live salts began (salts are per UTC day, newest is
// today's): no event before it can carry a visitor id made with a live salt.
func saltWindow(now time.Time, n int) time.Time {
	return now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(n - 1))
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

// privacySite reads and checks the site of a self-service request and the page that
// sent it: another site's page is refused before anything else is looked at, so it
// learns nothing, not even whether the site is registered.
func (c *Collector) privacySite(ctx *fiber.Ctx, raw string) (string, *rejection) {
	domain, err := sites.NormalizeDomain(raw)
	if raw == "" || err != nil {
		return "", reject(reasonBadField, "site must be a domain such as example.com")
	}
	if r := c.checkOrigin(ctx, domain); r != nil {
		return "", r
	}
	if _, ok := c.opts.Sites.Lookup(domain); !ok {
		return "", reject(reasonUnknownSite, "site "+domain+" is not registered")
	}
	return domain, nil
}

// handleForget is POST /api/forget {"site": "example.com"}: it erases every event of
// this browser on that site that can still be linked to it (those under the salts not
// yet deleted: today's and yesterday's, so only those days' rows are read and
// rewritten), from the database and the spool, records the request in the erasure
// ledger when something was erased, and answers how many events went and the period
// searched. Older events cannot be linked to anyone: their salt is gone.
func (c *Collector) handleForget(ctx *fiber.Ctx) error {
	const ep = "forget"
	ctx.Set(fiber.HeaderCacheControl, "no-store")
	if r := checkContentType(ctx.Get(fiber.HeaderContentType)); r != nil {
		return c.refusePrivacy(ctx, ep, r)
	}
	var body struct {
		Site string `json:"site"`
	}
	if err := json.Unmarshal(ctx.Body(), &body); err != nil {
		return c.refusePrivacy(ctx, ep, reject(reasonBadBody, `send {"site": "example.com"}`))
	}
	site, r := c.privacySite(ctx, body.Site)
	if r != nil {
		return c.refusePrivacy(ctx, ep, r)
	}
	ids, ip := c.visitorIDs(ctx, site)
	now := c.opts.Now().UTC()
	if ok, global := c.privacy().forgetLimit.allow(ip, now); !ok {
		msg := "too many erasure requests from this address; try again in a minute"
		if global {
			msg = "too many erasure requests right now; try again in a minute"
		}
		return c.refusePrivacy(ctx, ep, reject(reasonRateLimited, msg))
	}
	if len(ids) == 0 {
		return c.refusePrivacy(ctx, ep, reject(reasonStarting, "collector is starting; retry shortly"))
	}
	from := saltWindow(now, len(ids))
	// The service first has the writer store or spool the events accepted before the
	// request, so the erasure reaches them; if it cannot, the database is not
	// answering: say so rather than report an erasure that missed them. Anyone can send
	// this request: a ledger row (kept for ever, re-applied after a restore) is written
	// only when something was erased; with nothing erased there is nothing a backup
	// could bring back.
	res, err := c.opts.Erasure.Erase(context.WithoutCancel(ctx.UserContext()), erasure.Request{
		Selector:    erasure.Selector{Site: site, Kind: erasure.KindVisitor, Visitors: ids, From: from},
		RequestedBy: RequestedByForget, RecordOnlyErased: true, Timeout: forgetTimeout,
	})
	if err != nil {
		c.opts.Log.Error("forget: erasure failed", "site", site, "queue_not_stored", errors.Is(err, erasure.ErrQueueNotStored), "err", err)
		return c.refusePrivacy(ctx, ep, reject(reasonErasureFailed, "the erasure could not be completed; please try again later"))
	}
	c.m.visitorRequests.WithLabelValues(ep, "ok").Inc()
	return ctx.JSON(forgetAnswer{Erased: res.Events + uint64(res.Spooled), From: from.Format(time.RFC3339), To: now.Format(time.RFC3339)})
}

// handleMe is GET /api/me?site=example.com: this browser's current pseudonymous id on
// the site and how many stored events can still be linked to it (under today's and
// yesterday's salts, so only those days are counted). It shows no pages: people behind
// one address with the same browser share an id and must not see each other's visits.
func (c *Collector) handleMe(ctx *fiber.Ctx) error {
	const ep = "me"
	ctx.Set(fiber.HeaderCacheControl, "no-store")
	site, r := c.privacySite(ctx, ctx.Query("site"))
	if r != nil {
		return c.refusePrivacy(ctx, ep, r)
	}
	ids, ip := c.visitorIDs(ctx, site)
	now := c.opts.Now().UTC()
	if ok, _ := c.privacy().meLimit.allow(ip, now); !ok {
		return c.refusePrivacy(ctx, ep, reject(reasonRateLimited, "too many requests; try again in a minute"))
	}
	if len(ids) == 0 {
		return c.refusePrivacy(ctx, ep, reject(reasonStarting, "collector is starting; retry shortly"))
	}
	qctx, cancel := context.WithTimeout(ctx.UserContext(), 10*time.Second)
	defer cancel()
	n, err := countVisitorEvents(qctx, c.opts.DB, site, ids, saltWindow(now, len(ids)))
	if err != nil {
		c.opts.Log.Error("api/me: count events", "err", err)
		return c.refusePrivacy(ctx, ep, reject(reasonUnavailable, "try again later"))
	}
	c.m.visitorRequests.WithLabelValues(ep, "ok").Inc()
	return ctx.JSON(meAnswer{VisitorID: strconv.FormatUint(ids[0], 10), Events: n})
}

// countVisitorEvents counts the events of ids on site since from: the partitions and
// the primary key (site, day, …) keep the count to those days.
func countVisitorEvents(ctx context.Context, db store.Store, site string, ids []uint64, from time.Time) (uint64, error) {
	var rows []struct {
		N uint64 `ch:"n"`
	}
	if err := db.Select(ctx, &rows, "SELECT count() AS n FROM events WHERE site = ? AND timestamp >= ? AND visitor_id IN "+literal.UInt64List(ids),
		site, from.UTC()); err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, nil
	}
	return rows[0].N, nil
}

// minuteLimiter allows n requests per address and total requests in all in any minute,
// in memory. The window slides: it keeps the times of the requests it allowed in the
// last minute, so no turn of a clock's minute lets twice the limit through. Only allowed
// requests are remembered, so the total also bounds how many addresses are live.
type minuteLimiter struct {
	n, total int
	mu       sync.Mutex
	all      []time.Time                // the allowed requests of the last minute, oldest first
	byAddr   map[netip.Addr][]time.Time // the same per address
}

func newMinuteLimiter(n, total int) *minuteLimiter {
	return &minuteLimiter{n: n, total: total, byAddr: map[netip.Addr][]time.Time{}}
}

// allow counts a request from addr; global says a refusal is for the total.
func (l *minuteLimiter) allow(addr netip.Addr, now time.Time) (ok, global bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	since := now.Add(-time.Minute)
	l.all = after(l.all, since)
	if len(l.byAddr) > l.total { // more addresses than can be live: forget the others
		for a, times := range l.byAddr {
			if len(after(times, since)) == 0 {
				delete(l.byAddr, a)
			}
		}
	}
	times := after(l.byAddr[addr], since)
	if len(times) >= l.n {
		return false, false
	}
	if len(l.all) >= l.total {
		return false, true
	}
	l.byAddr[addr] = append(times, now)
	l.all = append(l.all, now)
	return true, false
}

// after drops the times up to since from times, which is in order.
func after(times []time.Time, since time.Time) []time.Time {
	i := 0
	for i < len(times) && !times[i].After(since) {
		i++
	}
	return times[i:]
}
