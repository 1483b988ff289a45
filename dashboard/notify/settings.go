package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/websystems/loendur/internal/httperr"
	"github.com/websystems/loendur/internal/mailer"
	"github.com/websystems/loendur/internal/store"
)

// Limits of the settings.
const (
	MaxRecipients   = 50
	MaxStoppedHours = 168
)

const settingsTable = "notify_settings"

var settingsColumns = []string{"site", "weekly", "monthly", "recipients", "alert_recipients", "webhook_url",
	"stopped_hours", "spike", "token_key", "webhook_secret", "updated", "version"}

// Settings are a site's e-mail reports and alerts.
type Settings struct {
	Site            string    `ch:"site" json:"site"`
	Weekly          uint8     `ch:"weekly" json:"-"`
	Monthly         uint8     `ch:"monthly" json:"-"`
	Recipients      []string  `ch:"recipients" json:"recipients"`             // of the reports
	AlertRecipients []string  `ch:"alert_recipients" json:"alert_recipients"` // of the alerts
	WebhookURL      string    `ch:"webhook_url" json:"webhook_url"`
	StoppedHours    uint16    `ch:"stopped_hours" json:"stopped_hours"` // "tracking stopped" after this many hours; 0 off
	Spike           uint8     `ch:"spike" json:"-"`                     // alert on a spike or drop of traffic
	TokenKey        string    `ch:"token_key" json:"-"`                 // signs unsubscribe links
	WebhookSecret   string    `ch:"webhook_secret" json:"-"`            // signs webhook bodies; shown to admins
	Updated         time.Time `ch:"updated" json:"updated"`
}

// Alerting says whether any alert is on and has somewhere to go.
func (st Settings) Alerting() bool {
	return (st.StoppedHours > 0 || st.Spike == 1) && (len(st.AlertRecipients) > 0 || st.WebhookURL != "")
}

// Input is an edit of the settings; nil fields keep their value.
type Input struct {
	Weekly          *bool     `json:"weekly"`
	Monthly         *bool     `json:"monthly"`
	Recipients      *[]string `json:"recipients"`
	AlertRecipients *[]string `json:"alert_recipients"`
	WebhookURL      *string   `json:"webhook_url"`
	StoppedHours    *int      `json:"stopped_hours"`
	Spike           *bool     `json:"spike"`
}

// Settings reads a site's settings; a site without any gets them empty.
func (s *Service) Settings(ctx context.Context, site string) (Settings, error) {
	rows, err := readSettings(ctx, s.opts.DB, site)
	if err != nil || len(rows) == 0 {
		return Settings{Site: site}, err
	}
	return rows[0], nil
}

func (s *Service) allSettings(ctx context.Context) ([]Settings, error) {
	return readSettings(ctx, s.opts.DB, "")
}

// readSettings reads the newest settings of site, or of every site when site is "".
func readSettings(ctx context.Context, db store.Store, site string) ([]Settings, error) {
	q := "SELECT " + strings.Join(settingsColumns[:len(settingsColumns)-1], ", ") + " FROM " + settingsTable
	var args []any
	if site != "" {
		q += " WHERE site = ?"
		args = append(args, site)
	}
	q += " ORDER BY site, version DESC LIMIT 1 BY site"
	var rows []Settings
	if err := db.Select(ctx, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("read notify settings: %w", err)
	}
	return rows, nil
}

// Recipients are the e-mail addresses a site's reports and alerts go to, each once,
// sorted: what a privacy notice must account for.
func Recipients(ctx context.Context, db store.Store, site string) ([]string, error) {
	rows, err := readSettings(ctx, db, site)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	all := append(slices.Clone(rows[0].Recipients), rows[0].AlertRecipients...)
	slices.Sort(all)
	return slices.Compact(all), nil
}

