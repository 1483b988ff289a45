package dashboard

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/dashboard/notify"
	"github.com/websystems/loendur/dashboard/web"
	"github.com/websystems/loendur/internal/httperr"
	"github.com/websystems/loendur/internal/imports"
	"github.com/websystems/loendur/internal/notice"
	"github.com/websystems/loendur/internal/privacy"
	"github.com/websystems/loendur/internal/shares"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
)

// NoticeOptions configure the privacy page of each site (internal/notice).
type NoticeOptions struct {
	// Agency is who runs loendur: its name and its e-mail and web domains. With the
	// site's own domain they are "inside"; whoever else receives statistics is someone
	// they are shared with.
	Agency notice.Agency
	// Prefixes are the address bits ingestion keeps; nil: Options.Truncator, or the
	// defaults when that is zero.
	Prefixes *privacy.Truncator
}

// Readers lists a site's readers for internal/notice from the accounts of db.
func Readers(db store.Store) notice.Readers { return readers{db} }

// SharedLinks is what the privacy notice knows of a site's shared links in force: a
// link without embed origins is open to anyone holding it; one with origins is seen
// by those origins' hosts.
func SharedLinks(db store.Store, now func() time.Time) notice.SharedLinks {
	return sharedLinks{db, now}
}

type sharedLinks struct {
	db  store.Store
	now func() time.Time
}

func (l sharedLinks) SharedLinks(ctx context.Context, site string) ([]notice.SharedLink, error) {
	links, err := shares.ListActive(ctx, l.db, site, l.now())
	if err != nil {
		return nil, fmt.Errorf("shared links of %s: %w", site, err)
	}
	var out []notice.SharedLink
	for _, link := range links {
		if len(link.EmbedOrigins) == 0 {
			out = append(out, notice.SharedLink{Label: link.Name})
		}
		for _, origin := range link.EmbedOrigins {
			host := origin
			if u, err := url.Parse(origin); err == nil && u.Hostname() != "" {
				host = u.Hostname()
			}
			out = append(out, notice.SharedLink{Label: link.Name, Audience: host})
		}
	}
	return out, nil
}

// RawImports lists a site's imports of raw events (GoatCounter, GA4). They keep no
// identifier of the source: its visitor ids are hashed like collected ones
// (internal/imports).
func RawImports(db store.Store) notice.RawImports { return rawImports{db} }

type rawImports struct{ db store.Store }

func (r rawImports) RawImports(ctx context.Context, site string) ([]notice.RawImport, error) {
	im, err := imports.New(imports.Options{DB: r.db})
	if err != nil {
		return nil, err
	}
	records, err := im.List(ctx, site)
	if err != nil {
		return nil, err
	}
	var out []notice.RawImport
	for _, rec := range records {
		if rec.Source == imports.GoatCounter || rec.Source == imports.GA4 {
			out = append(out, notice.RawImport{Source: rec.Source + " (" + rec.FileName + ")", Events: int64(rec.Rows)})
		}
	}
	return out, nil
}

// Recipients lists the addresses that receive a site's e-mail reports and alerts.
func Recipients(db store.Store) notice.Recipients { return recipients{db} }

type recipients struct{ db store.Store }

func (r recipients) Recipients(ctx context.Context, site string) ([]string, error) {
	return notify.Recipients(ctx, r.db, site)
}

type readers struct{ db store.Store }

func (r readers) Readers(ctx context.Context, site string) ([]notice.Reader, error) {
	users, err := auth.SiteReaders(ctx, r.db, site)
	if err != nil {
		return nil, err
	}
	out := make([]notice.Reader, len(users))
	for i, u := range users {
		out[i] = notice.Reader{Email: u.Email, Admin: u.IsAdmin()}
	}
	return out, nil
}

var errNoSite = httperr.New(fiber.StatusForbidden, "", "no such site, or no access to it")

// privacySite is the site of the request if the caller may read it; an unknown site
// and a forbidden one are refused alike, so domains cannot be probed.
func (d *Dashboard) privacySite(c *fiber.Ctx) (sites.Site, error) {
	domain, err := url.PathUnescape(c.Params("domain"))
	if err != nil {
		return sites.Site{}, errNoSite
	}
	domain = strings.ToLower(domain)
	s, ok := d.opts.Sites.Lookup(domain)
	if !ok || !auth.CurrentUser(c).CanRead(domain) {
		return sites.Site{}, errNoSite
	}
	return s, nil
}

// privacyReport gathers the facts of s and builds its check and notice.
func (d *Dashboard) privacyReport(c *fiber.Ctx, s sites.Site) (notice.Report, error) {
	o := d.opts.Notice
	tr := d.opts.Truncator
	if o.Prefixes != nil {
		tr = *o.Prefixes
	} else if tr == (privacy.Truncator{}) {
		tr = privacy.Truncator{V4Bits: privacy.DefaultV4Bits, V6Bits: privacy.DefaultV6Bits}
	}
	f, err := notice.Gather(c.UserContext(), notice.Sources{DB: d.opts.DB, Truncator: tr, Agency: o.Agency, BaseURL: d.origin(c),
		Readers: Readers(d.opts.DB), Links: SharedLinks(d.opts.DB, d.opts.Now), Mail: Recipients(d.opts.DB),
		Imports: RawImports(d.opts.DB), Now: d.opts.Now}, s)
	if err != nil {
		return notice.Report{}, err
	}
	return notice.Build(f)
}

