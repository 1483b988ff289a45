package web

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/dashboard/auth"
)

// Frontend renders every page of the dashboard, report and admin pages alike: one
// layout and header (templates/layout.html), one style sheet and set of assets
// (static/, dist/), one set of security headers.
type Frontend struct {
	log    *slog.Logger
	assets *assets
	pages  map[string]*template.Template
}

// Options configure a Frontend.
type Options struct {
	Log *slog.Logger
	// Pages holds more pages, NAME.html each (the admin pages): each defines "content",
	// shown in the layout's <main>, and may define templates of its own.
	Pages fs.FS
	// Funcs are more template functions for Pages.
	Funcs template.FuncMap
}

// Header is what the layout needs of every page: embed it in a page's data.
type Header struct {
	Title    string
	User     *auth.User // nil: signed out, no header bar (the sign-in page)
	CSRF     string     // sent back with every state change (logout, forms, funnels)
	SiteMenu []string   // the sites the caller may read, sorted
	Site     string     // the site whose reports are shown, if any
	Notice   string     // what just happened
	Error    string     // what went wrong, for the person to fix
	Secret   string     // shown once: a generated password or a new API key
}

// NewHeader is the header of a page for the caller of c.
func NewHeader(c *fiber.Ctx, title string, siteMenu []string) Header {
	return Header{Title: title, User: auth.CurrentUser(c), CSRF: auth.CSRFToken(c), SiteMenu: siteMenu}
}

// reportPages are this package's own page templates.
var reportPages = []string{"report", "forbidden", "nosites", "sharelock", "allsites"}

// New loads the assets and parses every page.
func New(opts Options) (*Frontend, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	as, err := newAssets()
	if err != nil {
		return nil, fmt.Errorf("dashboard assets: %w", err)
	}
	f := &Frontend{log: opts.Log, assets: as, pages: map[string]*template.Template{}}
	funcs := template.FuncMap{"asset": as.url, "chartReady": func() bool { return as.chartReady }}
	for k, v := range opts.Funcs {
		funcs[k] = v
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(embedded, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard layout: %w", err)
	}
	own, err := fs.Sub(embedded, "templates")
	if err != nil {
		return nil, err
	}
	if err := f.addPages(layout, own, reportPages); err != nil {
		return nil, err
	}
	if opts.Pages != nil {
		names, err := fs.Glob(opts.Pages, "*.html")
		if err != nil {
			return nil, err
		}
		for i := range names {
			names[i] = strings.TrimSuffix(names[i], ".html")
		}
		if err := f.addPages(layout, opts.Pages, names); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// addPages parses each NAME.html of fsys into its own copy of the layout, so that every
// page can define "content" (or "main") its way.
func (f *Frontend) addPages(layout *template.Template, fsys fs.FS, names []string) error {
	for _, name := range names {
		if _, dup := f.pages[name]; dup || name == "layout" {
			return fmt.Errorf("dashboard page %s: defined twice", name)
		}
		t, err := layout.Clone()
		if err == nil {
			t, err = t.ParseFS(fsys, path.Clean(name+".html"))
		}
		if err != nil {
			return fmt.Errorf("dashboard page %s: %w", name, err)
		}
		f.pages[name] = t
	}
	return nil
}

// RegisterAssets serves GET /assets/*: script, styles and the charting library, with
// ETag and Cache-Control. Register it before the authentication middleware: the
// sign-in page needs the style sheet too.
func (f *Frontend) RegisterAssets(r fiber.Router) {
	r.Get("/assets/*", f.assets.serve)
}

// Render answers with page rendered from data (a struct embedding Header), with the
// pages' security headers: never framed.
func (f *Frontend) Render(c *fiber.Ctx, status int, page string, data any) error {
	return f.render(c, status, page, data, nil)
}

// render answers with page, framable by the pages of frameAncestors only (none: by no
// page at all).
func (f *Frontend) render(c *fiber.Ctx, status int, page string, data any, frameAncestors []string) error {
	var b strings.Builder
	if err := f.execute(&b, page, data); err != nil {
		f.log.Error("render page", "page", page, "err", err)
		return fiber.NewError(fiber.StatusInternalServerError, "could not render the page")
	}
	setPageHeaders(c, frameAncestors)
	c.Type("html", "utf-8")
	return c.Status(status).SendString(b.String())
}

func (f *Frontend) execute(w io.Writer, page string, data any) error {
	t := f.pages[page]
	if t == nil {
		return errors.New("no such page")
	}
	return t.ExecuteTemplate(w, "layout.html", data)
}

// Security headers of every page: nothing from another origin, no inline script or
// style (the authenticator's QR code is a data: image), never cached (secrets are shown
// once), and never framed, except a shared link's pages by the origins its creator
// listed (an embed in the client's intranet).
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors %s; object-src 'none'"

// SetPageHeaders marks an HTML page as private, not embeddable and script-restricted.
func SetPageHeaders(c *fiber.Ctx) { setPageHeaders(c, nil) }

// setPageHeaders is the one place the pages' security headers are decided.
// frameAncestors are the origins whose pages may frame this one; without any, no page
// may (frame-ancestors 'none' and, for older browsers, X-Frame-Options: DENY, which
// would also refuse the listed origins and so is left out when there are some).
func setPageHeaders(c *fiber.Ctx, frameAncestors []string) {
	ancestors := make([]string, 0, len(frameAncestors))
	for _, o := range frameAncestors {
		if headerSafeOrigin(o) {
			ancestors = append(ancestors, o)
		}
	}
	if len(ancestors) == 0 {
		c.Set(fiber.HeaderContentSecurityPolicy, fmt.Sprintf(contentSecurityPolicy, "'none'"))
		c.Set(fiber.HeaderXFrameOptions, "DENY")
	} else {
		c.Set(fiber.HeaderContentSecurityPolicy, fmt.Sprintf(contentSecurityPolicy, strings.Join(ancestors, " ")))
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderReferrerPolicy, "same-origin")
}

// headerSafeOrigin is a last check that an origin (validated by internal/shares when
// the link was made) cannot add a directive or a keyword to the policy: only the
// characters of scheme://host:port and bracketed IPv6, no quotes, spaces, ; or *.
func headerSafeOrigin(o string) bool {
	if !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") {
		return false
	}
	for _, r := range o {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune(":/.-[]", r)) {
			return false
		}
	}
	return true
}

// APIHeaders marks every answer under /api/v1 (JSON, CSV downloads, and errors, the
// authentication middleware's refusals included) as not to be stored by any cache,
// shared or the browser's (reports and exports hold personal data, /me the CSRF token),
// and not to be sniffed as another type (a CSV or JSON body must never become HTML or
// script). HTML pages get the same two from SetPageHeaders.
func APIHeaders(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	return c.Next()
}
