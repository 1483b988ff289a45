// Package web is the dashboard's front end: the one layout, header, style sheet, assets
// and security headers of every page (Frontend), the one place an error becomes the
// dashboard's answer (Answer, APIError), and the report page: an HTML shell rendered on
// the server, and one hand-written script (static/app.js) that fetches the JSON API
// (/api/v1/stats/...) and draws the reports with uPlot, which is copied from npm into
// dist/ by `make assets` and embedded into the binary. The admin pages (package
// dashboard) bring their own page templates and render through the Frontend.
//
// The pages send a strict Content-Security-Policy (default-src 'self'): no inline script
// or style, no third-party request of any kind.
package web

import (
	"cmp"
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/sites"
)

// Deps is what the report pages need from the rest of the dashboard. The
// authentication middleware (dashboard/auth) must run before the routes Register adds,
// so that auth.CurrentUser answers.
type Deps struct {
	Sites *sites.Registry
	Front *Frontend
	// CanShare reports whether u may create shared links of site: the report page then
	// links to its Share page. nil: no link.
	CanShare func(ctx context.Context, u *auth.User, site string) bool
	// Origin is the address sites reach this server at (https://stats.example.com), for
	// the set-up card's test address.
	Origin func(c *fiber.Ctx) string
	// TrackerSnippet is the tag site's pages load the tracker with, as the site's settings
	// (consent mode, Do Not Track) want it: the set-up card shows it.
	TrackerSnippet func(c *fiber.Ctx, site sites.Site) string
	// GeoIP says whether a GeoIP database is configured: without one the Locations card
	// says how to add it.
	GeoIP bool
}

const loginPath = "/login"

// Register adds the report pages to r:
//
//	GET /              → every site the caller may read (a manager with one site: its report)
//	GET /sites         → every site the caller may read
//	GET /sites/:domain → the report page (period and filters live in the query string);
//	                     a site that never received an event shows its tracker snippet
func Register(r fiber.Router, deps Deps) error {
	if deps.Sites == nil || deps.Front == nil || deps.Origin == nil || deps.TrackerSnippet == nil {
		return errors.New("dashboard web: Deps.Sites, Front, Origin and TrackerSnippet are required")
	}
	h := &handlers{deps: deps}
	r.Get("/", h.home)
	r.Get("/sites", h.allSites)
	r.Get("/sites/:domain", h.report)
	return nil
}

type handlers struct {
	deps Deps
}

// pageData is what the report pages receive.
type pageData struct {
	Header
	Timezone string
	Message  string
	Shared   *Shared // set: the page of a shared link
	CanShare bool    // the caller may share the site (a link to its Share page)
	Snippet  string  // the tracker snippet of Site
	// HonourDNT: the site leaves out browsers that send Do Not Track (the set-up card
	// says so).
	HonourDNT bool
	Origin    string // this server's public address
	GeoIP     bool   // a GeoIP database is configured
}

// home shows every site the caller may read; a manager with a single site goes
// straight to its report.
func (h *handlers) home(c *fiber.Ctx) error {
	u := auth.CurrentUser(c)
	if u == nil {
		return c.Redirect(loginPath, fiber.StatusSeeOther)
	}
	readable := ReadableSites(h.deps.Sites, u)
	if len(readable) == 1 && !u.IsAdmin() {
		return c.Redirect("/sites/"+url.PathEscape(readable[0]), fiber.StatusSeeOther)
	}
	return h.allSites(c)
}

// allSites renders the all-sites page: a row per site, whose figures the script fills
// from GET /api/v1/summary.
func (h *handlers) allSites(c *fiber.Ctx) error {
	u := auth.CurrentUser(c)
	if u == nil {
		return c.Redirect(loginPath+"?next=/sites", fiber.StatusSeeOther)
	}
	d := h.base(c, "All sites")
	if len(d.SiteMenu) == 0 {
		return h.deps.Front.Render(c, fiber.StatusOK, "nosites", h.base(c, "No sites"))
	}
	return h.deps.Front.Render(c, fiber.StatusOK, "allsites", d)
}

// Forbidden answers 403 with the styled "No access" page saying msg.
func (f *Frontend) Forbidden(c *fiber.Ctx, h Header, msg string) error {
	return f.Render(c, fiber.StatusForbidden, "forbidden", pageData{Header: h, Message: msg})
}

// report renders the report page of one site. An unknown site and a site the caller may
// not read get the same answer, so domains cannot be probed.
func (h *handlers) report(c *fiber.Ctx) error {
	u := auth.CurrentUser(c)
	if u == nil {
		return c.Redirect(loginPath+"?next="+url.QueryEscape(string(c.Request().URI().RequestURI())), fiber.StatusSeeOther)
	}
	domain, err := url.PathUnescape(c.Params("domain"))
	if err != nil {
		domain = ""
	}
	domain = strings.ToLower(domain)
	site, known := h.deps.Sites.Lookup(domain)
	if !known || !u.CanRead(domain) {
		d := h.base(c, "No access")
		d.Message = "This site does not exist or you have no access to it."
		return h.deps.Front.Render(c, fiber.StatusForbidden, "forbidden", d)
	}
	d := h.base(c, domain)
	d.Site = site.Domain
	d.Timezone = cmp.Or(site.Timezone, sites.DefaultTimezone)
	d.CanShare = h.deps.CanShare != nil && h.deps.CanShare(c.UserContext(), u, site.Domain)
	d.Origin = h.deps.Origin(c)
	d.GeoIP = h.deps.GeoIP
	d.Snippet = h.deps.TrackerSnippet(c, site)
	d.HonourDNT = site.HonourDNT == 1
	return h.deps.Front.Render(c, fiber.StatusOK, "report", d)
}

func (h *handlers) base(c *fiber.Ctx, title string) pageData {
	return pageData{Header: NewHeader(c, title, ReadableSites(h.deps.Sites, auth.CurrentUser(c)))}
}

// ReadableSites lists, sorted, the registered sites u may read: the header's site menu.
func ReadableSites(registry *sites.Registry, u *auth.User) []string {
	var out []string
	for _, d := range registry.Domains() {
		if u.CanRead(d) {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}
