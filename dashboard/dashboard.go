// Package dashboard is the staff dashboard's mount point: it wires authentication
// (dashboard/auth), the admin pages for sites, users, the audit log and data subjects'
// requests (export and erasure), each with a JSON twin under /api/v1, the report API
// (dashboard/reports) and the report pages (dashboard/web) onto the process's Fiber app.
package dashboard

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/dashboard/notify"
	"github.com/websystems/loendur/dashboard/reports"
	"github.com/websystems/loendur/dashboard/web"
	"github.com/websystems/loendur/internal/erasure"
	"github.com/websystems/loendur/internal/exclusion"
	"github.com/websystems/loendur/internal/privacy"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
)

// Options configure the dashboard. cmd/loendur is the only place that builds them.
type Options struct {
	DB       store.Store
	Sites    *sites.Registry
	Log      *slog.Logger
	Registry prometheus.Registerer // nil: metrics are kept but not exported
	Secure   bool                  // cookies get Secure (served behind TLS)
	Now      func() time.Time      // nil: time.Now
	// ClientIP returns the caller's address for login throttling and the audit log,
	// e.g. resolved behind trusted proxies. nil: the connection's address.
	ClientIP func(c *fiber.Ctx) netip.Addr
	// Truncator truncates an address given in a data request the way ingestion does.
	// Zero: the default prefixes.
	Truncator privacy.Truncator
	// Erasure carries out staff erasures (Data requests): the service of this process,
	// shared with its collector, whose queue and spool it reaches. nil: one of its own
	// with neither (no collector in this process).
	Erasure *erasure.Service
	// Exclusions are the sites' excluded addresses and user agents, shared with the
	// collector of this process so an edit applies at once. nil: a set of its own.
	Exclusions *exclusion.Set
	// Notify keeps the sites' e-mail reports and alerts (the Sites page's settings and
	// the unsubscribe page): the scheduler serve runs. nil: one without SMTP server,
	// for its settings only.
	Notify *notify.Service
	// Notice configures each site's privacy page (/sites/DOMAIN/privacy).
	Notice NoticeOptions
	// Salt gives the visitor-hash salt of a day while it is kept (salt.Keeper.For), for
	// imported history (internal/imports). nil: imports hash under keys of their own.
	Salt func(day time.Time) []byte
	// PublicURL is the address sites reach this server at (https://stats.example.com):
	// the tracker snippets show it. Empty: the address the page was requested at.
	PublicURL string
	// GeoIP says whether the collector looks up locations (--geoip): without it the
	// Locations card says how to add a database.
	GeoIP bool
	// SampleAbove: see reports.Deps.SampleAbove.
	SampleAbove int
}

// Dashboard serves the staff pages and API.
type Dashboard struct {
	opts    Options
	log     *slog.Logger
	auth    *auth.Service
	front   *web.Frontend
	metrics *metrics
	reports *reports.Service // set by Register
	uploads *uploads         // imports sent from the browser (imports.go)
	flashes flashes          // what a page says once after a form redirected to it
}

// New checks opts and prepares the dashboard; Register then adds its routes.
func New(opts Options) (*Dashboard, error) {
	if opts.DB == nil || opts.Sites == nil {
		return nil, errors.New("dashboard: Options.DB and Options.Sites are required")
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Erasure == nil {
		opts.Erasure = erasure.NewService(erasure.ServiceOptions{DB: opts.DB, Now: opts.Now, Log: opts.Log})
	}
	if opts.Exclusions == nil {
		opts.Exclusions = exclusion.NewSet(opts.DB, opts.Log)
	}
	a, err := auth.New(auth.Options{DB: opts.DB, Log: opts.Log, Now: opts.Now, Secure: opts.Secure, ClientIP: opts.ClientIP})
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registry)
	if err != nil {
		return nil, err
	}
	pages, err := fs.Sub(templateFiles, "templates")
	if err != nil {
		return nil, err
	}
	front, err := web.New(web.Options{Log: opts.Log, Pages: pages, Funcs: pageFuncs})
	if err != nil {
		return nil, err
	}
	if opts.Notify == nil {
		if opts.Notify, err = notify.New(notify.Options{DB: opts.DB, Sites: opts.Sites, Log: opts.Log, Now: opts.Now}); err != nil {
			return nil, err
		}
	}
	return &Dashboard{opts: opts, log: opts.Log, auth: a, front: front, metrics: m}, nil
}

