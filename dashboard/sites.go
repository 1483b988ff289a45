package dashboard

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones are validated the same on every host

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/httperr"
	"github.com/websystems/loendur/internal/notice"
	"github.com/websystems/loendur/internal/sites"
)

// MaxRetentionMonths is the longest retention a site may have (ten years). More than
// notice.MaxRetentionMonths (25, the CNIL's limit for audience measurement without
// consent) is allowed, and the site's privacy page then says it needs consent.
const MaxRetentionMonths = 120

type siteView struct {
	Domain          string    `json:"domain"`
	Created         time.Time `json:"created"`
	Timezone        string    `json:"timezone"`
	RetentionMonths int       `json:"retention_months"`
	HonourDNT       bool      `json:"honour_dnt"`
	// ExcludedUserAgents and ExcludedAddresses are shown on the Sites page only (the API
	// has /sites/:domain/exclusions), one entry a line.
	ExcludedUserAgents string `json:"-"`
	ExcludedAddresses  string `json:"-"`
	// Tracker is the script tag to embed, as the site's settings want it (its privacy
	// page explains it); only the Sites page shows it.
	Tracker string `json:"-"`
	Snippet string `json:"snippet,omitempty"` // the tracker tag, with this server's public address
}

func viewOf(s sites.Site) siteView {
	return siteView{Domain: s.Domain, Created: s.Created, Timezone: s.Timezone,
		RetentionMonths: int(s.RetentionMonths), HonourDNT: s.HonourDNT == 1}
}

// siteInput is an added or edited site; nil fields keep their value (or the default).
type siteInput struct {
	Domain          string  `json:"domain"`
	Timezone        *string `json:"timezone"`
	RetentionMonths *int    `json:"retention_months"`
	HonourDNT       *bool   `json:"honour_dnt"`
}

// readableSites lists the registered sites u may read, sorted.
func (d *Dashboard) readableSites(u *auth.User) []siteView {
	domains := d.opts.Sites.Domains()
	slices.Sort(domains)
	var out []siteView
	for _, dom := range domains {
		if s, ok := d.opts.Sites.Lookup(dom); ok && u.CanRead(dom) {
			out = append(out, viewOf(s))
		}
	}
	return out
}

func (d *Dashboard) addSite(ctx context.Context, actor *auth.User, in siteInput) (siteView, error) {
	domain, err := sites.NormalizeDomain(in.Domain)
	if err != nil {
		return siteView{}, httperr.Invalid("%v", err)
	}
	if err := d.opts.Sites.Load(ctx); err != nil {
		return siteView{}, err
	}
	if _, ok := d.opts.Sites.Lookup(domain); ok {
		return siteView{}, httperr.Invalid("%s is registered already", domain)
	}
	s := sites.Site{Domain: domain, Created: d.opts.Now().UTC().Truncate(time.Second), Timezone: sites.DefaultTimezone,
		RetentionMonths: sites.DefaultRetentionMonths, HonourDNT: 1}
	return d.saveSite(ctx, actor, "site_add", s, in)
}

func (d *Dashboard) editSite(ctx context.Context, actor *auth.User, domain string, in siteInput) (siteView, error) {
	if err := d.opts.Sites.Load(ctx); err != nil {
		return siteView{}, err
	}
	s, ok := d.opts.Sites.Lookup(domain)
	if !ok {
		return siteView{}, fmt.Errorf("site %s: %w", domain, auth.ErrNotFound)
	}
	return d.saveSite(ctx, actor, "site_update", s, in)
}

// saveSite applies in to s and writes it as the site's newest version, the way
// internal/sites does, then reloads the registry so the collector sees it at once.
func (d *Dashboard) saveSite(ctx context.Context, actor *auth.User, action string, s sites.Site, in siteInput) (siteView, error) {
	if err := applySite(&s, in); err != nil {
		return siteView{}, err
	}
	row := []any{s.Domain, s.Created, s.Timezone, s.RetentionMonths, s.HonourDNT, uint8(0), uint64(time.Now().UnixNano())}
	err := d.opts.DB.Insert(ctx, "sites", []string{"domain", "created", "timezone", "retention_months", "honour_dnt", "deleted", "version"},
		[][]any{row})
	if err != nil {
		return siteView{}, fmt.Errorf("save site %s: %w", s.Domain, err)
	}
	if err := d.opts.Sites.Load(ctx); err != nil {
		return siteView{}, err
	}
	d.auth.Audit(ctx, actor, action, s.Domain, fmt.Sprintf("timezone=%s retention_months=%d honour_dnt=%t",
		s.Timezone, s.RetentionMonths, s.HonourDNT == 1))
	return viewOf(s), nil
}

func applySite(s *sites.Site, in siteInput) error {
	if in.Timezone != nil {
		if _, err := time.LoadLocation(*in.Timezone); err != nil || *in.Timezone == "" || *in.Timezone == "Local" {
			return httperr.Invalid("time zone %q: use an IANA name such as Europe/Tallinn or UTC", *in.Timezone)
		}
		s.Timezone = *in.Timezone
	}
	if in.RetentionMonths != nil {
		m := *in.RetentionMonths
		if m < 1 || m > MaxRetentionMonths {
			return httperr.Invalid("retention must be 1 to %d months", MaxRetentionMonths)
		}
		s.RetentionMonths = uint16(m)
	}
	if in.HonourDNT != nil {
		s.HonourDNT = 0
		if *in.HonourDNT {
			s.HonourDNT = 1
		}
	}
	return nil
}

