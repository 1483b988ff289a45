package dashboard

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/httperr"
)

func (d *Dashboard) usersPage(c *fiber.Ctx) error {
	return d.renderUsers(c, fiber.StatusOK, d.newView(c, "Users"))
}

// userRow is one line of the Users table.
type userRow struct {
	*auth.User
	LastLogin time.Time
}

// renderUsers shows the accounts as a table, narrowed by ?q= (part of the email, a
// role, a site), with the add form.
func (d *Dashboard) renderUsers(c *fiber.Ctx, status int, v *view) error {
	users, err := d.auth.ListUsers(c.UserContext())
	if err != nil {
		return err
	}
	last, err := d.auth.LastLogins(c.UserContext())
	if err != nil {
		return err
	}
	v.Query = strings.TrimSpace(c.Query("q"))
	for _, u := range users {
		if matchesUser(u, strings.ToLower(v.Query)) {
			v.UserRows = append(v.UserRows, userRow{User: u, LastLogin: last[u.Email]})
		}
	}
	v.Users = users
	for _, s := range d.readableSites(v.User) {
		v.AllSites = append(v.AllSites, s.Domain)
	}
	return d.render(c, status, "users", v)
}

func matchesUser(u *auth.User, q string) bool {
	if q == "" || strings.Contains(u.Email, q) || string(u.Role) == q {
		return true
	}
	for _, s := range u.Sites {
		if strings.Contains(s, q) {
			return true
		}
	}
	return false
}

// userPage is one account's page: edit role and sites, new password, keys, removal.
func (d *Dashboard) userPage(c *fiber.Ctx) error {
	return d.renderUser(c, fiber.StatusOK, d.newView(c, "Users"), strings.Clone(c.Params("id")))
}

func (d *Dashboard) renderUser(c *fiber.Ctx, status int, v *view, id string) error {
	ctx := c.UserContext()
	u, err := d.auth.GetUser(ctx, id)
	if err != nil {
		v.Error = d.message(err)
		return d.renderUsers(c, statusOf(err), v)
	}
	last, err := d.auth.LastLogins(ctx)
	if err != nil {
		return err
	}
	v.Edit = &userRow{User: u, LastLogin: last[u.Email]}
	if v.EditKeys, err = d.auth.ListUserKeys(ctx, v.User, id); err != nil {
		return err
	}
	for _, s := range d.readableSites(v.User) {
		v.AllSites = append(v.AllSites, s.Domain)
	}
	v.Title = u.Email
	return d.render(c, status, "user", v)
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
	id := strings.Clone(c.Params("id"))
	u, password, err := d.auth.UpdateUser(c.UserContext(), v.User, id, ch)
	if err != nil {
		v.Error = d.message(err)
		// Shown again as typed, not as stored: the person corrects one field.
		v.Typed = map[string]string{"role": string(role), "totp_required": c.FormValue("totp_required"),
			"disabled": c.FormValue("disabled"), "typed": "1"}
		v.TypedSites = sites
		return d.renderUser(c, statusOf(err), v, id)
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
	return d.seeOther(c, "/admin/users/"+id, v)
}

func (d *Dashboard) removeUserPage(c *fiber.Ctx) error {
	v := d.newView(c, "Users")
	id := strings.Clone(c.Params("id"))
	if c.FormValue("confirm") == "" {
		v.Error = "tick the box to confirm the removal"
		return d.renderUser(c, fiber.StatusBadRequest, v, id)
	}
	if err := d.auth.RemoveUser(c.UserContext(), v.User, id); err != nil {
		v.Error = d.message(err)
		return d.renderUser(c, statusOf(err), v, id)
	}
	v.Notice = "Account removed."
	return d.seeOther(c, "/admin/users", v)
}

func (d *Dashboard) revokeUserKeyPage(c *fiber.Ctx) error {
	v := d.newView(c, "Users")
	id := strings.Clone(c.Params("id"))
	if err := d.auth.RevokeUserKey(c.UserContext(), v.User, id, c.Params("key")); err != nil {
		v.Error = d.message(err)
		return d.renderUser(c, statusOf(err), v, id)
	}
	v.Notice = "Key revoked: it no longer works."
	return d.seeOther(c, "/admin/users/"+id, v)
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
