package notify

import (
	"html/template"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/internal/httperr"
)

// Register adds the unsubscribe page, which works without signing in: GET shows what
// the link stops and a button (mail scanners open links, so a GET changes nothing);
// POST, the button or a mail client's one-click List-Unsubscribe-Post, unsubscribes.
// Register it before the dashboard's authentication middleware.
func (s *Service) Register(r fiber.Router) {
	r.Get("/unsubscribe/:token", s.unsubscribePage)
	r.Post("/unsubscribe/:token", s.unsubscribePost)
}

var listNames = map[string]string{listReports: "e-mail reports", listAlerts: "alerts"}

type unsubscribeView struct {
	Sub    Subscription
	List   string
	Action string
	Done   bool
	Error  string
}

func (s *Service) unsubscribePage(c *fiber.Ctx) error {
	tok := strings.Clone(c.Params("token"))
	sub, _, err := s.Lookup(c.UserContext(), tok)
	return s.answer(c, sub, err, false)
}

func (s *Service) unsubscribePost(c *fiber.Ctx) error {
	tok := strings.Clone(c.Params("token"))
	sub, err := s.Unsubscribe(c.UserContext(), tok)
	return s.answer(c, sub, err, true)
}

func (s *Service) answer(c *fiber.Ctx, sub Subscription, err error, done bool) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	v := unsubscribeView{Sub: sub, List: listNames[sub.List], Action: c.Path(), Done: done}
	status := fiber.StatusOK
	if err != nil {
		e, ok := httperr.As(err)
		if !ok {
			s.log.Error("notify: unsubscribe", "err", err)
			e = httperr.New(fiber.StatusInternalServerError, "", "Something went wrong on our side. Please try again later.")
		}
		status, v.Error = e.Status, e.Message
	}
	c.Status(status)
	return unsubscribeTemplate.Execute(c.Response().BodyWriter(), v)
}

var unsubscribeTemplate = template.Must(template.New("unsubscribe").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Unsubscribe</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#0f172a}
button{font:inherit;padding:.5rem 1rem;border-radius:.375rem;border:1px solid #2563eb;background:#2563eb;color:#fff;cursor:pointer}
@media (prefers-color-scheme:dark){body{background:#0f172a;color:#e2e8f0}}</style></head>
<body><main>
<h1>Unsubscribe</h1>
{{- if .Error}}
<p id="message">{{.Error}}</p>
{{- else if .Done}}
<p id="message">Done: <strong>{{.Sub.Address}}</strong> no longer receives the {{.List}} of <strong>{{.Sub.Site}}</strong>.</p>
{{- else if not .Sub.Subscribed}}
<p id="message"><strong>{{.Sub.Address}}</strong> does not receive the {{.List}} of <strong>{{.Sub.Site}}</strong>.</p>
{{- else}}
<p id="message">Stop sending the {{.List}} of <strong>{{.Sub.Site}}</strong> to <strong>{{.Sub.Address}}</strong>?</p>
<form method="post" action="{{.Action}}"><button type="submit" id="confirm">Unsubscribe</button></form>
{{- end}}
</main></body></html>
`))
