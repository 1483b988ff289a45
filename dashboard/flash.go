package dashboard

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

// After a form succeeds the page redirects to its GET address (POST-redirect-GET), so
// a reload never sends the form again. What the page says once about that change (a
// notice, and a secret shown once: a generated password, a new API key) waits here,
// in memory, under a random id in a short-lived cookie, for the one GET that follows.
// A failed form is not redirected: it is shown again with what was typed and the error.

const (
	flashCookie = "loendur_flash"
	flashTTL    = time.Minute
	maxFlashes  = 1000 // bounds memory if redirects are never followed
)

type flash struct {
	user, notice, secret string
	// requests is the Data requests page's preview or erasure result: kept in memory
	// (never in the URL, which would put a person's identifiers into history and logs).
	requests *requestsView
	expires  time.Time
}

type flashes struct {
	mu sync.Mutex
	m  map[string]flash
}

func (f *flashes) put(fl flash, now time.Time) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]flash{}
	}
	for k, v := range f.m {
		if now.After(v.expires) || len(f.m) >= maxFlashes {
			delete(f.m, k)
		}
	}
	f.m[id] = fl
	return id
}

// take returns and forgets the flash id of user, if it has not expired.
func (f *flashes) take(id, user string, now time.Time) (flash, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl, ok := f.m[id]
	if !ok || fl.user != user || now.After(fl.expires) {
		return flash{}, false
	}
	delete(f.m, id)
	return fl, true
}

// seeOther answers a successful form: v's notice and secret are kept for the next
// page, to which the browser is sent with 303 See Other.
func (d *Dashboard) seeOther(c *fiber.Ctx, path string, v *view) error {
	if v.Notice != "" || v.Secret != "" || v.Requests != nil {
		id := d.flashes.put(flash{user: v.User.ID, notice: v.Notice, secret: v.Secret, requests: v.Requests,
			expires: d.opts.Now().Add(flashTTL)}, d.opts.Now())
		c.Cookie(&fiber.Cookie{Name: flashCookie, Value: id, Path: "/", MaxAge: int(flashTTL / time.Second),
			HTTPOnly: true, Secure: d.opts.Secure, SameSite: fiber.CookieSameSiteStrictMode})
	}
	return c.Redirect(path, fiber.StatusSeeOther)
}

// takeFlash moves what the last redirect left for this caller into v.
func (d *Dashboard) takeFlash(c *fiber.Ctx, v *view) {
	id := c.Cookies(flashCookie)
	if id == "" || v.User == nil || c.Method() != fiber.MethodGet {
		return
	}
	c.Cookie(&fiber.Cookie{Name: flashCookie, Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(1, 0),
		HTTPOnly: true, Secure: d.opts.Secure, SameSite: fiber.CookieSameSiteStrictMode})
	if fl, ok := d.flashes.take(id, v.User.ID, d.opts.Now()); ok {
		v.Notice, v.Secret, v.Requests = fl.notice, fl.secret, fl.requests
	}
}