// Save applies in to the site's settings after checking it, and writes them as the
// newest version. A site's keys are made at its first save.
func (s *Service) Save(ctx context.Context, actor, site string, in Input) (Settings, error) {
	if _, ok := s.opts.Sites.Lookup(site); !ok {
		return Settings{}, httperr.New(404, "not_found", fmt.Sprintf("site %s is not registered", site))
	}
	st, err := s.Settings(ctx, site)
	if err != nil {
		return Settings{}, err
	}
	if err := apply(&st, in); err != nil {
		return Settings{}, err
	}
	if err := s.write(ctx, &st); err != nil {
		return Settings{}, err
	}
	s.audit(ctx, actor, "notify_update", site, fmt.Sprintf("weekly=%t monthly=%t recipients=%d alert_recipients=%d webhook=%t stopped_hours=%d spike=%t",
		st.Weekly == 1, st.Monthly == 1, len(st.Recipients), len(st.AlertRecipients), st.WebhookURL != "", st.StoppedHours, st.Spike == 1))
	return st, nil
}

// write stores st as the site's newest settings, making its keys if it has none.
func (s *Service) write(ctx context.Context, st *Settings) error {
	if st.TokenKey == "" {
		st.TokenKey = randomHex()
	}
	if st.WebhookSecret == "" {
		st.WebhookSecret = randomHex()
	}
	now := s.opts.Now().UTC()
	row := []any{st.Site, st.Weekly, st.Monthly, nonNil(st.Recipients), nonNil(st.AlertRecipients), st.WebhookURL,
		st.StoppedHours, st.Spike, st.TokenKey, st.WebhookSecret, now.Truncate(time.Second), uint64(time.Now().UnixNano())}
	if err := s.opts.DB.Insert(ctx, settingsTable, settingsColumns, [][]any{row}); err != nil {
		return fmt.Errorf("save notify settings of %s: %w", st.Site, err)
	}
	return nil
}

func apply(st *Settings, in Input) error {
	flag := func(p *bool, dst *uint8) {
		if p != nil {
			*dst = 0
			if *p {
				*dst = 1
			}
		}
	}
	flag(in.Weekly, &st.Weekly)
	flag(in.Monthly, &st.Monthly)
	flag(in.Spike, &st.Spike)
	var err error
	if in.Recipients != nil {
		if st.Recipients, err = addresses("report recipients", *in.Recipients); err != nil {
			return err
		}
	}
	if in.AlertRecipients != nil {
		if st.AlertRecipients, err = addresses("alert recipients", *in.AlertRecipients); err != nil {
			return err
		}
	}
	if in.WebhookURL != nil {
		u := strings.TrimSpace(*in.WebhookURL)
		if u != "" {
			p, perr := url.Parse(u)
			if perr != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.User != nil {
				return httperr.Invalid("webhook %q: use an http:// or https:// URL without a password in it", u)
			}
		}
		st.WebhookURL = u
	}
	if in.StoppedHours != nil {
		if h := *in.StoppedHours; h < 0 || h > MaxStoppedHours {
			return httperr.Invalid("tracking-stopped hours must be 0 (off) to %d", MaxStoppedHours)
		}
		st.StoppedHours = uint16(*in.StoppedHours)
	}
	if (st.Weekly == 1 || st.Monthly == 1) && len(st.Recipients) == 0 {
		return httperr.Invalid("a weekly or monthly report needs at least one recipient")
	}
	return nil
}

// addresses checks a list of e-mail addresses and returns it normalised and without
// repeats; the first bad one is refused with a message naming it.
func addresses(what string, list []string) ([]string, error) {
	var out []string
	for _, raw := range list {
		if strings.TrimSpace(raw) == "" {
			continue
		}
		a, err := mailer.ParseAddress(raw)
		if err != nil {
			return nil, httperr.Invalid("%s: %v", what, err)
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if len(out) > MaxRecipients {
		return nil, httperr.Invalid("%s: at most %d addresses", what, MaxRecipients)
	}
	return out, nil
}

// SplitAddresses splits what a person typed in a form or a flag (commas, semicolons,
// spaces or line breaks between addresses).
func SplitAddresses(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func randomHex() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}
