package notify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/websystems/loendur/dashboard/reports"
)

// DueAfter is how long after a period ends its report is sent: visits still open at
// midnight have ended and the report's last day is complete.
const DueAfter = time.Hour

// errNoMail is a delivery's error when this process has no SMTP server (--smtp).
var errNoMail = errors.New("no SMTP server configured (--smtp)")

// scheduled sends the weekly and monthly reports of st that are due, to each
// recipient once, and retries those of the period before that have not gone out.
func (s *Service) scheduled(ctx context.Context, st Settings) error {
	loc := s.location(st.Site)
	now := s.opts.Now()
	var errs []error
	for _, kind := range []string{Weekly, Monthly} {
		if (kind == Weekly && st.Weekly == 0) || (kind == Monthly && st.Monthly == 0) {
			continue
		}
		// The last period, and the one before it for what did not go out then.
		p, name, err := ScheduledPeriod(kind, now.Add(-DueAfter), loc)
		if err != nil {
			return err
		}
		errs = append(errs, s.sendPeriod(ctx, st, kind, p, name, false))
		older, oname, err := ScheduledPeriod(kind, p.Current.Start, loc)
		if err != nil {
			continue
		}
		errs = append(errs, s.sendPeriod(ctx, st, kind, older, oname, true))
		// Two periods back is too late to be a report: what never went out is given up,
		// loudly, once.
		if _, gname, err := ScheduledPeriod(kind, older.Current.Start, loc); err == nil {
			errs = append(errs, s.giveUp(ctx, st, "report "+kind+" "+gname))
		}
	}
	return errors.Join(errs...)
}

// giveUp records, and logs as an error, each delivery of what that was tried and never
// sent: the one place an unsent mail stops being retried.
func (s *Service) giveUp(ctx context.Context, st Settings, what string) error {
	var errs []error
	for _, to := range st.Recipients {
		k := key{st.Site, what, to}
		rows, err := s.deliveryRows(ctx, k)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		last, done := "", false
		for _, r := range rows {
			done = done || r.State == stateSent || r.State == stateGaveUp
			if r.State == stateFailed {
				last = r.Detail
			}
		}
		if len(rows) == 0 || done {
			continue
		}
		s.log.Error("notify: gave up a report that could not be sent", "delivery", k.String(), "last_error", last)
		errs = append(errs, s.record(ctx, k, 0, stateGaveUp, time.Time{}, "gave up: "+last))
	}
	return errors.Join(errs...)
}

// sendPeriod delivers the report of p to each recipient of st; onlyStarted limits it
// to deliveries that were attempted already (retries of an older period).
func (s *Service) sendPeriod(ctx context.Context, st Settings, kind string, p reports.Period, name string, onlyStarted bool) error {
	what := "report " + kind + " " + name
	var rep *Report
	var errs []error
	for _, to := range st.Recipients {
		k := key{st.Site, what, to}
		if onlyStarted {
			rows, err := s.deliveryRows(ctx, k)
			if err != nil || len(rows) == 0 {
				errs = append(errs, err)
				continue
			}
		}
		_, err := s.deliver(ctx, k, func(ctx context.Context) error {
			if s.opts.Mail == nil {
				return errNoMail
			}
			if rep == nil {
				r, err := s.Build(ctx, st.Site, titles[kind], p)
				if err != nil {
					return err
				}
				rep = &r
			}
			return s.sendReport(ctx, st, *rep, to)
		})
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

var titles = map[string]string{Weekly: "Weekly report", Monthly: "Monthly report"}

func (s *Service) sendReport(ctx context.Context, st Settings, r Report, to string) error {
	msg, err := r.Message(to, s.dashboardURL(st.Site), s.unsubscribeURL(st, listReports, to))
	if err != nil {
		return err
	}
	return s.opts.Mail.Send(ctx, msg)
}

func (s *Service) dashboardURL(site string) string {
	if s.opts.PublicURL == "" {
		return ""
	}
	return strings.TrimSuffix(s.opts.PublicURL, "/") + "/sites/" + url.PathEscape(site)
}

// SendNow sends the report of site for period (7d, 30d or month, as the dashboard
// names them) to one address now, and records it. `loendur report send` runs it.
func (s *Service) SendNow(ctx context.Context, site, period, to string) (Report, error) {
	if s.opts.Mail == nil {
		return Report{}, errNoMail
	}
	if _, ok := s.opts.Sites.Lookup(site); !ok {
		return Report{}, fmt.Errorf("site %s is not registered", site)
	}
	addr, err := addresses("--to", []string{to})
	if err != nil || len(addr) == 0 {
		return Report{}, fmt.Errorf("--to: %w", orMissing(err))
	}
	if period != reports.Period7d && period != reports.Period30d && period != reports.PeriodMonth {
		return Report{}, fmt.Errorf("--period %q: use 7d, 30d or month", period)
	}
	loc := s.location(site)
	p, err := reports.ParsePeriod(period, "", "", loc, s.opts.Now())
	if err != nil {
		return Report{}, err
	}
	st, err := s.Settings(ctx, site)
	if err != nil {
		return Report{}, err
	}
	if st.TokenKey == "" { // a site without settings gets its keys now, for the unsubscribe link
		if err := s.write(ctx, &st); err != nil {
			return Report{}, err
		}
	}
	r, err := s.Build(ctx, site, "Report", p)
	if err != nil {
		return Report{}, err
	}
	if err := s.sendReport(ctx, st, r, addr[0]); err != nil {
		return Report{}, err
	}
	k := key{site, "report now " + period + " " + p.Current.From.Format("2006-01-02") + " " + s.owner, addr[0]}
	return r, s.record(ctx, k, 0, stateSent, time.Time{}, "")
}

func orMissing(err error) error {
	if err == nil {
		return errors.New("give an address")
	}
	return err
}
