package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/websystems/loendur/dashboard"
	"github.com/websystems/loendur/internal/notice"
	"github.com/websystems/loendur/internal/privacy"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
)

// noticeFlags are the settings of the privacy notice that serve and `loendur privacy`
// share: who the agency is. (Where visitors reach loendur is --public-url.)
type noticeFlags struct {
	AgencyName    string
	AgencyDomains []string
}

// addNoticeFlags defines the notice's agency flags on fs and notes their environment
// variables in env; --public-url is addPublicURLFlag's (serve shares it with the mails).
func addNoticeFlags(fs *flag.FlagSet, env map[string]string, n *noticeFlags) {
	fs.StringVar(&n.AgencyName, "agency-name", "", "the agency's name, as the privacy notice names it ($"+envPrefix+"AGENCY_NAME)")
	env["agency-name"] = "AGENCY_NAME"
	fs.Var(listFlag{&n.AgencyDomains}, "agency-domains", "the agency's e-mail and web domains, comma-separated: with a site's own domain they are \"inside\"; reports reaching anyone else count as shared ($"+envPrefix+"AGENCY_DOMAINS)")
	env["agency-domains"] = "AGENCY_DOMAINS"
}

// options checks the flags and turns them into the dashboard's notice options.
func (n noticeFlags) options() (dashboard.NoticeOptions, error) {
	var errs []error
	o := dashboard.NoticeOptions{Agency: notice.Agency{Name: strings.TrimSpace(n.AgencyName)}}
	for _, raw := range n.AgencyDomains {
		d, err := sites.NormalizeDomain(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("--agency-domains: %w", err))
			continue
		}
		o.Agency.Domains = append(o.Agency.Domains, d)
	}
	return o, errors.Join(errs...)
}

const privacyUsage = "loendur privacy --site DOMAIN [--lang en|et] [--format text|html|json] [--db DSN]"

// runPrivacy handles `loendur privacy`: the consent-exemption check of a site and its
// privacy notice, from the site's settings and data in the database.
func runPrivacy(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("privacy", flag.ContinueOnError)
	env := map[string]string{}
	dsn := dbFlag(fs)
	site := fs.String("site", "", "the site (registered domain)")
	lang := fs.String("lang", "en", "language of the notice: en or et")
	format := fs.String("format", "text", "text (the check and the notice), html (the notice and its snippets) or json (everything, both languages)")
	ipv4 := envInt(fs, env, "ipv4-prefix", "IPV4_PREFIX", privacy.DefaultV4Bits, "IPv4 bits ingestion keeps (as given to serve)")
	ipv6 := envInt(fs, env, "ipv6-prefix", "IPV6_PREFIX", privacy.DefaultV6Bits, "IPv6 bits ingestion keeps (as given to serve)")
	var nf noticeFlags
	addNoticeFlags(fs, env, &nf)
	var publicURL string
	addPublicURLFlag(fs, env, &publicURL, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; usage: %s", fs.Arg(0), privacyUsage)
	}
	if err := applyEnv(fs, env); err != nil {
		return err
	}
	opts, err := nf.options()
	if err != nil {
		return err
	}
	if err := checkPublicURL(publicURL); err != nil {
		return err
	}
	tr, err := privacy.NewTruncator(*ipv4, *ipv6)
	if err != nil {
		return err
	}
	if *lang != "en" && *lang != "et" {
		return fmt.Errorf("--lang %q: choose en or et", *lang)
	}
	if *format != "text" && *format != "html" && *format != "json" {
		return fmt.Errorf("--format %q: choose text, html or json", *format)
	}
	if *site == "" {
		return fmt.Errorf("--site is required; usage: %s", privacyUsage)
	}
	domain, err := sites.NormalizeDomain(*site)
	if err != nil {
		return fmt.Errorf("--site: %w", err)
	}
	return withStore(*dsn, func(ctx context.Context, db store.Store) error {
		reg := sites.NewRegistry(db, slog.New(slog.DiscardHandler))
		if err := reg.Load(ctx); err != nil {
			return err
		}
		s, ok := reg.Lookup(domain)
		if !ok {
			return fmt.Errorf("site %s is not registered", domain)
		}
		f, err := notice.Gather(ctx, notice.Sources{DB: db, Truncator: tr, Agency: opts.Agency, BaseURL: strings.TrimRight(publicURL, "/"),
			Readers: dashboard.Readers(db), Links: dashboard.SharedLinks(db, time.Now), Mail: dashboard.Recipients(db),
			Imports: dashboard.RawImports(db)}, s)
		if err != nil {
			return err
		}
		r, err := notice.Build(f)
		if err != nil {
			return err
		}
		return printPrivacy(stdout, r, *lang, *format)
	})
}

func printPrivacy(w io.Writer, r notice.Report, lang, format string) error {
	n := r.Notices[lang]
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "html":
		_, err := fmt.Fprintf(w, "<!-- loendur: privacy notice of %s. The tracker goes on every page; the controls below it on the privacy page. -->\n%s%s\n%s",
			r.Site, n.HTML, n.Tracker, n.Controls)
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Consent exemption of %s (guidance, not legal advice)\n%s\n\n", r.Site, r.Check.Verdict)
	for _, c := range r.Check.Conditions {
		status := "met    "
		if !c.Met {
			status = "NOT MET"
		}
		fmt.Fprintf(&b, "  [%s] %s\n            %s\n", status, c.Title, c.Reason)
	}
	fmt.Fprintf(&b, "\n--- Privacy notice (%s) ---\n\n%s\n--- Tracker, on every page ---\n%s\n\n--- Controls, on the privacy page below the tracker ---\n%s", lang, n.Text, n.Tracker, n.Controls)
	_, err := io.WriteString(w, b.String())
	return err
}
