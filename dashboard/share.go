package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/dashboard/reports"
	"github.com/websystems/loendur/dashboard/web"
	"github.com/websystems/loendur/internal/httperr"
	"github.com/websystems/loendur/internal/shares"
	"github.com/websystems/loendur/internal/sites"
)

// Shared links (internal/shares): the pages and API a link opens, and the staff's
// management of links. A link's routes are registered before the staff authentication
// middleware, so a staff session in the same browser neither applies nor is needed
// there, and a link's visitor holds nothing that opens any staff route.

// shareCookie marks a browser that gave a link's password; its path is the link's, so
// it is sent to that link only.
const shareCookie = "loendur_share"

// unlockedFor is how long a given password keeps a link open in that browser.
const unlockedFor = 12 * time.Hour

const localLink = "loendur.share.link"

// registerShared adds a link's routes: its report page (GET, and POST for the
// password) and its read-only report API.
func (d *Dashboard) registerShared(app fiber.Router, rep *reports.Service) {
	p := shares.PathPrefix + ":token"
	app.Get(p, d.openLink, d.sharedPage)
	app.Post(p, d.openLink, d.unlockLink)
	api := app.Group(p+"/api", web.APIHeaders, d.openLink, d.linkAPI)
	rep.RegisterShared(api)
}

// openLink resolves the token in the path. A token that never existed, a revoked link
// and an expired one get the same answer.
func (d *Dashboard) openLink(c *fiber.Ctx) error {
	token := strings.Clone(c.Params("token"))
	l, err := shares.Resolve(c.UserContext(), d.opts.DB, token, d.opts.Now())
	if errors.Is(err, shares.ErrNotFound) {
		if strings.Contains(c.Route().Path, "/api/") {
			return c.Status(fiber.StatusNotFound).JSON(fiber.Map{"error": "this link does not exist or no longer works"})
		}
		return d.front.RenderShareGone(c)
	}
	if err != nil {
		d.log.Error("resolve shared link", "err", err)
		return fiber.NewError(fiber.StatusInternalServerError, "something went wrong on our side; try again later")
	}
	c.Locals(localLink, &l)
	return c.Next()
}

func currentLink(c *fiber.Ctx) *shares.Link {
	l, _ := c.Locals(localLink).(*shares.Link)
	return l
}

// linkPath is the page of the link the request came through.
func linkPath(c *fiber.Ctx) string { return shares.PathPrefix + c.Params("token") }

func (d *Dashboard) sharedView(c *fiber.Ctx, l *shares.Link) web.Shared {
	return web.Shared{Path: linkPath(c), CSV: l.CSV(), FrameAncestors: l.EmbedOrigins}
}

func (d *Dashboard) sharedPage(c *fiber.Ctx) error {
	l := currentLink(c)
	if l.HasPassword() && !d.unlocked(c, l) {
		return d.front.RenderShareLock(c, fiber.StatusUnauthorized, d.sharedView(c, l))
	}
	site, ok := d.opts.Sites.Lookup(l.Site)
	if !ok { // the site was removed after the link was made
		return d.front.RenderShareGone(c)
	}
	if err := shares.Touch(c.UserContext(), d.opts.DB, *l, d.opts.Now()); err != nil {
		d.log.Warn("record shared link use", "err", err)
	}
	return d.front.RenderSharedReport(c, site, d.sharedView(c, l))
}

// unlockLink checks the password form, throttled like a sign-in.
func (d *Dashboard) unlockLink(c *fiber.Ctx) error {
	l := currentLink(c)
	if !l.HasPassword() {
		return c.Redirect(linkPath(c), fiber.StatusSeeOther)
	}
	err := d.auth.CheckLinkPassword(c, l.ID, l.PasswordHash, c.FormValue("password"))
	if err != nil {
		v := d.sharedView(c, l)
		e, _ := web.Answer(err)
		v.Error = e.Message
		var throttled *auth.ThrottledError
		if errors.As(err, &throttled) {
			c.Set(fiber.HeaderRetryAfter, web.RetryAfter(throttled.Wait))
		}
		return d.front.RenderShareLock(c, e.Status, v)
	}
	d.setUnlocked(c, l)
	return c.Redirect(linkPath(c), fiber.StatusSeeOther)
}

