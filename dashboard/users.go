package dashboard

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/httperr"
)

func (d *Dashboard) usersPage(c *fiber.Ctx) error {
	return d.renderUsers(c, fiber.StatusOK, d.newView(c, "Users"))
}

func (d *Dashboard) renderUsers(c *fiber.Ctx, status int, v *view) error {
	users, err := d.auth.ListUsers(c.UserContext())
	if err != nil {
		return err
	}
	v.Users = users
	if v.UserKeys, err = d.auth.UserKeys(c.UserContext(), v.User); err != nil {
		return err
	}
	for _, s := range d.readableSites(v.User) {
		v.AllSites = append(v.AllSites, s.Domain)
	}
	return d.render(c, status, "users", v)
}

// formSites reads the ticked site checkboxes (repeated "sites" fields).
func formSites(c *fiber.Ctx) []string {
	var out []string
	for _, v := range c.Request().PostArgs().PeekMulti("sites") {
		out = append(out, string(v))
	}
	return out
}

func (d *Dashboard) addUserPage(c *fiber.Ctx) error {
	v := d.newView(c, "Users")
	in := auth.NewUser{Email: c.FormValue("email"), Role: auth.Role(c.FormValue("role")), Sites: formSites(c),
		Password: c.FormValue("password"), TOTPRequired: c.FormValue("totp_required") != ""}
	u, generated, err := d.auth.CreateUser(c.UserContext(), v.User, in)
	if err != nil {
		v.Error = d.message(err)
		// The password is not shown again: it would sit in the page's source.
		v.Typed = map[string]string{"email": in.Email, "role": string(in.Role), "totp_required": c.FormValue("totp_required")}
		return d.renderUsers(c, statusOf(err), v)
	}
	v.Notice = "Added " + u.Email + "."
	if generated != "" {
		v.Notice += " Their password is below; it is shown only this once."
		v.Secret = generated
	}
	return d.seeOther(c, "/admin/users", v)
}

// editUserPage saves the edit form of one account. The form always sends the whole
// account, so unticked checkboxes (absent fields) mean false.
func (d *Dashboard) editUserPage(c *fiber.Ctx) error {
	v := d.newView(c, "Users")
	role := auth.Role(c.FormValue("role"))
	sites := formSites(c)
	totp, disabled := c.FormValue("totp_required") != "", c.FormValue("disabled") != ""
	ch := auth.UserChange{Role: &role, Sites: &sites, TOTPRequired: &totp, Disabled: &disabled}
	switch c.FormValue("action") {
	case "reset_totp":
		ch = auth.UserChange{ResetTOTP: true}
	case "reset_password":
		ch = auth.UserChange{ResetPassword: true, KeepAPIKeys: c.FormValue("keep_api_keys") != ""}
	}
	u, password, err := d.auth.UpdateUser(c.UserContext(), v.User, c.Params("id"), ch)
	if err != nil {
		v.Error = d.message(err)
		return d.renderUsers(c, statusOf(err), v)
	}
	v.Notice = "Saved " + u.Email + "."
	if password != "" {
		v.Notice = "New password for " + u.Email + " below; it is shown only this once. Their sessions have ended"
		if ch.KeepAPIKeys {
			v.Notice += "; their API keys still work."
		} else {
			v.Notice += " and their API keys are revoked."
		}
		v.Secret = password
	}
	return d.seeOther(c, "/admin/users", v)
}

func (d *Dashboard) removeUserPage(c *fiber.Ctx) error {
	v := d.newView(c, "Users")
	if c.FormValue("confirm") == "" {
		v.Error = "tick the box to confirm the removal"
		return d.renderUsers(c, fiber.StatusBadRequest, v)
	}
	if err := d.auth.RemoveUser(c.UserContext(), v.User, c.Params("id")); err != nil {
		v.Error = d.message(err)
		return d.renderUsers(c, statusOf(err), v)
	}
	v.Notice = "Account removed."
	return d.seeOther(c, "/admin/users", v)
}

func (d *Dashboard) revokeUserKeyPage(c *fiber.Ctx) error {
	v := d.newView(c, "Users")
	if err := d.auth.RevokeUserKey(c.UserContext(), v.User, c.Params("id"), c.Params("key")); err != nil {
		v.Error = d.message(err)
		return d.renderUsers(c, statusOf(err), v)
	}
	v.Notice = "Key revoked: it no longer works."
	return d.seeOther(c, "/admin/users", v)
}

func (d *Dashboard) apiUserKeys(c *fiber.Ctx) error {
	keys, err := d.auth.ListUserKeys(c.UserContext(), auth.CurrentUser(c), c.Params("id"))
	if err != nil {
		return d.apiError(c, err)
	}
	if keys == nil {
		keys = []auth.APIKey{}
	}
	return c.JSON(fiber.Map{"keys": keys})
}

func (d *Dashboard) apiRevokeUserKey(c *fiber.Ctx) error {
	if err := d.auth.RevokeUserKey(c.UserContext(), auth.CurrentUser(c), c.Params("id"), c.Params("key")); err != nil {
		return d.apiError(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (d *Dashboard) apiUsers(c *fiber.Ctx) error {
	users, err := d.auth.ListUsers(c.UserContext())
	if err != nil {
		return d.apiError(c, err)
	}
	return c.JSON(fiber.Map{"users": users})
}

func (d *Dashboard) apiAddUser(c *fiber.Ctx) error {
	var in auth.NewUser
	if err := c.BodyParser(&in); err != nil {
		return d.apiError(c, httperr.Invalid("send JSON such as {\"email\":\"a@example.com\",\"role\":\"manager\",\"sites\":[\"example.com\"]}"))
	}
	u, generated, err := d.auth.CreateUser(c.UserContext(), auth.CurrentUser(c), in)
	if err != nil {
		return d.apiError(c, err)
	}
	out := fiber.Map{"user": u}
	if generated != "" {
		out["password"] = generated
	}
	return c.Status(fiber.StatusCreated).JSON(out)
}

func (d *Dashboard) apiEditUser(c *fiber.Ctx) error {
	var ch auth.UserChange
	if err := c.BodyParser(&ch); err != nil {
		return d.apiError(c, httperr.Invalid("send JSON such as {\"disabled\":true}"))
	}
	u, password, err := d.auth.UpdateUser(c.UserContext(), auth.CurrentUser(c), strings.Clone(c.Params("id")), ch)
	if err != nil {
		return d.apiError(c, err)
	}
	out := fiber.Map{"user": u}
	if password != "" {
		out["password"] = password
	}
	return c.JSON(out)
}

func (d *Dashboard) apiRemoveUser(c *fiber.Ctx) error {
	if err := d.auth.RemoveUser(c.UserContext(), auth.CurrentUser(c), c.Params("id")); err != nil {
		return d.apiError(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}
