package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/websystems/loendur/dashboard/notify"
	"github.com/websystems/loendur/dashboard/reports"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
)

const reportUsage = `usage:
  loendur report send --site DOMAIN --period 7d|30d|month --to ADDRESS --smtp URL --mail-from ADDRESS [--public-url URL] [--db DSN]
  loendur report schedule --site DOMAIN [--weekly] [--monthly] --to ADDRESS[,ADDRESS…] [--db DSN]
  loendur alert set --site DOMAIN [--stopped-hours N] [--spike] [--to ADDRESS,…] [--webhook URL] [--db DSN]`

// runReport handles `loendur report send` (one report now) and `loendur report
// schedule` (a site's weekly and monthly reports and their recipients).
func runReport(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(reportUsage)
	}
	switch args[0] {
	case "send":
		return runReportSend(args[1:], stdout)
	case "schedule":
		return runReportSchedule(args[1:], stdout)
	}
	return errors.New(reportUsage)
}

func runReportSend(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("report send", flag.ContinueOnError)
	dsn := dbFlag(fs)
	env := map[string]string{}
	var mc mailConfig
	addMailFlags(fs, env, &mc, "")
	site := fs.String("site", "", "the site (registered domain)")
	period := fs.String("period", reports.Period7d, "7d, 30d or month (this month so far), in the site's time zone")
	to := fs.String("to", "", "the recipient's address")
	if err := parseFlags(fs, env, args); err != nil {
		return err
	}
	if err := mc.validate(); err != nil {
		return err
	}
	m, err := mc.mailer()
	if err != nil {
		return err
	}
	if m == nil {
		return errors.New("report send needs --smtp and --mail-from (or LOENDUR_SMTP and LOENDUR_MAIL_FROM)")
	}
	return withNotify(*dsn, func(ctx context.Context, db store.Store, reg *sites.Registry) error {
		rep, err := reports.New(reports.Deps{DB: db, Sites: reg})
		if err != nil {
			return err
		}
		svc, err := notify.New(notify.Options{DB: db, Sites: reg, Reports: rep, Mail: m, PublicURL: mc.PublicURL})
		if err != nil {
			return err
		}
		r, err := svc.SendNow(ctx, strings.TrimSpace(*site), *period, *to)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "sent the report of %s for %s (%d visitors) to %s\n", r.Site,
			r.Period.Current.From.Format("2006-01-02")+".."+r.Period.Current.To.Format("2006-01-02"),
			int(r.Overview.Visitors.Value), strings.TrimSpace(*to))
		return nil
	})
}

func runReportSchedule(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("report schedule", flag.ContinueOnError)
	dsn := dbFlag(fs)
	site := fs.String("site", "", "the site (registered domain)")
	weekly := fs.Bool("weekly", false, "send a report after each week (Monday to Sunday)")
	monthly := fs.Bool("monthly", false, "send a report after each month")
	to := fs.String("to", "", "recipients, comma-separated (replaces the list)")
	if err := parseFlags(fs, nil, args); err != nil {
		return err
	}
	rcpts := notify.SplitAddresses(*to)
	return saveNotify(*dsn, *site, notify.Input{Weekly: weekly, Monthly: monthly, Recipients: &rcpts}, stdout)
}

// runAlert handles `loendur alert set`.
func runAlert(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "set" {
		return errors.New(reportUsage)
	}
	fs := flag.NewFlagSet("alert set", flag.ContinueOnError)
	dsn := dbFlag(fs)
	site := fs.String("site", "", "the site (registered domain)")
	hours := fs.Int("stopped-hours", 0, "alert when no page view arrives for this many hours at a time the site usually has some; 0 = off")
	spike := fs.Bool("spike", false, "alert on a traffic spike or drop")
	to := fs.String("to", "", "alert recipients, comma-separated (replaces the list)")
	hook := fs.String("webhook", "", "URL to POST signed JSON alerts to; empty = none")
	if err := parseFlags(fs, nil, args[1:]); err != nil {
		return err
	}
	rcpts := notify.SplitAddresses(*to)
	return saveNotify(*dsn, *site, notify.Input{StoppedHours: hours, Spike: spike, AlertRecipients: &rcpts, WebhookURL: hook}, stdout)
}

func saveNotify(dsn dbTarget, site string, in notify.Input, stdout io.Writer) error {
	return withNotify(dsn, func(ctx context.Context, db store.Store, reg *sites.Registry) error {
		svc, err := notify.New(notify.Options{DB: db, Sites: reg})
		if err != nil {
			return err
		}
		st, err := svc.Save(ctx, "cli", strings.TrimSpace(site), in)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: weekly=%t monthly=%t recipients=%s\n", st.Site, st.Weekly == 1, st.Monthly == 1, strings.Join(st.Recipients, ","))
		fmt.Fprintf(stdout, "alerts: stopped-hours=%d spike=%t to=%s webhook=%s\n", st.StoppedHours, st.Spike == 1,
			strings.Join(st.AlertRecipients, ","), st.WebhookURL)
		if st.WebhookURL != "" {
			fmt.Fprintf(stdout, "webhook secret (X-Loendur-Signature: sha256=HMAC-SHA256 of the body): %s\n", st.WebhookSecret)
		}
		return nil
	})
}

func withNotify(dsn dbTarget, fn func(ctx context.Context, db store.Store, reg *sites.Registry) error) error {
	return withStore(dsn, func(ctx context.Context, db store.Store) error {
		reg := sites.NewRegistry(db, slog.New(slog.DiscardHandler))
		if err := reg.Load(ctx); err != nil {
			return err
		}
		return fn(ctx, db, reg)
	})
}

// parseFlags parses flags only (no positional argument), then the environment of env.
func parseFlags(fs *flag.FlagSet, env map[string]string, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if env == nil {
		return nil
	}
	return applyEnv(fs, env)
}
