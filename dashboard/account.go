package dashboard

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/httperr"
)

// sessionOnly refuses account changes made with an API key: a leaked key must not be
// able to mint more keys or take the account over.
func (d *Dashboard) sessionOnly(c *fiber.Ctx) error {
	if auth.ViaAPIKey(c) {
		return d.apiError(c, httperr.New(fiber.StatusForbidden, "", "sign in to change your account; API keys cannot"))
	}
	return c.Next()
}

func (d *Dashboard) accountPage(c *fiber.Ctx) error {
	return d.renderAccount(c, fiber.StatusOK, d.newView(c, "Account"))
}

func (d *Dashboard) renderAccount(c *fiber.Ctx, status int, v *view) error {
	ctx := c.UserContext()
	keys, err := d.auth.ListKeys(ctx, v.User)
	if err != nil {
		return err
	}
	v.Keys = keys
	for _, s := range d.readableSites(v.User) {
		v.AllSites = append(v.AllSites, s.Domain)
	}
	if v.User.TOTPEnabled {
		if v.RecoveryLeft, err = d.auth.RecoveryCodesLeft(ctx, v.User); err != nil {
			return err
		}
	}
	if v.TOTP == nil && !v.User.TOTPEnabled {
		key, pending, err := d.auth.PendingTOTP(ctx, v.User)
		if err != nil {
			return err
		}
		if pending {
			v.TOTP = newTOTPView(key)
		}
	}
	return d.render(c, status, "account", v)
}

// accountResult renders the account page after a change: err shown, or notice.
func (d *Dashboard) accountResult(c *fiber.Ctx, v *view, err error, notice string) error {
	if err != nil {
		v.Error = d.message(err)
		return d.renderAccount(c, statusOf(err), v)
	}
	v.Notice = notice
	return d.seeOther(c, "/account", v)
}

func (d *Dashboard) passwordPage(c *fiber.Ctx) error {
	err := d.auth.ChangePassword(c, c.FormValue("current"), c.FormValue("new"))
	// A new session was started: the view must carry its CSRF token.
	v := d.newView(c, "Account")
	return d.accountResult(c, v, err, "Password changed. Other browsers signed in to this account were signed out.")
}

func (d *Dashboard) addKeyPage(c *fiber.Ctx) error {
	v := d.newView(c, "Account")
	key, _, err := d.auth.CreateKey(c.UserContext(), v.User, c.FormValue("name"))
	v.Secret = key
	return d.accountResult(c, v, err, "New API key below: copy it now, it is shown only this once.")
}

func (d *Dashboard) revokeKeyPage(c *fiber.Ctx) error {
	v := d.newView(c, "Account")
	err := d.auth.RevokeKey(c.UserContext(), v.User, c.Params("id"))
	return d.accountResult(c, v, err, "Key revoked: it no longer works.")
}

func (d *Dashboard) startTOTPPage(c *fiber.Ctx) error {
	v := d.newView(c, "Account")
	key, err := d.auth.StartTOTP(c.UserContext(), v.User)
	if err == nil {
		v.TOTP = newTOTPView(key)
	}
	return d.accountResult(c, v, err, "Scan the code or type the key into your authenticator app, then enter the code it shows.")
}

func (d *Dashboard) confirmTOTPPage(c *fiber.Ctx) error {
	v := d.newView(c, "Account")
	codes, err := d.auth.ConfirmTOTP(c.UserContext(), v.User, c.FormValue("code"))
	if err == nil {
		v.User.TOTPEnabled = true
		v.Secret = strings.Join(codes, "\n")
	}
	return d.accountResult(c, v, err, "Two-factor sign-in is on: from now on sign-in asks for a code. "+recoveryNotice)
}

// recoveryNotice goes with a new set of recovery codes (shown as the page's secret).
const recoveryNotice = "Your recovery codes are below, shown only this once: keep them somewhere safe. " +
	"Each signs you in once instead of a code from your app, if you lose it."

func (d *Dashboard) recoveryCodesPage(c *fiber.Ctx) error {
	v := d.newView(c, "Account")
	codes, err := d.auth.NewRecoveryCodes(c.UserContext(), v.User, c.FormValue("code"))
	v.Secret = strings.Join(codes, "\n")
	return d.accountResult(c, v, err, "New recovery codes; the old ones no longer work. "+recoveryNotice)
}

func (d *Dashboard) disableTOTPPage(c *fiber.Ctx) error {
	v := d.newView(c, "Account")
	err := d.auth.DisableTOTP(c.UserContext(), v.User, c.FormValue("code"))
	if err == nil {
		v.User.TOTPEnabled = false
	}
	return d.accountResult(c, v, err, "Two-factor sign-in is off.")
}

// apiMe tells a script who it is and which token its state changes need.
func (d *Dashboard) apiMe(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"user": auth.CurrentUser(c), "csrf": auth.CSRFToken(c)})
}

func (d *Dashboard) apiKeys(c *fiber.Ctx) error {
	keys, err := d.auth.ListKeys(c.UserContext(), auth.CurrentUser(c))
	if err != nil {
		return d.apiError(c, err)
	}
	if keys == nil {
		keys = []auth.APIKey{}
	}
	return c.JSON(fiber.Map{"keys": keys})
}

func (d *Dashboard) apiAddKey(c *fiber.Ctx) error {
	var in struct {
		Name string `json:"name"`
	}
	_ = c.BodyParser(&in) // the name is optional
	key, k, err := d.auth.CreateKey(c.UserContext(), auth.CurrentUser(c), in.Name)
	if err != nil {
		return d.apiError(c, err)
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"key": key, "id": k.ID, "name": k.Name, "created": k.Created})
}

func (d *Dashboard) apiRevokeKey(c *fiber.Ctx) error {
	if err := d.auth.RevokeKey(c.UserContext(), auth.CurrentUser(c), c.Params("id")); err != nil {
		return d.apiError(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}
