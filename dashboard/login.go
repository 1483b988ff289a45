package dashboard

import (
	"bytes"
	"encoding/base64"
	"errors"
	"html/template"
	"image/png"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/pquerna/otp"
	"github.com/websystems/loendur/dashboard/auth"
)

type loginView struct {
	Email    string
	Next     string
	FormCSRF string
	AskCode  bool      // the account has TOTP: the code field is required
	Setup    *totpView // the account must enrol now
}

type totpView struct {
	Key auth.TOTPKey
	QR  template.URL // data:image/png;base64,…
}

func (d *Dashboard) loginPage(c *fiber.Ctx) error {
	v := d.newView(c, "Sign in")
	v.Login = loginView{Next: auth.SafeNext(c.Query("next")), FormCSRF: d.auth.LoginFormToken(c)}
	return d.render(c, fiber.StatusOK, "login", v)
}

func (d *Dashboard) login(c *fiber.Ctx) error {
	var in auth.LoginInput
	if err := c.BodyParser(&in); err != nil {
		in = auth.LoginInput{}
	}
	next := auth.SafeNext(c.FormValue("next"))
	if _, err := d.auth.Login(c, in); err != nil {
		return d.loginFailed(c, in, next, err)
	}
	d.metrics.logins.WithLabelValues("ok").Inc()
	if codes := auth.RecoveryCodesOf(c); codes != nil {
		// Two-factor sign-in was set up on the way in: its recovery codes, once.
		v := d.newView(c, "Account")
		v.Notice, v.Secret = "Two-factor sign-in is on. "+recoveryNotice, strings.Join(codes, "\n")
		return d.seeOther(c, "/account", v)
	}
	return c.Redirect(next, fiber.StatusSeeOther)
}

// loginFailed shows the form again with what to do next.
func (d *Dashboard) loginFailed(c *fiber.Ctx, in auth.LoginInput, next string, err error) error {
	v := d.newView(c, "Sign in")
	v.Login = loginView{Email: in.Email, Next: next, FormCSRF: d.auth.LoginFormToken(c)}
	v.Error = d.message(err)
	status := max(statusOf(err), fiber.StatusUnauthorized) // a wrong code is a failed login, not a bad request
	var throttled *auth.ThrottledError
	var setup *auth.TOTPSetupError
	switch {
	case errors.As(err, &throttled):
		c.Set(fiber.HeaderRetryAfter, retryAfter(throttled.Wait))
	case errors.As(err, &setup):
		v.Login.Setup = newTOTPView(setup.Key)
	case errors.Is(err, auth.ErrTOTPNeeded), errors.Is(err, auth.ErrTOTPWrong):
		v.Login.AskCode = true
	}
	d.metrics.logins.WithLabelValues(loginResult(status)).Inc()
	return d.render(c, status, "login", v)
}

func loginResult(status int) string {
	switch status {
	case fiber.StatusTooManyRequests:
		return "throttled"
	case fiber.StatusInternalServerError:
		return "error"
	}
	return "failed"
}

func (d *Dashboard) logout(c *fiber.Ctx) error {
	if err := d.auth.Logout(c); err != nil {
		return err
	}
	if auth.ViaAPIKey(c) || c.Get(fiber.HeaderAccept) == fiber.MIMEApplicationJSON {
		return c.SendStatus(fiber.StatusNoContent)
	}
	return c.Redirect("/login", fiber.StatusSeeOther)
}

// newTOTPView adds the key's QR code: authenticator apps scan it, typing 32 base32
// characters on a phone is error-prone.
func newTOTPView(k auth.TOTPKey) *totpView {
	v := &totpView{Key: k}
	key, err := otp.NewKeyFromURL(k.URL)
	if err != nil {
		return v
	}
	img, err := key.Image(200, 200)
	if err != nil {
		return v
	}
	var b bytes.Buffer
	if png.Encode(&b, img) == nil {
		v.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes()))
	}
	return v
}
