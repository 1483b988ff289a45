package dashboard

import (
	"embed"
	"errors"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/dashboard/auth"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static/dashboard.css
var css []byte

// pages holds one template set per page, each the layout plus that page, so every page
// can define its own "content".
var pages = func() map[string]*template.Template {
	funcs := template.FuncMap{"when": formatTime, "has": hasString, "dict": dict}
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html"))
	out := map[string]*template.Template{}
	for _, name := range []string{"login", "sites", "users", "audit", "account", "requests"} {
		t := template.Must(layout.Clone())
		out[name] = template.Must(t.ParseFS(templateFiles, "templates/"+name+".html"))
	}
	return out
}()

// Security headers of every page: nothing from another origin, no inline script or
// style (the QR code is a data: image), never framed, never cached (secrets are shown
// once).
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"

// view is what every page template receives; pages fill the fields they use.
type view struct {
	Title  string
	User   *auth.User
	CSRF   string
	Notice string // what just happened
	Error  string // what went wrong, for the person to fix
	Secret string // shown once: a generated password or a new API key

	Login    loginView
	Sites    []siteView
	AllSites []string
	Users    []*auth.User
	UserKeys map[string][]auth.APIKey // live API keys by account id (Users page)
	Audit    []auth.AuditEntry
	Keys     []auth.APIKey
	TOTP     *totpView
	Requests *requestsView
}

func (d *Dashboard) newView(c *fiber.Ctx, title string) *view {
	return &view{Title: title, User: auth.CurrentUser(c), CSRF: auth.CSRFToken(c)}
}

func (d *Dashboard) render(c *fiber.Ctx, status int, page string, v *view) error {
	var b strings.Builder
	if err := pages[page].ExecuteTemplate(&b, "layout.html", v); err != nil {
		d.log.Error("render page", "page", page, "err", err)
		return fiber.NewError(fiber.StatusInternalServerError, "could not render the page")
	}
	setPageHeaders(c)
	c.Type("html", "utf-8")
	return c.Status(status).SendString(b.String())
}

func setPageHeaders(c *fiber.Ctx) {
	c.Set(fiber.HeaderContentSecurityPolicy, contentSecurityPolicy)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set(fiber.HeaderReferrerPolicy, "same-origin")
}

// apiHeaders marks every answer under /api/v1 (JSON, CSV downloads, and errors,
// the authentication middleware's refusals included) as not to be stored by any cache,
// shared or the browser's (reports and exports hold personal data, /me the CSRF
// token), and not to be sniffed as another type (a CSV or JSON body must never become
// HTML or script). Handlers may override it (none does); HTML pages get the same two
// from setPageHeaders.
func apiHeaders(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	return c.Next()
}

func serveCSS(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	c.Type("css", "utf-8")
	return c.Send(css)
}

// statusOf is the one place an error becomes an HTTP status.
func statusOf(err error) int {
	var throttled *auth.ThrottledError
	var setup *auth.TOTPSetupError
	switch {
	case errors.As(err, &throttled):
		return fiber.StatusTooManyRequests
	case errors.Is(err, auth.ErrCredentials), errors.Is(err, auth.ErrDisabled), errors.Is(err, auth.ErrTOTPNeeded),
		errors.As(err, &setup):
		return fiber.StatusUnauthorized
	case errors.Is(err, auth.ErrInvalid), errors.Is(err, auth.ErrTOTPWrong):
		return fiber.StatusBadRequest
	case errors.Is(err, auth.ErrNotFound):
		return fiber.StatusNotFound
	case errors.Is(err, auth.ErrForbidden), errors.Is(err, auth.ErrLoginForm):
		return fiber.StatusForbidden
	default:
		return fiber.StatusInternalServerError
	}
}

// message is what the person is told about err: the error itself for their mistakes,
// a generic line for ours (the details go to the log).
func (d *Dashboard) message(err error) string {
	if statusOf(err) == fiber.StatusInternalServerError {
		d.log.Error("dashboard request", "err", err)
		return "something went wrong on our side; try again, and tell an admin if it persists"
	}
	msg := err.Error()
	for _, sentinel := range []error{auth.ErrInvalid, auth.ErrForbidden} {
		msg = strings.TrimPrefix(msg, sentinel.Error()+": ")
	}
	return msg
}

// apiError answers err as JSON.
func (d *Dashboard) apiError(c *fiber.Ctx, err error) error {
	var throttled *auth.ThrottledError
	if errors.As(err, &throttled) {
		c.Set(fiber.HeaderRetryAfter, retryAfter(throttled.Wait))
	}
	return c.Status(statusOf(err)).JSON(fiber.Map{"error": d.message(err)})
}

// retryAfter is a Retry-After value: whole seconds, rounded up.
func retryAfter(w time.Duration) string {
	return strconv.Itoa(int((w + time.Second - 1) / time.Second))
}

func formatTime(t time.Time) string {
	if t.Unix() <= 0 {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// dict builds a map from key, value pairs, to pass several values to a sub-template.
func dict(kv ...any) map[string]any {
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// hasString reports whether list (a []string, or nil) holds s.
func hasString(list any, s string) bool {
	l, _ := list.([]string)
	return slices.Contains(l, s)
}