// linkAPI lets a link's API through for its one site, once its password was given.
func (d *Dashboard) linkAPI(c *fiber.Ctx) error {
	l := currentLink(c)
	if l.HasPassword() && !d.unlocked(c, l) {
		return c.Status(fiber.StatusUnauthorized).JSON(fiber.Map{"error": "open the link and enter its password first"})
	}
	reports.WithSharedView(c, reports.SharedView{Site: l.Site, CSV: l.CSV()})
	return c.Next()
}

// unlockMAC binds the cookie to the link's token and password hash: only the server,
// which holds the hash, can make one, and it stops working when the link does.
func unlockMAC(l *shares.Link, token string, expires int64) string {
	m := hmac.New(sha256.New, []byte(l.PasswordHash))
	fmt.Fprintf(m, "loendur share|%s|%d", token, expires)
	return hex.EncodeToString(m.Sum(nil))
}

func (d *Dashboard) setUnlocked(c *fiber.Ctx, l *shares.Link) {
	exp := d.opts.Now().Add(unlockedFor)
	token := c.Params("token")
	ck := &fiber.Cookie{Name: shareCookie, Value: strconv.FormatInt(exp.Unix(), 10) + "." + unlockMAC(l, token, exp.Unix()),
		Path: linkPath(c), Expires: exp, HTTPOnly: true, Secure: d.opts.Secure, SameSite: fiber.CookieSameSiteLaxMode}
	if len(l.EmbedOrigins) > 0 {
		// In a frame of another site the browser sends only SameSite=None cookies,
		// which must be Secure: password-protected embeds need HTTPS.
		ck.SameSite, ck.Secure = fiber.CookieSameSiteNoneMode, true
	}
	c.Cookie(ck)
}

func (d *Dashboard) unlocked(c *fiber.Ctx, l *shares.Link) bool {
	raw := c.Cookies(shareCookie)
	expRaw, mac, ok := strings.Cut(raw, ".")
	if !ok {
		return false
	}
	exp, err := strconv.ParseInt(expRaw, 10, 64)
	if err != nil || d.opts.Now().Unix() >= exp {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(unlockMAC(l, c.Params("token"), exp)))
}

// ---- staff: creating, listing and revoking links -----------------------------------

// linkView is a link as the staff see it.
type linkView struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Password     bool      `json:"password"`
	CSV          bool      `json:"csv"`
	Expires      string    `json:"expires,omitempty"` // RFC 3339; absent: never
	EmbedOrigins []string  `json:"embed_origins"`
	Created      time.Time `json:"created"`
	CreatedBy    string    `json:"created_by"`
	LastUsed     string    `json:"last_used,omitempty"` // RFC 3339; absent: never
	Active       bool      `json:"active"`              // false: expired
	Path         string    `json:"path,omitempty"`      // only in the answer that creates it
}

func linkViewOf(l shares.Link, now time.Time) linkView {
	v := linkView{ID: l.ID, Name: l.Name, Password: l.HasPassword(), CSV: l.CSV(), EmbedOrigins: l.EmbedOrigins,
		Created: l.Created, CreatedBy: l.CreatedBy, Active: l.Active(now)}
	if l.Expiring() {
		v.Expires = l.Expires.UTC().Format(time.RFC3339)
	}
	if l.Used() {
		v.LastUsed = l.LastUsed.UTC().Format(time.RFC3339)
	}
	if v.EmbedOrigins == nil {
		v.EmbedOrigins = []string{}
	}
	return v
}

// linkInput is a new link: from the form or JSON.
type linkInput struct {
	Name         string   `json:"name"`
	Password     string   `json:"password"`
	Expires      string   `json:"expires"` // YYYY-MM-DD, the last day it works (UTC)
	CSV          bool     `json:"csv"`
	EmbedOrigins []string `json:"embed_origins"`
}

var errNoShareSite = httperr.New(fiber.StatusForbidden, "", "no such site, or no access to it")

// shareSite resolves domain to a site u may share: admins any site; a client manager
// the sites they read where an admin allows managers to share.
func (d *Dashboard) shareSite(ctx context.Context, u *auth.User, raw string) (sites.Site, error) {
	domain, err := sites.NormalizeDomain(raw)
	if err != nil {
		return sites.Site{}, errNoShareSite
	}
	site, ok := d.opts.Sites.Lookup(domain)
	if !ok || !u.CanRead(domain) {
		return sites.Site{}, errNoShareSite
	}
	if u.IsAdmin() {
		return site, nil
	}
	allowed, err := shares.ManagersMayShare(ctx, d.opts.DB, domain)
	if err != nil {
		return sites.Site{}, err
	}
	if !allowed {
		return sites.Site{}, httperr.New(fiber.StatusForbidden, "", "an admin has not allowed client managers to share this site's reports")
	}
	return site, nil
}

