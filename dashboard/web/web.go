// Package web is the dashboard's front end: the report page, an HTML shell rendered on
// the server, and one hand-written script (static/app.js) that fetches the JSON API
// (/api/v1/stats/...) and draws the reports with uPlot, which is copied from npm into
// dist/ by `make assets` and embedded into the binary.
//
// The pages send a strict Content-Security-Policy (default-src 'self'): no inline script
// or style, no third-party request of any kind.
package web

import (
	"cmp"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/sites"
)

// Deps is what the pages need from the rest of the dashboard. The authentication
// middleware (dashboard/auth) must run before the routes Register adds, so that
// auth.CurrentUser answers.
type Deps struct {
	Sites *sites.Registry
	Log   *slog.Logger
	// AssetsDir, when set, serves static/ from this folder on disk instead of the
	// embedded copy, so the script and styles can be edited without a rebuild
	// (development only).
	AssetsDir string
}

// Security headers of every page. default-src 'self' forbids inline scripts, inline
// styles and every other origin; the pages need nothing more.
const (
	contentSecurityPolicy = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
	loginPath             = "/login"
)

// Register adds the report pages and /assets/* to r:
//
//	GET /              → the first site the caller may read
//	GET /sites/:domain → the report page (period and filters live in the query string)
//	GET /assets/*      → script, styles and the charting library, with ETag and Cache-Control
func Register(r fiber.Router, deps Deps) error {
	if deps.Sites == nil {
		return errors.New("dashboard web: Deps.Sites is required")
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	as, err := newAssets(deps.AssetsDir)
	if err != nil {
		return fmt.Errorf("dashboard web: %w", err)
	}
	h := &handlers{deps: deps, assets: as}
	r.Get("/assets/*", as.serve)
	r.Get("/", h.home)
	r.Get("/sites/:domain", h.report)
	return nil
}

type handlers struct {
	deps   Deps
	assets *assets
}

// pageData is what every page template receives.
type pageData struct {
	Title      string
	Email      string
	Admin      bool
	CSRF       string
	Site       string
	Timezone   string
	Sites      []string
	ChartReady bool
	Asset      func(name string) string
	Message    string
}

// home sends the caller to the first site they may read.
func (h *handlers) home(c *fiber.Ctx) error {
	u := auth.CurrentUser(c)
	if u == nil {
		return c.Redirect(loginPath, fiber.StatusSeeOther)
	}
	readable := h.readableSites(u)
	if len(readable) == 0 {
		return h.render(c, fiber.StatusOK, "nosites", h.base(c, u, "No sites"))
	}
	return c.Redirect("/sites/"+url.PathEscape(readable[0]), fiber.StatusSeeOther)
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
		d := h.base(c, u, "No access")
		d.Message = "This site does not exist or you have no access to it."
		return h.render(c, fiber.StatusForbidden, "forbidden", d)
	}
	d := h.base(c, u, domain)
	d.Site = site.Domain
	d.Timezone = cmp.Or(site.Timezone, sites.DefaultTimezone)
	return h.render(c, fiber.StatusOK, "report", d)
}

func (h *handlers) base(c *fiber.Ctx, u *auth.User, title string) pageData {
	d := pageData{
		Title:      title,
		Email:      u.Email,
		Admin:      u.IsAdmin(),
		Sites:      h.readableSites(u),
		CSRF:       auth.CSRFToken(c), // sent back with every state change (funnels, logout)
		ChartReady: h.assets.chartReady,
		Asset:      h.assets.url,
	}
	return d
}

// readableSites lists, sorted, the registered sites u may read.
func (h *handlers) readableSites(u *auth.User) []string {
	var out []string
	for _, d := range h.deps.Sites.Domains() {
		if u.CanRead(d) {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}

func (h *handlers) render(c *fiber.Ctx, status int, name string, d pageData) error {
	setPageHeaders(c)
	var b strings.Builder
	if err := templates.ExecuteTemplate(&b, name, d); err != nil {
		h.deps.Log.Error("render page", "page", name, "err", err)
		return fiber.NewError(fiber.StatusInternalServerError, "could not render the page")
	}
	c.Type("html", "utf-8")
	return c.Status(status).SendString(b.String())
}

// setPageHeaders marks an HTML page as private, not embeddable and script-restricted.
func setPageHeaders(c *fiber.Ctx) {
	c.Set(fiber.HeaderContentSecurityPolicy, contentSecurityPolicy)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set(fiber.HeaderReferrerPolicy, "same-origin")
}

var templates = template.Must(template.New("").ParseFS(mustSub(embedded, "templates"), "*.html"))

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
