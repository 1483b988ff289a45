package dashboard

import (
	"github.com/gofiber/fiber/v2"
)

// auditShown is how many entries the audit page lists, newest first.
const auditShown = 300

func (d *Dashboard) auditPage(c *fiber.Ctx) error {
	v := d.newView(c, "Audit log")
	entries, err := d.auth.ListAudit(c.UserContext(), auditShown)
	if err != nil {
		return err
	}
	v.Audit = entries
	return d.render(c, fiber.StatusOK, "audit", v)
}

func (d *Dashboard) apiAudit(c *fiber.Ctx) error {
	entries, err := d.auth.ListAudit(c.UserContext(), c.QueryInt("limit", 100))
	if err != nil {
		return d.apiError(c, err)
	}
	return c.JSON(fiber.Map{"entries": entries})
}
