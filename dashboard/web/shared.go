package web

import (
	"cmp"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/internal/sites"
)

// Shared is a shared link's view of the report page (internal/shares; the dashboard
// serves its routes): the same page and script, without the staff header, in the
// link's own paths, so nothing of the staff dashboard is linked from it.
type Shared struct {
	Path           string   // the link's page, /share/TOKEN; its API lies under Path + "/api"
	CSV            bool     // CSV downloads offered (the link's API refuses them otherwise)
	FrameAncestors []string // origins whose pages may frame it; none: no page may
	Error          string   // the lock page: what went wrong with the password
}

// API is the report API of the link: Path/api/stats/REPORT.
func (s *Shared) API() string { return s.Path + "/api/stats/" }

// Funnels lists the site's funnels for the link.
func (s *Shared) Funnels() string { return s.Path + "/api/funnels" }

// RenderSharedReport answers with the report page of site for a shared link.
func (f *Frontend) RenderSharedReport(c *fiber.Ctx, site sites.Site, s Shared) error {
	d := pageData{Header: Header{Title: site.Domain, Site: site.Domain},
		Timezone: cmp.Or(site.Timezone, sites.DefaultTimezone), Shared: &s}
	return f.render(c, fiber.StatusOK, "report", d, s.FrameAncestors)
}

// RenderShareLock answers with the password form of a shared link (status 401, or
// 429 when its attempts are throttled), framable like the link's report.
func (f *Frontend) RenderShareLock(c *fiber.Ctx, status int, s Shared) error {
	d := pageData{Header: Header{Title: "Password needed"}, Shared: &s}
	return f.render(c, status, "sharelock", d, s.FrameAncestors)
}

// RenderShareGone answers a link that does not work: the same page and status for a
// link that never existed, was revoked or has expired, and never framable (the origins
// of a dead link are not to be told).
func (f *Frontend) RenderShareGone(c *fiber.Ctx) error {
	d := pageData{Header: Header{Title: "Link not available"},
		Message: "This link does not exist or no longer works. Ask whoever sent it to you for a new one."}
	return f.render(c, fiber.StatusNotFound, "forbidden", d, nil)
}
