// Package mailer sends e-mail through an SMTP server (github.com/wneessen/go-mail),
// configured by one URL: smtp://[USER:PASSWORD@]HOST:PORT (STARTTLS when the server
// offers it) or smtps://… (TLS from the start). The password never appears in an error
// or a log line: String shows the URL without it. With a user it logs in with PLAIN,
// which go-mail sends only over TLS (STARTTLS or smtps) or to localhost.
package mailer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Timeout bounds one connection to the SMTP server, sending included.
const Timeout = 30 * time.Second

// Config is a parsed --smtp URL and --mail-from.
type Config struct {
	Host     string
	Port     int
	User     string
	password string
	TLS      bool // smtps: TLS from the first byte; otherwise STARTTLS when offered
	From     string
}

// Parse reads an smtp:// or smtps:// URL and the sender address. Its errors never
// contain the password.
func Parse(raw, from string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, errors.New("--smtp must be smtp://[USER:PASSWORD@]HOST:PORT or smtps://…")
	}
	if u.Scheme != "smtp" && u.Scheme != "smtps" {
		return Config{}, fmt.Errorf("--smtp %s: the scheme must be smtp:// or smtps://", redact(u))
	}
	c := Config{Host: u.Hostname(), TLS: u.Scheme == "smtps"}
	if c.Host == "" {
		return Config{}, fmt.Errorf("--smtp %s: no host", redact(u))
	}
	c.Port = 587
	if c.TLS {
		c.Port = 465
	}
	if p := u.Port(); p != "" {
		if c.Port, err = strconv.Atoi(p); err != nil || c.Port < 1 || c.Port > 65535 {
			return Config{}, fmt.Errorf("--smtp %s: bad port", redact(u))
		}
	}
	if u.User != nil {
		c.User = u.User.Username()
		c.password, _ = u.User.Password()
	}
	addr, err := ParseAddress(from)
	if err != nil {
		return Config{}, fmt.Errorf("--mail-from: %w", err)
	}
	c.From = addr
	return c, nil
}

// String is the server's URL without the password.
func (c Config) String() string {
	scheme := "smtp"
	if c.TLS {
		scheme = "smtps"
	}
	user := ""
	if c.User != "" {
		user = url.User(c.User).String() + ":***@"
	}
	return fmt.Sprintf("%s://%s%s:%d", scheme, user, c.Host, c.Port)
}

func redact(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	return u.Scheme + "://" + u.User.Username() + ":***@" + u.Host
}

// ParseAddress checks one e-mail address as a person typed it ("ana@example.com", no
// display name) and returns it trimmed and with the domain lower-cased.
func ParseAddress(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || strings.ContainsAny(s, " \t\r\n<>,;\"") {
		return "", fmt.Errorf("%q is not an e-mail address: write it as name@example.com", raw)
	}
	local, domain, _ := strings.Cut(s, "@")
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", fmt.Errorf("%q is not an e-mail address: the domain after @ needs a dot, as in example.com", raw)
	}
	return local + "@" + strings.ToLower(domain), nil
}

// Inline is a file shown inside the HTML part, referred to as cid:ID.
type Inline struct {
	ID          string
	Name        string
	ContentType string
	Data        []byte
}

// Message is one mail to one recipient.
type Message struct {
	To      string
	Subject string
	Text    string // the plain-text part
	HTML    string // the HTML part (may refer to Inline files as cid:ID)
	Inline  []Inline
	// Unsubscribe is the recipient's one-click unsubscribe URL (List-Unsubscribe,
	// RFC 8058); empty for none.
	Unsubscribe string
	Headers     map[string]string
}

// Mailer sends messages.
type Mailer struct{ cfg Config }

// New returns a mailer for cfg.
func New(cfg Config) *Mailer { return &Mailer{cfg: cfg} }

// String is the server's URL without its password.
func (m *Mailer) String() string { return m.cfg.String() }

// From is the sender address.
func (m *Mailer) From() string { return m.cfg.From }

// build renders msg as go-mail's message: text part, HTML alternative, inline files.
func (m *Mailer) build(msg Message) (*gomail.Msg, error) {
	g := gomail.NewMsg()
	if err := g.From(m.cfg.From); err != nil {
		return nil, fmt.Errorf("sender %q: %w", m.cfg.From, err)
	}
	if err := g.To(msg.To); err != nil {
		return nil, fmt.Errorf("recipient %q: %w", msg.To, err)
	}
	g.Subject(msg.Subject)
	g.SetDate()
	g.SetMessageID()
	if msg.Unsubscribe != "" {
		g.SetGenHeader(gomail.HeaderListUnsubscribe, "<"+msg.Unsubscribe+">")
		g.SetGenHeader(gomail.HeaderListUnsubscribePost, "List-Unsubscribe=One-Click")
	}
	for k, v := range msg.Headers {
		g.SetGenHeader(gomail.Header(k), v)
	}
	g.SetBodyString(gomail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		g.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	}
	for _, f := range msg.Inline {
		if err := g.EmbedReader(f.Name, bytes.NewReader(f.Data), gomail.WithFileContentID(f.ID),
			gomail.WithFileContentType(gomail.ContentType(f.ContentType))); err != nil {
			return nil, fmt.Errorf("embed %s: %w", f.Name, err)
		}
	}
	return g, nil
}

// Send delivers msg. An error names the server (without its password) and what failed.
func (m *Mailer) Send(ctx context.Context, msg Message) error {
	g, err := m.build(msg)
	if err != nil {
		return err
	}
	opts := []gomail.Option{gomail.WithPort(m.cfg.Port), gomail.WithTimeout(Timeout),
		gomail.WithTLSPolicy(gomail.TLSOpportunistic)}
	if m.cfg.TLS {
		opts = []gomail.Option{gomail.WithPort(m.cfg.Port), gomail.WithTimeout(Timeout), gomail.WithSSL()}
	}
	if m.cfg.User != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain),
			gomail.WithUsername(m.cfg.User), gomail.WithPassword(m.cfg.password))
	}
	client, err := gomail.NewClient(m.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", m.cfg, err)
	}
	if err := client.DialAndSendWithContext(ctx, g); err != nil {
		return fmt.Errorf("send mail through %s: %s", m.cfg, scrub(err.Error(), m.cfg.password))
	}
	return nil
}

// scrub removes the password from a library's error text, should it ever echo it.
func scrub(s, password string) string {
	if password == "" {
		return s
	}
	return strings.ReplaceAll(s, password, "***")
}