// Run does the dashboard's housekeeping until ctx ends: it deletes expired login
// sessions hourly. (The per-visit table the reports read is written by
// internal/derived's finalizer, which serve starts.)
func (d *Dashboard) Run(ctx context.Context) { d.auth.Run(ctx) }

// Register adds every dashboard route to app. Call it after the collector's own
// routes: the authentication middleware it installs runs only for routes added after
// it. An error means the dashboard is incomplete and must not be served.
func (d *Dashboard) Register(app fiber.Router) error {
	rep, err := reports.New(reports.Deps{DB: d.opts.DB, Sites: d.opts.Sites, Log: d.log,
		Registry: d.opts.Registry, Now: d.opts.Now, Audit: d.auth.Audit, SampleAbove: d.opts.SampleAbove})
	if err != nil {
		return fmt.Errorf("dashboard reports: %w", err)
	}
	d.reports = rep

	// Reachable without a session: the login page, the assets (its style sheet), and
	// shared links, which must not see a staff session of the same browser.
	d.front.RegisterAssets(app)
	app.Get("/login", d.loginPage)
	app.Post("/login", d.login)
	d.registerShared(app, rep)
	// Unsubscribing from a mail needs no account: the link's token is the proof.
	d.opts.Notify.Register(app)

	// Before authentication, so its refusals get the API's headers too.
	app.Use("/api/v1", web.APIHeaders)
	app.Use(d.auth.Middleware())
	app.Post("/logout", d.logout)
	d.mountAdminPages(app.Group("/admin", auth.RequireUser, d.requireAdminPage))
	d.mountAccountPages(app.Group("/account", auth.RequireUser, d.sessionOnly))
	d.mountSharePages(app.Group("/shares", auth.RequireUser, d.sessionOnly))
	app.Get("/sites/:domain/privacy", auth.RequireUser, d.privacyPage)
	app.Post("/sites/:domain/privacy", auth.RequireUser, auth.RequireAdmin, d.savePrivacyPage)
	api := app.Group("/api/v1", auth.RequireUser)
	d.mountAPI(api)
	d.mountImports(api)
	rep.Register(api)
	if err := web.Register(app, web.Deps{Sites: d.opts.Sites, Front: d.front, CanShare: d.canShare,
		Origin: d.origin, TrackerSnippet: d.trackerSnippet, GeoIP: d.opts.GeoIP}); err != nil {
		return fmt.Errorf("dashboard pages: %w", err)
	}
	return nil
}

// requireAdminPage shows anyone but an admin the styled "No access" page (403).
func (d *Dashboard) requireAdminPage(c *fiber.Ctx) error {
	if u := auth.CurrentUser(c); u != nil && !u.IsAdmin() {
		v := d.newView(c, "No access")
		return d.front.Forbidden(c, v.Header, "This page is for admins only. Ask an admin of your agency if you need a change here.")
	}
	return auth.RequireAdmin(c)
}

