package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"time"

	"github.com/websystems/loendur/internal/mailer"
)

// Webhook headers: the signature (HMAC-SHA256 of the body under the site's webhook
// secret), the event, and the delivery's id, the same on every retry of one notice so
// a receiver can drop a repeat (a call that timed out may have arrived).
const (
	SignatureHeader = "X-Loendur-Signature"
	EventHeader     = "X-Loendur-Event"
	DeliveryHeader  = "X-Loendur-Delivery"
)

// webhookRecipient is the recipient of a delivery key that is the site's webhook.
const webhookRecipient = "webhook"

// Notice is the JSON body of a webhook call.
type Notice struct {
	Site      string     `json:"site"`
	Alert     string     `json:"alert"`    // stopped, spike, drop
	State     string     `json:"state"`    // open (the alert) or resolved
	Incident  string     `json:"incident"` // the incident's id, the same in its alert and its resolution
	Started   time.Time  `json:"started"`
	Resolved  *time.Time `json:"resolved"`
	Detail    string     `json:"detail"`
	Dashboard string     `json:"dashboard,omitempty"`
	Delivery  string     `json:"delivery"`
}

// Sign is the X-Loendur-Signature value of body under secret: "sha256=" and the hex
// HMAC-SHA256.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// notice sends the alert (state open) or the resolution of inc to every alert
// recipient and the webhook, each once.
func (s *Service) notice(ctx context.Context, st Settings, inc Incident, state string) error {
	what := "alert " + inc.Kind + " " + inc.ID + " " + state
	n := Notice{Site: st.Site, Alert: inc.Kind, State: state, Incident: inc.ID, Started: inc.Started.UTC(),
		Detail: inc.Detail, Dashboard: s.dashboardURL(st.Site), Delivery: deliveryID(st.Site, what)}
	if state == incidentResolved {
		r := inc.Resolved.UTC()
		n.Resolved = &r
	}
	var errs []error
	for _, to := range st.AlertRecipients {
		_, err := s.deliver(ctx, key{st.Site, what, to}, func(ctx context.Context) error {
			if s.opts.Mail == nil {
				return errNoMail
			}
			return s.opts.Mail.Send(ctx, s.alertMail(st, n, to))
		})
		errs = append(errs, err)
	}
	if st.WebhookURL != "" {
		_, err := s.deliver(ctx, key{st.Site, what, webhookRecipient}, func(ctx context.Context) error {
			return s.callWebhook(ctx, st, n)
		})
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func deliveryID(site, what string) string {
	sum := sha256.Sum256([]byte(site + "\n" + what))
	return hex.EncodeToString(sum[:16])
}

var alertNames = map[string]string{AlertStopped: "tracking stopped", AlertSpike: "traffic spike", AlertDrop: "traffic drop"}

func (s *Service) alertMail(st Settings, n Notice, to string) mailer.Message {
	name := alertNames[n.Alert]
	subject := fmt.Sprintf("Alert: %s on %s", name, n.Site)
	head := fmt.Sprintf("%s: %s since %s.", n.Site, name, n.Started.Format("2006-01-02 15:04 UTC"))
	if n.State == incidentResolved {
		subject = fmt.Sprintf("Resolved: %s on %s", name, n.Site)
		head = fmt.Sprintf("%s: %s, which began %s, has ended.", n.Site, name, n.Started.Format("2006-01-02 15:04 UTC"))
	}
	unsub := s.unsubscribeURL(st, listAlerts, to)
	var text, body bytes.Buffer
	fmt.Fprintf(&text, "%s\n\n%s\n", head, n.Detail)
	fmt.Fprintf(&body, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>%s</title></head>`+
		`<body style="font-family:Helvetica,Arial,sans-serif;color:#0f172a"><h1 style="font-size:18px">%s</h1><p>%s</p>`,
		html.EscapeString(subject), html.EscapeString(head), html.EscapeString(n.Detail))
	if n.Dashboard != "" {
		fmt.Fprintf(&text, "\nReport: %s\n", n.Dashboard)
		fmt.Fprintf(&body, `<p><a href="%s">Open the report</a></p>`, html.EscapeString(n.Dashboard))
	}
	if unsub != "" {
		fmt.Fprintf(&text, "\nStop these alerts: %s\n", unsub)
		fmt.Fprintf(&body, `<p style="font-size:12px;color:#64748b"><a href="%s">Stop these alerts</a></p>`, html.EscapeString(unsub))
	}
	body.WriteString("</body></html>")
	return mailer.Message{To: to, Subject: subject, Text: text.String(), HTML: body.String(), Unsubscribe: unsub,
		Headers: map[string]string{"X-Loendur-Incident": n.Alert + " " + n.Incident}}
}

// callWebhook posts n, signed; anything but a 2xx answer within WebhookTimeout is a
// failure, retried later with the same body and delivery id.
func (s *Service) callWebhook(ctx context.Context, st Settings, n Notice) error {
	body, err := json.Marshal(n)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, st.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "loendur-webhook")
	req.Header.Set(SignatureHeader, Sign(st.WebhookSecret, body))
	req.Header.Set(EventHeader, n.State)
	req.Header.Set(DeliveryHeader, n.Delivery)
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", st.WebhookURL, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook %s answered %s", st.WebhookURL, resp.Status)
	}
	return nil
}
