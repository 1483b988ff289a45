package auth

import (
	"crypto/subtle"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Locals keys; unexported types would be safer but Fiber's Locals keys are any, and
// strings keep them readable in a debugger.
const (
	localUser = "loendur.auth.user"
	localCSRF = "loendur.auth.csrf"
	localVia  = "loendur.auth.via"
	localTok  = "loendur.auth.token"
)

// CSRFHeader and CSRFField carry the CSRF token of state-changing requests made with
// the session cookie.
const (
	CSRFHeader = "X-CSRF-Token"
	CSRFField  = "csrf"
)

// CurrentUser is the authenticated caller, or nil.
func CurrentUser(c *fiber.Ctx) *User {
	u, _ := c.Locals(localUser).(*User)
	return u
}

// CSRFToken is the token pages must send back with state-changing requests ("" for
// API-key callers, which need none).
func CSRFToken(c *fiber.Ctx) string {
	t, _ := c.Locals(localCSRF).(string)
	return t
}

// ViaAPIKey reports whether the caller authenticated with a Bearer key. Account
// changes (new keys, password, TOTP) need a session, so a leaked key cannot mint more
// keys or take the account over.
func ViaAPIKey(c *fiber.Ctx) bool { return c.Locals(localVia) == "key" }

// Middleware resolves `Authorization: Bearer KEY` or the session cookie into the
// caller (CurrentUser) and enforces the CSRF token on state-changing requests that
// came with the cookie. Requests with neither pass through unauthenticated.
func (s *Service) Middleware() fiber.Handler {
	return func(c *fiber.Ctx) error {
		// Only Bearer: a reverse proxy's Basic auth in front of the dashboard must not
		// shadow the session cookie.
		if scheme, key, ok := strings.Cut(c.Get(fiber.HeaderAuthorization), " "); ok && strings.EqualFold(scheme, "Bearer") {
			return s.resolveKey(c, strings.TrimSpace(key))
		}
		if tok := c.Cookies(SessionCookie); tok != "" {
			return s.resolveSession(c, strings.Clone(tok))
		}
		return c.Next()
	}
}

func (s *Service) resolveKey(c *fiber.Ctx, key string) error {
	u, err := s.keyUser(c.UserContext(), key)
	if errors.Is(err, ErrNotFound) {
		return deny(c, fiber.StatusUnauthorized, "invalid or revoked API key")
	}
	if err != nil {
		return err
	}
	c.Locals(localUser, u)
	c.Locals(localVia, "key")
	return c.Next()
}

func (s *Service) resolveSession(c *fiber.Ctx, tok string) error {
	ctx := c.UserContext()
	x, err := s.liveSession(ctx, tok)
	if err == nil {
		var r *userRow
		if r, err = userByID(ctx, s.db, x.UserID); err == nil && r.Disabled == 1 {
			err = ErrNotFound
		}
		if err == nil {
			return s.withSession(c, tok, x, r.user())
		}
	}
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	s.clearCookie(c) // ended or unknown: the browser should stop sending it
	return c.Next()
}

func (s *Service) withSession(c *fiber.Ctx, tok string, x *session, u *User) error {
	want := csrfToken(tok)
	if !safeMethod(c.Method()) && !sameToken(sentCSRF(c), want) {
		return deny(c, fiber.StatusForbidden, "missing or wrong CSRF token: reload the page and try again")
	}
	c.Locals(localUser, u)
	c.Locals(localCSRF, want)
	c.Locals(localVia, "session")
	c.Locals(localTok, tok)
	s.touch(c.UserContext(), x)
	return c.Next()
}

func safeMethod(m string) bool {
	return m == fiber.MethodGet || m == fiber.MethodHead || m == fiber.MethodOptions
}

func sentCSRF(c *fiber.Ctx) string {
	if h := c.Get(CSRFHeader); h != "" {
		return h
	}
	// The body only, never the query string (which c.FormValue would read too): a
	// token in a URL leaks through logs, history and Referer headers.
	if v := c.Request().PostArgs().Peek(CSRFField); len(v) > 0 {
		return string(v)
	}
	if f, err := c.MultipartForm(); err == nil && len(f.Value[CSRFField]) > 0 {
		return f.Value[CSRFField][0]
	}
	return ""
}

func sameToken(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// RequireUser refuses unauthenticated callers: 401 JSON for /api/, a redirect to the
// login page (coming back afterwards) for pages.
func RequireUser(c *fiber.Ctx) error {
	if CurrentUser(c) != nil {
		return c.Next()
	}
	if isAPI(c) {
		return deny(c, fiber.StatusUnauthorized, "sign in or send Authorization: Bearer KEY")
	}
	return c.Redirect("/login?next="+url.QueryEscape(c.OriginalURL()), fiber.StatusSeeOther)
}

// RequireAdmin refuses (403) anyone but an admin; use after RequireUser.
func RequireAdmin(c *fiber.Ctx) error {
	if u := CurrentUser(c); u == nil {
		return RequireUser(c)
	} else if !u.IsAdmin() {
		return deny(c, fiber.StatusForbidden, "only admins may do this")
	}
	return c.Next()
}

func isAPI(c *fiber.Ctx) bool { return strings.HasPrefix(c.Path(), "/api/") }

// deny answers a refusal: JSON for the API, plain text for pages.
func deny(c *fiber.Ctx, status int, msg string) error {
	if isAPI(c) {
		return c.Status(status).JSON(fiber.Map{"error": msg})
	}
	return c.Status(status).SendString(msg)
}

func (s *Service) setCookie(c *fiber.Ctx, tok string, expires time.Time) {
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: tok, Path: "/", Expires: expires,
		HTTPOnly: true, Secure: s.secure, SameSite: fiber.CookieSameSiteStrictMode})
}

func (s *Service) clearCookie(c *fiber.Ctx) {
	s.setCookie(c, "", time.Unix(1, 0))
}

// SafeNext returns next when it is a path on this site, else "/": the login page's
// return address must not become an open redirect. Browsers drop tabs and line breaks
// inside a URL and read a backslash as a slash, so "/\t/evil.example" would become
// "//evil.example", another origin: only printable ASCII without a backslash passes (a
// browser sends every other character percent-encoded anyway).
func SafeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return "/"
	}
	for i := 0; i < len(next); i++ {
		if b := next[i]; b <= ' ' || b >= 0x7f || b == '\\' {
			return "/"
		}
	}
	return next
}