// privacyInput is a change of a site's privacy settings; nil fields stay.
type privacyInput struct {
	ConsentRequired *bool   `json:"consent_required"`
	PrivacyPage     *string `json:"privacy_page"`
}

func (d *Dashboard) savePrivacy(ctx context.Context, actor *auth.User, site string, in privacyInput) error {
	cur, err := notice.LoadSettings(ctx, d.opts.DB, site)
	if err != nil {
		return err
	}
	if in.ConsentRequired != nil {
		cur.ConsentRequired = *in.ConsentRequired
	}
	if in.PrivacyPage != nil {
		cur.PrivacyPage = *in.PrivacyPage
	}
	saved, err := notice.SaveSettings(ctx, d.opts.DB, site, cur, d.opts.Now())
	var bad *notice.ErrInvalid
	if errors.As(err, &bad) {
		return httperr.Invalid("%s", bad.Message)
	}
	if err != nil {
		return err
	}
	d.auth.Audit(ctx, actor, "site_privacy_update", site, fmt.Sprintf("consent_required=%t privacy_page=%s", saved.ConsentRequired, saved.PrivacyPage))
	return nil
}

// privacyView is what templates/privacy.html receives.
type privacyView struct {
	web.Header
	Message string // the refusal, on the forbidden page
	Report  notice.Report
	Lang    string
	Text    notice.Notice // the notice in Lang
	Preview template.HTML // the notice as a visitor's page shows it
}

func (d *Dashboard) privacyPage(c *fiber.Ctx) error {
	return d.renderPrivacy(c, fiber.StatusOK, "", "")
}

func (d *Dashboard) savePrivacyPage(c *fiber.Ctx) error {
	s, err := d.privacySite(c)
	if err == nil {
		consent, page := c.FormValue("consent_required") != "", c.FormValue("privacy_page")
		err = d.savePrivacy(c.UserContext(), auth.CurrentUser(c), s.Domain, privacyInput{ConsentRequired: &consent, PrivacyPage: &page})
	}
	if err != nil {
		if statusOf(err) == fiber.StatusForbidden {
			return d.renderPrivacy(c, 0, "", "")
		}
		return d.renderPrivacy(c, statusOf(err), "", d.message(err))
	}
	return d.renderPrivacy(c, fiber.StatusOK, "Saved the privacy settings of "+s.Domain+".", "")
}

// renderPrivacy shows the privacy page of the request's site in the language of
// ?lang= (English by default), with a notice or an error line.
func (d *Dashboard) renderPrivacy(c *fiber.Ctx, status int, note, problem string) error {
	u := auth.CurrentUser(c)
	v := &privacyView{Header: web.NewHeader(c, "Privacy", web.ReadableSites(d.opts.Sites, u))}
	s, err := d.privacySite(c)
	if err != nil {
		v.Title, v.Message = "No access", "This site does not exist or you have no access to it."
		return d.front.Render(c, fiber.StatusForbidden, "forbidden", v)
	}
	v.Lang = c.Query("lang", "en")
	if v.Lang != "en" && v.Lang != "et" {
		v.Lang = "en"
	}
	v.Site, v.Title, v.Error = s.Domain, "Privacy · "+s.Domain, problem
	if v.Report, err = d.privacyReport(c, s); err != nil {
		v.Error = d.message(err)
		return d.front.Render(c, statusOf(err), "privacy", v)
	}
	v.Text = v.Report.Notices[v.Lang]
	v.Notice = note
	// The notice's HTML comes from html/template (internal/notice): its text is escaped.
	v.Preview = template.HTML(v.Text.HTML)
	return d.front.Render(c, status, "privacy", v)
}

func (d *Dashboard) apiPrivacy(c *fiber.Ctx) error {
	s, err := d.privacySite(c)
	if err != nil {
		return d.apiError(c, err)
	}
	r, err := d.privacyReport(c, s)
	if err != nil {
		return d.apiError(c, err)
	}
	return c.JSON(r)
}

func (d *Dashboard) apiSavePrivacy(c *fiber.Ctx) error {
	s, err := d.privacySite(c)
	if err != nil {
		return d.apiError(c, err)
	}
	var in privacyInput
	if err := c.BodyParser(&in); err != nil {
		return d.apiError(c, httperr.Invalid(`send JSON such as {"consent_required": true, "privacy_page": "https://%s/privacy"}`, s.Domain))
	}
	if err := d.savePrivacy(c.UserContext(), auth.CurrentUser(c), s.Domain, in); err != nil {
		return d.apiError(c, err)
	}
	return d.apiPrivacy(c)
}