func (d *Dashboard) mountAdminPages(r fiber.Router) {
	r.Get("/sites", d.sitesPage)
	r.Post("/sites", d.addSitePage)
	r.Post("/sites/:domain", d.editSitePage)
	r.Post("/sites/:domain/exclusions", d.editExclusionsPage)
	r.Post("/sites/:domain/delete", d.sessionOnly, d.deleteSitePage)
	r.Get("/sites/:domain/notify", d.notifyPage)
	r.Post("/sites/:domain/notify", d.saveNotifyPage)
	r.Get("/users", d.usersPage)
	r.Post("/users", d.addUserPage)
	r.Get("/users/:id", d.userPage)
	r.Post("/users/:id", d.editUserPage)
	r.Post("/users/:id/remove", d.removeUserPage)
	r.Post("/users/:id/keys/:key/revoke", d.sessionOnly, d.revokeUserKeyPage)
	r.Get("/audit", d.auditPage)
	r.Get("/requests", d.requestsPage)
	r.Post("/requests/preview", d.previewRequestPage)
	r.Post("/requests/export", d.exportRequestPage)
	r.Post("/requests/erase", d.eraseRequestPage)
}

func (d *Dashboard) mountAccountPages(r fiber.Router) {
	r.Get("", d.accountPage)
	r.Post("/password", d.passwordPage)
	r.Post("/keys", d.addKeyPage)
	r.Post("/keys/:id/revoke", d.revokeKeyPage)
	r.Post("/totp", d.startTOTPPage)
	r.Post("/totp/confirm", d.confirmTOTPPage)
	r.Post("/totp/disable", d.disableTOTPPage)
	r.Post("/totp/recovery", d.recoveryCodesPage)
}

// mountAPI adds the JSON twins of the admin and account pages.
func (d *Dashboard) mountAPI(r fiber.Router) {
	r.Get("/me", d.apiMe)
	r.Get("/sites", d.apiSites)
	r.Post("/sites", auth.RequireAdmin, d.apiAddSite)
	r.Patch("/sites/:domain", auth.RequireAdmin, d.apiEditSite)
	// A leaked API key must not wipe a site out.
	r.Delete("/sites/:domain", auth.RequireAdmin, d.sessionOnly, d.apiDeleteSite)
	r.Get("/sites/:domain/exclusions", auth.RequireAdmin, d.apiExclusions)
	r.Put("/sites/:domain/exclusions", auth.RequireAdmin, d.apiSaveExclusions)
	r.Get("/sites/:domain/notify", auth.RequireAdmin, d.apiNotify)
	r.Patch("/sites/:domain/notify", auth.RequireAdmin, d.apiSaveNotify)
	r.Get("/sites/:domain/privacy", d.apiPrivacy)
	r.Patch("/sites/:domain/privacy", auth.RequireAdmin, d.apiSavePrivacy)
	r.Get("/users", auth.RequireAdmin, d.apiUsers)
	r.Post("/users", auth.RequireAdmin, d.apiAddUser)
	r.Patch("/users/:id", auth.RequireAdmin, d.apiEditUser)
	r.Delete("/users/:id", auth.RequireAdmin, d.apiRemoveUser)
	r.Get("/users/:id/keys", auth.RequireAdmin, d.apiUserKeys)
	// Revoking a key needs a session: a leaked key must not revoke the owner's others.
	r.Delete("/users/:id/keys/:key", auth.RequireAdmin, d.sessionOnly, d.apiRevokeUserKey)
	r.Get("/audit", auth.RequireAdmin, d.apiAudit)
	r.Post("/requests/preview", auth.RequireAdmin, d.apiPreviewRequest)
	r.Post("/requests/export", auth.RequireAdmin, d.apiExportRequest)
	r.Post("/requests/erase", auth.RequireAdmin, d.apiEraseRequest)
	r.Get("/requests/ledger", auth.RequireAdmin, d.apiLedger)
	// Shared links: a leaked API key must not publish a site's reports.
	r.Get("/shares", d.apiListLinks)
	r.Post("/shares", d.sessionOnly, d.apiCreateLink)
	r.Put("/shares/settings", auth.RequireAdmin, d.sessionOnly, d.apiShareSettings)
	r.Delete("/shares/:id", d.sessionOnly, d.apiRevokeLink)
	r.Get("/keys", d.apiKeys)
	r.Post("/keys", d.sessionOnly, d.apiAddKey)
	r.Delete("/keys/:id", d.sessionOnly, d.apiRevokeKey)
}
