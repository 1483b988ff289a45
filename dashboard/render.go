package dashboard

import (
	"embed"
	"html/template"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/dashboard/web"
)

// templateFiles are the admin, account and sign-in pages; each defines "content" and
// is rendered in the one layout of dashboard/web.
//
//go:embed templates/*.html
var templateFiles embed.FS

// pageFuncs are the template functions of these pages.
var pageFuncs = template.FuncMap{"when": formatTime, "has": hasString, "dict": dict}

// view is what every page template receives; pages fill the fields they use.
type view struct {
	web.Header // title, caller, CSRF token, notice, error, secret: what the layout shows

	Login    loginView
	Sites    []siteView
	AllSites []string
	Users    []*auth.User
	UserRows []userRow     // the Users table, narrowed by Query
	Query    string        // the Users page's search
	Edit     *userRow      // the account of /admin/users/ID
	EditKeys []auth.APIKey // its live API keys
	Audit    []auth.AuditEntry
	Keys     []auth.APIKey
	TOTP     *totpView
	// RecoveryLeft is how many unspent recovery codes the caller has (Account page).
	RecoveryLeft int
	Requests     *requestsView
	Shares       *sharesView
	Notify       *notifyView
	// Typed is what a failed form sent, shown again in its fields (by field name).
	Typed map[string]string
	// TypedSites are the sites a failed user edit ticked.
	TypedSites []string
}

func (d *Dashboard) newView(c *fiber.Ctx, title string) *view {
	u := auth.CurrentUser(c)
	var menu []string
	if u != nil {
		menu = web.ReadableSites(d.opts.Sites, u)
	}
	v := &view{Header: web.NewHeader(c, title, menu)}
	d.takeFlash(c, v)
	return v
}

func (d *Dashboard) render(c *fiber.Ctx, status int, page string, v *view) error {
	return d.front.Render(c, status, page, v)
}

// statusOf and message are the pages' view of web.Answer, the one place the dashboard
// decides how an error is answered: its status, and the line the person is shown.
func statusOf(err error) int {
	e, _ := web.Answer(err)
	return e.Status
}

// message is what the person is told about err: their mistake, or a generic line for
// ours (the details go to the log).
func (d *Dashboard) message(err error) string {
	e, unexpected := web.Answer(err)
	if unexpected {
		d.log.Error("dashboard request", "err", err)
	}
	return e.Message
}

// apiError answers err as JSON.
func (d *Dashboard) apiError(c *fiber.Ctx, err error) error { return web.APIError(c, d.log, err) }

// retryAfter is a Retry-After value: whole seconds, rounded up.
func retryAfter(w time.Duration) string { return web.RetryAfter(w) }

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
