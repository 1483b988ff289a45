package dashboard

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/exclusion"
	"github.com/websystems/loendur/internal/httperr"
)

// A site's excluded traffic (internal/exclusion): admins edit it on the Sites page
// (POST /admin/sites/:domain/exclusions) and through GET and PUT
// /api/v1/sites/:domain/exclusions; the collector of this process applies a change at
// once, others within exclusion.RefreshInterval.

// siteExclusions returns the registered site's rules as stored.
func (d *Dashboard) siteExclusions(ctx context.Context, domain string) (exclusion.Rules, error) {
	if _, ok := d.opts.Sites.Lookup(domain); !ok {
		return exclusion.Rules{}, fmt.Errorf("site %s: %w", domain, auth.ErrNotFound)
	}
	if err := d.opts.Exclusions.Load(ctx); err != nil {
		return exclusion.Rules{}, err
	}
	return d.opts.Exclusions.Rules(domain), nil
}

// saveExclusions replaces the site's rules and writes the change to the audit log
// (configuration, as the admin typed it).
func (d *Dashboard) saveExclusions(ctx context.Context, actor *auth.User, domain string, in exclusion.Rules) (exclusion.Rules, error) {
	if _, ok := d.opts.Sites.Lookup(domain); !ok {
		return exclusion.Rules{}, fmt.Errorf("site %s: %w", domain, auth.ErrNotFound)
	}
	by := ""
	if actor != nil {
		by = actor.Email
	}
	saved, err := d.opts.Exclusions.Save(ctx, domain, in, by, d.opts.Now())
	var bad *exclusion.Error
	if errors.As(err, &bad) {
		return exclusion.Rules{}, httperr.Invalid("%s", bad.Error())
	}
	if err != nil {
		return exclusion.Rules{}, err
	}
	d.auth.Audit(ctx, actor, "site_exclusions", domain, fmt.Sprintf("user_agents=%q addresses=%q",
		strings.Join(saved.UserAgents, ","), strings.Join(saved.Addresses, ",")))
	return saved, nil
}

func (d *Dashboard) editExclusionsPage(c *fiber.Ctx) error {
	v := d.newView(c, "Sites")
	domain := c.Params("domain")
	in := exclusion.Rules{
		UserAgents: exclusion.SplitList(c.FormValue("user_agents")),
		Addresses:  exclusion.SplitList(c.FormValue("addresses")),
	}
	if _, err := d.saveExclusions(c.UserContext(), v.User, domain, in); err != nil {
		v.Error = d.message(err)
		return d.renderSites(c, statusOf(err), v)
	}
	v.Notice = "Saved the excluded traffic of " + domain + "."
	return d.renderSites(c, fiber.StatusOK, v)
}

func (d *Dashboard) apiExclusions(c *fiber.Ctx) error {
	domain := strings.Clone(c.Params("domain"))
	r, err := d.siteExclusions(c.UserContext(), domain)
	if err != nil {
		return d.apiError(c, err)
	}
	return c.JSON(fiber.Map{"site": domain, "user_agents": r.UserAgents, "addresses": r.Addresses})
}

func (d *Dashboard) apiSaveExclusions(c *fiber.Ctx) error {
	var in exclusion.Rules
	if err := c.BodyParser(&in); err != nil {
		return d.apiError(c, httperr.Invalid(`send JSON such as {"user_agents": ["UptimeRobot"], "addresses": ["203.0.113.0/24"]}`))
	}
	domain := strings.Clone(c.Params("domain"))
	r, err := d.saveExclusions(c.UserContext(), auth.CurrentUser(c), domain, in)
	if err != nil {
		return d.apiError(c, err)
	}
	return c.JSON(fiber.Map{"site": domain, "user_agents": r.UserAgents, "addresses": r.Addresses})
}
