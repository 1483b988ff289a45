package reports

import (
	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/internal/httperr"
	"github.com/websystems/loendur/internal/sites"
)

// localShared holds the SharedView of a request that came through a shared link.
const localShared = "loendur.reports.shared"

// SharedView fixes a request to the reports of one site, as a shared link does: the
// site comes from the link, never from a parameter.
type SharedView struct {
	Site string // the link's site, normalised
	CSV  bool   // format=csv allowed
}

// WithSharedView marks c as a shared link's request for v; call it before the handlers
// RegisterShared adds.
func WithSharedView(c *fiber.Ctx, v SharedView) { c.Locals(localShared, &v) }

func sharedView(c *fiber.Ctx) *SharedView {
	v, _ := c.Locals(localShared).(*SharedView)
	return v
}

// RegisterShared adds the read-only part of the report API to r, a shared link's
// group, whose middleware has called WithSharedView:
//
//	GET /stats/:report  a report of the link's site (CSV only when the link allows it)
//	GET /funnels        the site's funnels
//
// ?site= may be left out; any other site than the link's gets the same 403 as an
// unknown site does for staff.
func (rep *Service) RegisterShared(r fiber.Router) {
	r.Get("/stats/:report", rep.handleStats)
	r.Get("/funnels", rep.handleListFunnels)
}

var errNoCSV = httperr.New(fiber.StatusForbidden, "", "this link does not allow CSV downloads")

// linkSite resolves ?site= for a shared link's request: left out, or exactly the
// link's own site (normalised like staff requests); anything else is errNoSite.
func (rep *Service) linkSite(v *SharedView, raw string) (sites.Site, error) {
	domain := v.Site
	if raw != "" {
		d, err := sites.NormalizeDomain(raw)
		if err != nil || d != v.Site {
			return sites.Site{}, errNoSite
		}
	}
	site, ok := rep.sites.Lookup(domain)
	if !ok {
		return sites.Site{}, errNoSite
	}
	return site, nil
}
