package auth

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// LoginCookie carries the login form's CSRF token (double-submit): there is no session
// yet to bind it to, and a forged login would sign a person into someone else's account.
const LoginCookie = "loendur_login"

// LoginFormToken returns the token to put in the login form's csrf field, setting its
// cookie when the browser has none.
func (s *Service) LoginFormToken(c *fiber.Ctx) string {
	if tok := c.Cookies(LoginCookie); len(tok) == 43 {
		return strings.Clone(tok)
	}
	tok := newToken()
	c.Cookie(&fiber.Cookie{Name: LoginCookie, Value: tok, Path: "/login", HTTPOnly: true, Secure: s.secure,
		SameSite: fiber.CookieSameSiteStrictMode, Expires: s.now().Add(24 * time.Hour)})
	return tok
}

// ErrLoginForm means the login form's CSRF token was missing or did not match.
var ErrLoginForm = errors.New("the sign-in form expired: reload the page and try again")

// LoginInput is what the login form sends.
type LoginInput struct {
	Email    string `form:"email" json:"email"`
	Password string `form:"password" json:"password"`
	Code     string `form:"code" json:"code"` // TOTP, when enrolled or enrolling
	CSRF     string `form:"csrf" json:"csrf"`
}

// Login reserves its place with the throttle, checks the password and the second
// factor, then starts a fresh session (ending the one the browser came with: rotation)
// and sets its cookie.
func (s *Service) Login(c *fiber.Ctx, in LoginInput) (*User, error) {
	if !sameToken(in.CSRF, c.Cookies(LoginCookie)) {
		return nil, ErrLoginForm
	}
	ctx := c.UserContext()
	addr := s.clientIP(c)
	email := strings.Clone(strings.ToLower(strings.TrimSpace(in.Email)))
	try, err := s.throttle.reserve(email, addr)
	if err != nil {
		return nil, err
	}
	u, codes, err := s.verify(ctx, email, in)
	try.end(outcomeOf(err))
	if err != nil {
		s.auditFailure(ctx, email, err, storedAddr(addr))
		return nil, err
	}
	if err := s.startSession(c, u); err != nil {
		return nil, err
	}
	if codes != nil {
		c.Locals(localRecovery, codes)
	}
	s.audit(ctx, u.Email, "login", u.Email, "", storedAddr(addr))
	return u, nil
}

// outcomeOf is what a check's result means to the throttle: only a wrong secret counts
// as a failure, not a disabled account or a code still to be entered.
func outcomeOf(err error) outcome {
	if err == nil {
		return succeeded
	}
	if errors.Is(err, ErrCredentials) || errors.Is(err, ErrTOTPWrong) {
		return failed
	}
	return neutral
}

// verify returns the account when password and second factor are right, and the
// recovery codes of a two-factor enrolment done on the way.
func (s *Service) verify(ctx context.Context, email string, in LoginInput) (*User, []string, error) {
	r, err := userByEmail(ctx, s.db, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, nil, err
	}
	hash := ""
	if r != nil {
		hash = r.PasswordHash
	}
	if !s.checkPassword(in.Password, hash) || r == nil {
		return nil, nil, ErrCredentials
	}
	if r.Disabled == 1 {
		return nil, nil, ErrDisabled
	}
	codes, err := s.checkTOTP(ctx, r, in.Code)
	if err != nil {
		return nil, nil, err
	}
	return r.user(), codes, nil
}

// auditFailure records a failed login. An unknown email is not stored: people type
// their password into the email field, and the log must hold no secrets.
func (s *Service) auditFailure(ctx context.Context, email string, err error, addr string) {
	reason := "wrong password"
	var setup *TOTPSetupError
	switch {
	case errors.Is(err, ErrDisabled):
		reason = "account disabled"
	case errors.Is(err, ErrTOTPNeeded):
		reason = "TOTP code needed"
	case errors.Is(err, ErrTOTPWrong):
		reason = "wrong TOTP code"
	case errors.As(err, &setup):
		reason = "TOTP enrolment"
	case !errors.Is(err, ErrCredentials):
		reason = "error"
	}
	if _, lookupErr := userByEmail(ctx, s.db, email); lookupErr != nil {
		email, reason = "", "unknown account"
	}
	s.audit(ctx, email, "login_failed", email, reason, addr)
}

// startSession ends the session the request came with, if any, and starts a new one
// for u: an id planted before login (session fixation) never becomes authenticated.
func (s *Service) startSession(c *fiber.Ctx, u *User) error {
	ctx := c.UserContext()
	if old := c.Cookies(SessionCookie); old != "" {
		if err := s.revokeToken(ctx, strings.Clone(old)); err != nil {
			return err
		}
	}
	tok, expires, err := s.createSession(ctx, u.ID)
	if err != nil {
		return err
	}
	s.setCookie(c, tok, expires)
	c.Locals(localUser, u)
	c.Locals(localCSRF, csrfToken(tok))
	c.Locals(localVia, "session")
	c.Locals(localTok, tok)
	return nil
}

// Logout ends the caller's session server-side and clears the cookie.
func (s *Service) Logout(c *fiber.Ctx) error {
	tok, _ := c.Locals(localTok).(string)
	if tok == "" {
		s.clearCookie(c)
		return nil
	}
	if err := s.revokeToken(c.UserContext(), tok); err != nil {
		return err
	}
	s.clearCookie(c)
	if u := CurrentUser(c); u != nil {
		s.audit(c.UserContext(), u.Email, "logout", u.Email, "", storedAddr(s.clientIP(c)))
	}
	return nil
}

// ChangePassword sets the caller's password after checking the current one, ends all
// of the account's sessions and starts a new one for this browser.
func (s *Service) ChangePassword(c *fiber.Ctx, current, next string) error {
	u := CurrentUser(c)
	if u == nil || ViaAPIKey(c) {
		return ErrForbidden
	}
	ctx := c.UserContext()
	r, err := userByID(ctx, s.db, u.ID)
	if err != nil {
		return err
	}
	// Throttled like a login, by the same counters: a stolen session must not become
	// a password oracle.
	try, err := s.throttle.reserve(r.Email, s.clientIP(c))
	if err != nil {
		return err
	}
	if !s.checkPassword(current, r.PasswordHash) {
		try.end(failed)
		return invalidf("the current password is wrong")
	}
	try.end(succeeded)
	if r.PasswordHash, err = s.hashPassword(next); err != nil {
		return err
	}
	if err := writeUser(ctx, s.db, r, s.nextVersion()); err != nil {
		return err
	}
	if err := s.revokeUserSessions(ctx, r.ID); err != nil {
		return err
	}
	s.audit(ctx, u.Email, "password_change", u.Email, "", "")
	return s.startSession(c, u)
}