// canShare reports whether u may share site; a failure to read the setting is logged
// and means no (the Share page would say why).
func (d *Dashboard) canShare(ctx context.Context, u *auth.User, site string) bool {
	_, err := d.shareSite(ctx, u, site)
	if err != nil && !httperr.Public(err) {
		d.log.Warn("read share settings", "err", err)
	}
	return err == nil
}

// shareError turns internal/shares' errors into answers.
func shareError(err error) error {
	switch {
	case errors.Is(err, shares.ErrInvalid):
		return httperr.Invalid("%s", strings.TrimPrefix(err.Error(), shares.ErrInvalid.Error()+": "))
	case errors.Is(err, shares.ErrNotFound):
		return httperr.New(fiber.StatusNotFound, "", "no such link")
	}
	return err
}

func (d *Dashboard) createLink(ctx context.Context, u *auth.User, site string, in linkInput) (string, linkView, error) {
	var hash string
	if in.Password != "" {
		h, err := auth.HashPassword(in.Password)
		if err != nil {
			return "", linkView{}, err
		}
		hash = h
	}
	expires, err := shares.ParseExpiry(in.Expires)
	if err != nil {
		return "", linkView{}, shareError(err)
	}
	now := d.opts.Now()
	token, l, err := shares.Create(ctx, d.opts.DB, shares.New{Site: site, Name: in.Name, PasswordHash: hash,
		Expires: expires, CSV: in.CSV, EmbedOrigins: in.EmbedOrigins, By: u.Email}, now)
	if err != nil {
		return "", linkView{}, shareError(err)
	}
	v := linkViewOf(l, now)
	v.Path = shares.PathPrefix + token
	return token, v, nil
}

func (d *Dashboard) listLinks(ctx context.Context, site string) ([]linkView, error) {
	links, err := shares.List(ctx, d.opts.DB, site)
	if err != nil {
		return nil, err
	}
	now := d.opts.Now()
	out := make([]linkView, 0, len(links))
	for _, l := range links {
		out = append(out, linkViewOf(l, now))
	}
	return out, nil
}

// JSON: GET/POST /api/v1/shares?site=, DELETE /api/v1/shares/:id?site=,
// PUT /api/v1/shares/settings?site= (admins).

func (d *Dashboard) apiListLinks(c *fiber.Ctx) error {
	ctx := c.UserContext()
	site, err := d.shareSite(ctx, auth.CurrentUser(c), c.Query("site"))
	if err != nil {
		return d.apiError(c, err)
	}
	links, err := d.listLinks(ctx, site.Domain)
	if err != nil {
		return d.apiError(c, err)
	}
	allowed, err := shares.ManagersMayShare(ctx, d.opts.DB, site.Domain)
	if err != nil {
		return d.apiError(c, err)
	}
	return c.JSON(fiber.Map{"site": site.Domain, "managers_may_share": allowed, "links": links})
}

func (d *Dashboard) apiCreateLink(c *fiber.Ctx) error {
	var in linkInput
	if err := c.BodyParser(&in); err != nil {
		return d.apiError(c, httperr.Invalid(`send JSON such as {"name":"Monthly figures","password":"…","expires":"2027-01-31","csv":true,"embed_origins":["https://intranet.example.com"]}`))
	}
	u := auth.CurrentUser(c)
	site, err := d.shareSite(c.UserContext(), u, c.Query("site"))
	if err != nil {
		return d.apiError(c, err)
	}
	_, v, err := d.createLink(c.UserContext(), u, site.Domain, in)
	if err != nil {
		return d.apiError(c, err)
	}
	return c.Status(fiber.StatusCreated).JSON(v)
}

