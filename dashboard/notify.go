package dashboard

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/dashboard/notify"
	"github.com/websystems/loendur/internal/httperr"
)

// notifyView is the page of a site's e-mail reports and alerts.
type notifyView struct {
	Site       string
	Settings   notify.Settings
	Recipients string // one address a line, as the form shows them
	Alerts     string
	Deliveries []notify.Delivery
	Incidents  []notify.Incident
}

// notifyForm reads the form; an unticked checkbox is absent, so it means false.
func notifyForm(c *fiber.Ctx) (notify.Input, error) {
	weekly, monthly, spike := c.FormValue("weekly") != "", c.FormValue("monthly") != "", c.FormValue("spike") != ""
	rcpts, alerts := notify.SplitAddresses(c.FormValue("recipients")), notify.SplitAddresses(c.FormValue("alert_recipients"))
	hook := c.FormValue("webhook_url")
	in := notify.Input{Weekly: &weekly, Monthly: &monthly, Spike: &spike, Recipients: &rcpts, AlertRecipients: &alerts, WebhookURL: &hook}
	h := strings.TrimSpace(c.FormValue("stopped_hours"))
	if h == "" {
		h = "0"
	}
	hours, err := strconv.Atoi(h)
	if err != nil {
		return in, httperr.Invalid("tracking-stopped hours must be a whole number (0 = off)")
	}
	in.StoppedHours = &hours
	return in, nil
}

func (d *Dashboard) notifyPage(c *fiber.Ctx) error {
	return d.renderNotify(c, fiber.StatusOK, d.newView(c, "E-mail reports and alerts"), strings.Clone(c.Params("domain")), nil)
}

func (d *Dashboard) renderNotify(c *fiber.Ctx, status int, v *view, site string, form *notify.Settings) error {
	if _, ok := d.opts.Sites.Lookup(site); !ok {
		return d.renderSites(c, fiber.StatusNotFound, withError(v, "No such site."))
	}
	ctx := c.UserContext()
	st, err := d.opts.Notify.Settings(ctx, site)
	if err != nil {
		v.Error = d.message(err)
		return d.renderSites(c, fiber.StatusInternalServerError, v)
	}
	if form != nil { // what the person typed, kept after a refusal
		form.WebhookSecret = st.WebhookSecret
		st = *form
	}
	nv := &notifyView{Site: site, Settings: st, Recipients: strings.Join(st.Recipients, "\n"), Alerts: strings.Join(st.AlertRecipients, "\n")}
	if nv.Deliveries, err = d.opts.Notify.Deliveries(ctx, site, 20); err != nil {
		d.log.Warn("notify page: deliveries", "err", err)
	}
	if nv.Incidents, err = d.opts.Notify.Incidents(ctx, site); err != nil {
		d.log.Warn("notify page: incidents", "err", err)
	}
	v.Notify = nv
	return d.render(c, status, "notify", v)
}

func withError(v *view, msg string) *view { v.Error = msg; return v }

func (d *Dashboard) saveNotifyPage(c *fiber.Ctx) error {
	v := d.newView(c, "E-mail reports and alerts")
	site := strings.Clone(c.Params("domain"))
	in, err := notifyForm(c)
	if err == nil {
		_, err = d.opts.Notify.Save(c.UserContext(), auth.CurrentUser(c).Email, site, in)
	}
	if err != nil {
		v.Error = d.message(err)
		// Show the form as typed, so a typo is fixed rather than retyped.
		typed := notify.Settings{Site: site, Recipients: *in.Recipients, AlertRecipients: *in.AlertRecipients,
			WebhookURL: *in.WebhookURL, Weekly: b2u(*in.Weekly), Monthly: b2u(*in.Monthly), Spike: b2u(*in.Spike)}
		if in.StoppedHours != nil {
			typed.StoppedHours = uint16(min(max(*in.StoppedHours, 0), 65535))
		}
		return d.renderNotify(c, statusOf(err), v, site, &typed)
	}
	v.Notice = "Saved the e-mail reports and alerts of " + site + "."
	return d.renderNotify(c, fiber.StatusOK, v, site, nil)
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// notifyJSON is the API's view of the settings: the webhook secret included (admins
// only), the unsubscribe key never.
type notifyJSON struct {
	notify.Settings
	Weekly        bool   `json:"weekly"`
	Monthly       bool   `json:"monthly"`
	Spike         bool   `json:"spike"`
	WebhookSecret string `json:"webhook_secret"`
}

func toJSON(st notify.Settings) notifyJSON {
	return notifyJSON{Settings: st, Weekly: st.Weekly == 1, Monthly: st.Monthly == 1, Spike: st.Spike == 1, WebhookSecret: st.WebhookSecret}
}

func (d *Dashboard) apiNotify(c *fiber.Ctx) error {
	site := strings.Clone(c.Params("domain"))
	if _, ok := d.opts.Sites.Lookup(site); !ok {
		return d.apiError(c, httperr.New(fiber.StatusNotFound, "", "no such site"))
	}
	st, err := d.opts.Notify.Settings(c.UserContext(), site)
	if err != nil {
		return d.apiError(c, err)
	}
	return c.JSON(toJSON(st))
}

func (d *Dashboard) apiSaveNotify(c *fiber.Ctx) error {
	var in notify.Input
	if err := c.BodyParser(&in); err != nil {
		return d.apiError(c, httperr.Invalid(`send JSON such as {"weekly":true,"recipients":["ana@agency.example"]}`))
	}
	st, err := d.opts.Notify.Save(c.UserContext(), auth.CurrentUser(c).Email, strings.Clone(c.Params("domain")), in)
	if err != nil {
		return d.apiError(c, err)
	}
	return c.JSON(toJSON(st))
}