// siteForm reads the site form; an unticked checkbox is absent, so it means false.
func siteForm(c *fiber.Ctx) (siteInput, error) {
	tz, dnt := c.FormValue("timezone"), c.FormValue("honour_dnt") != ""
	in := siteInput{Domain: c.FormValue("domain"), Timezone: &tz, HonourDNT: &dnt}
	m, err := strconv.Atoi(c.FormValue("retention_months"))
	if err != nil {
		return in, httperr.Invalid("retention must be a number of months")
	}
	in.RetentionMonths = &m
	return in, nil
}

func (d *Dashboard) sitesPage(c *fiber.Ctx) error {
	return d.renderSites(c, fiber.StatusOK, d.newView(c, "Sites"))
}

func (d *Dashboard) renderSites(c *fiber.Ctx, status int, v *view) error {
	v.Sites = d.readableSites(v.User)
	if err := d.opts.Exclusions.Load(c.UserContext()); err != nil {
		d.log.Warn("load exclusions", "err", err)
	}
	for i := range v.Sites {
		r := d.opts.Exclusions.Rules(v.Sites[i].Domain)
		v.Sites[i].ExcludedUserAgents = strings.Join(r.UserAgents, "\n")
		v.Sites[i].ExcludedAddresses = strings.Join(r.Addresses, "\n")
	}
	settings, err := notice.AllSettings(c.UserContext(), d.opts.DB)
	if err != nil {
		v.Error = d.message(err)
	}
	for i, s := range v.Sites {
		v.Sites[i].Tracker = notice.TrackerSnippet(notice.Facts{Site: s.Domain, HonourDNT: s.HonourDNT, Settings: settings[s.Domain], BaseURL: d.origin(c)})
		v.Sites[i].Snippet = v.Sites[i].Tracker
	}
	return d.render(c, status, "sites", v)
}

func (d *Dashboard) addSitePage(c *fiber.Ctx) error {
	v := d.newView(c, "Sites")
	in, err := siteForm(c)
	var s siteView
	if err == nil {
		s, err = d.addSite(c.UserContext(), v.User, in)
	}
	if err != nil {
		v.Error = d.message(err)
		v.Typed = map[string]string{"domain": c.FormValue("domain"), "timezone": c.FormValue("timezone"),
			"retention_months": c.FormValue("retention_months"), "honour_dnt": c.FormValue("honour_dnt")}
		return d.renderSites(c, statusOf(err), v)
	}
	v.Notice = "Added " + s.Domain + ". Put the tracker on its pages to start counting."
	return d.seeOther(c, "/admin/sites", v)
}

func (d *Dashboard) editSitePage(c *fiber.Ctx) error {
	v := d.newView(c, "Sites")
	in, err := siteForm(c)
	var s siteView
	if err == nil {
		s, err = d.editSite(c.UserContext(), v.User, c.Params("domain"), in)
	}
	if err != nil {
		v.Error = d.message(err)
		// Shown again as typed, in this site's form.
		v.Typed = map[string]string{"edit_site": strings.Clone(c.Params("domain")), "timezone": c.FormValue("timezone"),
			"retention_months": c.FormValue("retention_months"), "honour_dnt": c.FormValue("honour_dnt")}
		return d.renderSites(c, statusOf(err), v)
	}
	v.Notice = "Saved " + s.Domain + "."
	return d.seeOther(c, "/admin/sites", v)
}

func (d *Dashboard) apiSites(c *fiber.Ctx) error {
	list := d.readableSites(auth.CurrentUser(c))
	if list == nil {
		list = []siteView{}
	}
	return c.JSON(fiber.Map{"sites": list})
}

func (d *Dashboard) apiAddSite(c *fiber.Ctx) error {
	var in siteInput
	if err := c.BodyParser(&in); err != nil {
		return d.apiError(c, httperr.Invalid("send JSON such as {\"domain\":\"example.com\"}"))
	}
	s, err := d.addSite(c.UserContext(), auth.CurrentUser(c), in)
	if err != nil {
		return d.apiError(c, err)
	}
	return c.Status(fiber.StatusCreated).JSON(s)
}

func (d *Dashboard) apiEditSite(c *fiber.Ctx) error {
	var in siteInput
	if err := c.BodyParser(&in); err != nil {
		return d.apiError(c, httperr.Invalid("send JSON such as {\"timezone\":\"Europe/Tallinn\"}"))
	}
	s, err := d.editSite(c.UserContext(), auth.CurrentUser(c), c.Params("domain"), in)
	if err != nil {
		return d.apiError(c, err)
	}
	return c.JSON(s)
}

// trackerSnippet is site's tracker tag as its settings want it (notice.TrackerSnippet);
// without its privacy settings (a failed read, logged) it is the default tag.
func (d *Dashboard) trackerSnippet(c *fiber.Ctx, site sites.Site) string {
	settings, err := notice.LoadSettings(c.UserContext(), d.opts.DB, site.Domain)
	if err != nil {
		d.log.Warn("tracker snippet", "err", err)
	}
	return notice.TrackerSnippet(notice.Facts{Site: site.Domain, HonourDNT: site.HonourDNT == 1, Settings: settings, BaseURL: d.origin(c)})
}

// origin is this server's public address (Options.PublicURL), else the address the
// page was requested at.
func (d *Dashboard) origin(c *fiber.Ctx) string {
	if d.opts.PublicURL != "" {
		return strings.TrimRight(d.opts.PublicURL, "/")
	}
	return c.BaseURL()
}