func (d *Dashboard) apiRevokeLink(c *fiber.Ctx) error {
	u := auth.CurrentUser(c)
	site, err := d.shareSite(c.UserContext(), u, c.Query("site"))
	if err != nil {
		return d.apiError(c, err)
	}
	err = shares.Revoke(c.UserContext(), d.opts.DB, site.Domain, c.Params("id"), u.Email, d.opts.Now())
	if err != nil {
		return d.apiError(c, shareError(err))
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (d *Dashboard) apiShareSettings(c *fiber.Ctx) error {
	var in struct {
		ManagersMayShare *bool `json:"managers_may_share"`
	}
	if err := c.BodyParser(&in); err != nil || in.ManagersMayShare == nil {
		return d.apiError(c, httperr.Invalid(`send JSON such as {"managers_may_share": true}`))
	}
	u := auth.CurrentUser(c)
	site, err := d.shareSite(c.UserContext(), u, c.Query("site"))
	if err != nil {
		return d.apiError(c, err)
	}
	if err := shares.SetManagersMayShare(c.UserContext(), d.opts.DB, site.Domain, *in.ManagersMayShare, u.Email); err != nil {
		return d.apiError(c, err)
	}
	return c.JSON(fiber.Map{"site": site.Domain, "managers_may_share": *in.ManagersMayShare})
}

// ---- staff pages: /shares/DOMAIN ----------------------------------------------------

// sharesView is what the shares page shows.
type sharesView struct {
	Site             string
	Links            []linkView
	ManagersMayShare bool
	Embed            string // the page's example iframe for a new embeddable link
}

func (d *Dashboard) mountSharePages(r fiber.Router) {
	r.Get("/:domain", d.sharesPage)
	r.Post("/:domain", d.createLinkPage)
	r.Post("/:domain/settings", auth.RequireAdmin, d.shareSettingsPage)
	r.Post("/:domain/:id/revoke", d.revokeLinkPage)
}

func (d *Dashboard) sharesPage(c *fiber.Ctx) error {
	return d.renderShares(c, fiber.StatusOK, d.newView(c, "Shared links"), nil)
}

// renderShares shows the site's links, or err (a refusal) on its own.
func (d *Dashboard) renderShares(c *fiber.Ctx, status int, v *view, err error) error {
	ctx := c.UserContext()
	var site sites.Site
	if err == nil {
		site, err = d.shareSite(ctx, v.User, c.Params("domain"))
	}
	if err == nil {
		v.Shares = &sharesView{Site: site.Domain}
		v.Site = site.Domain
		v.Shares.Links, err = d.listLinks(ctx, site.Domain)
	}
	if err == nil {
		v.Shares.ManagersMayShare, err = shares.ManagersMayShare(ctx, d.opts.DB, site.Domain)
	}
	if err != nil {
		v.Shares, v.Error = nil, d.message(err)
		return d.render(c, statusOf(err), "shares", v)
	}
	return d.render(c, status, "shares", v)
}

func (d *Dashboard) createLinkPage(c *fiber.Ctx) error {
	v := d.newView(c, "Shared links")
	site, err := d.shareSite(c.UserContext(), v.User, c.Params("domain"))
	if err != nil {
		return d.renderShares(c, statusOf(err), v, err)
	}
	in := linkInput{Name: c.FormValue("name"), Password: c.FormValue("password"), Expires: c.FormValue("expires"),
		CSV: c.FormValue("csv") != "", EmbedOrigins: strings.Fields(c.FormValue("embed_origins"))}
	_, lv, err := d.createLink(c.UserContext(), v.User, site.Domain, in)
	if err != nil {
		v.Error = d.message(err)
		return d.renderShares(c, statusOf(err), v, nil)
	}
	v.Notice = "Link created. Copy it now: it is shown only this once."
	v.Secret = c.BaseURL() + lv.Path
	return d.renderShares(c, fiber.StatusOK, v, nil)
}

func (d *Dashboard) revokeLinkPage(c *fiber.Ctx) error {
	v := d.newView(c, "Shared links")
	site, err := d.shareSite(c.UserContext(), v.User, c.Params("domain"))
	if err == nil {
		err = shareError(shares.Revoke(c.UserContext(), d.opts.DB, site.Domain, c.Params("id"), v.User.Email, d.opts.Now()))
	}
	if err != nil {
		v.Error = d.message(err)
		return d.renderShares(c, statusOf(err), v, nil)
	}
	v.Notice = "Link revoked: it no longer opens anything."
	return d.renderShares(c, fiber.StatusOK, v, nil)
}

func (d *Dashboard) shareSettingsPage(c *fiber.Ctx) error {
	v := d.newView(c, "Shared links")
	site, err := d.shareSite(c.UserContext(), v.User, c.Params("domain"))
	if err == nil {
		err = shares.SetManagersMayShare(c.UserContext(), d.opts.DB, site.Domain, c.FormValue("managers_may_share") != "", v.User.Email)
	}
	if err != nil {
		v.Error = d.message(err)
		return d.renderShares(c, statusOf(err), v, nil)
	}
	v.Notice = "Saved."
	return d.renderShares(c, fiber.StatusOK, v, nil)
}
