// Package notify sends what a site's people asked to be told: the weekly and monthly
// e-mail report (its figures from dashboard/reports, the queries the dashboard shows)
// and alerts when tracking stops or traffic jumps or falls, by e-mail and signed
// webhook. Several collectors may share one database: every mail and webhook call is
// claimed in ClickHouse first (deliver.go), so it goes out once, and a failed one is
// retried with backoff until it goes out.
package notify

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/dashboard/reports"
	"github.com/websystems/loendur/internal/audit"
	"github.com/websystems/loendur/internal/mailer"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
)

// Defaults of Options.
const (
	DefaultInterval       = time.Minute
	DefaultSettle         = 3 * time.Second
	DefaultWebhookTimeout = 10 * time.Second
)

// Sender sends one mail (internal/mailer.Mailer).
type Sender interface {
	Send(ctx context.Context, msg mailer.Message) error
}

// Options configure a Service. cmd/loendur is the only place that builds them.
type Options struct {
	DB      store.Store
	Sites   *sites.Registry
	Reports *reports.Service
	// Mail sends e-mail; nil: none is configured (--smtp), and mails wait, logged,
	// until a process that has one sends them.
	Mail Sender
	// PublicURL is where people reach this server (unsubscribe links), e.g.
	// https://stats.example.com.
	PublicURL string
	Log       *slog.Logger
	Now       func() time.Time // nil: time.Now
	// Interval is how often the scheduler looks for due reports and alerts.
	Interval time.Duration
	// Settle is how long a claim waits for other processes' claims of the same mail
	// before the smallest owner sends it: longer than an insert takes.
	Settle time.Duration
	// WebhookTimeout bounds one webhook call.
	WebhookTimeout time.Duration
}

// Service runs the schedules and alerts and keeps their settings.
type Service struct {
	opts  Options
	log   *slog.Logger
	owner string // this process's claims; random, so two processes never share one
	http  *http.Client
}

// New checks opts and returns the service.
func New(opts Options) (*Service, error) {
	if opts.DB == nil || opts.Sites == nil {
		return nil, errors.New("notify: Options.DB and Options.Sites are required")
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Settle <= 0 {
		opts.Settle = DefaultSettle
	}
	if opts.WebhookTimeout <= 0 {
		opts.WebhookTimeout = DefaultWebhookTimeout
	}
	return &Service{opts: opts, log: opts.Log, owner: uuid.NewString(),
		http: &http.Client{Timeout: opts.WebhookTimeout}}, nil
}

// Run looks for due reports and alerts every Interval until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	for {
		s.Tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick sends what is due now: each site's report of the period that ended, alerts
// that began or ended, and retries of what failed before. Errors are logged, and what
// failed is tried again at a later tick.
func (s *Service) Tick(ctx context.Context) {
	all, err := s.allSettings(ctx)
	if err != nil {
		s.log.Warn("notify: read settings", "err", err)
		return
	}
	for _, st := range all {
		if _, ok := s.opts.Sites.Lookup(st.Site); !ok {
			continue // removed site
		}
		if err := s.scheduled(ctx, st); err != nil {
			s.log.Warn("notify: scheduled reports", "site", st.Site, "err", err)
		}
		if err := s.alerts(ctx, st); err != nil {
			s.log.Warn("notify: alerts", "site", st.Site, "err", err)
		}
	}
}

func (s *Service) audit(ctx context.Context, actor, action, target, detail string) {
	if err := audit.Write(ctx, s.opts.DB, audit.Entry{Actor: actor, Action: action, Target: target, Detail: detail}); err != nil {
		s.log.Warn("notify: audit", "err", err)
	}
}
