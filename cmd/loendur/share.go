package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/shares"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
)

const shareUsage = `usage:
  loendur share add --site DOMAIN [--name N] [--password-stdin] [--expires YYYY-MM-DD] [--csv] [--embed-origin ORIGIN]... [--db DSN]
  loendur share list --site DOMAIN [--db DSN]
  loendur share revoke --site DOMAIN ID [--db DSN]`

// runShare handles `loendur share add|list|revoke`: read-only links to a site's
// report page (see internal/shares).
func runShare(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(shareUsage)
	}
	switch args[0] {
	case "add":
		return runShareAdd(args[1:], stdin, stdout)
	case "list":
		return runShareList(args[1:], stdout)
	case "revoke":
		return runShareRevoke(args[1:], stdout)
	}
	return fmt.Errorf("unknown share command %q\n%s", args[0], shareUsage)
}

func runShareAdd(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("share add", flag.ContinueOnError)
	dsn := dbFlag(fs)
	site := fs.String("site", "", "the registered site whose reports the link shows")
	name := fs.String("name", "", "a name for the agency's list of links")
	pwStdin := fs.Bool("password-stdin", false, "read the link's password (at least 10 characters) from the first line of stdin")
	expires := fs.String("expires", "", "the last day (UTC) the link works, YYYY-MM-DD")
	csv := fs.Bool("csv", false, "allow CSV downloads on the link's page")
	var origins []string
	fs.Var(listFlag{&origins}, "embed-origin", "an origin whose pages may frame the link, e.g. https://intranet.example.com (repeatable)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	in := shares.New{Name: *name, CSV: *csv, By: "cli"}
	var err error
	if in.Expires, err = shares.ParseExpiry(*expires); err != nil {
		return err
	}
	if in.EmbedOrigins, err = shares.ParseOrigins(origins); err != nil {
		return err
	}
	if *pwStdin {
		pw, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read password from stdin: %w", err)
		}
		if in.PasswordHash, err = auth.HashPassword(strings.TrimRight(pw, "\r\n")); err != nil {
			return err
		}
	}
	return withSite(*dsn, *site, func(ctx context.Context, db store.Store, domain string) error {
		in.Site = domain
		token, l, err := shares.Create(ctx, db, in, time.Now())
		if err != nil {
			return fmt.Errorf("add shared link: %w", err)
		}
		fmt.Fprintf(stdout, "shared link %s for %s (shown once; put this server's address in front):\n%s%s\n",
			l.ID, domain, shares.PathPrefix, token)
		return nil
	})
}

func runShareList(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("share list", flag.ContinueOnError)
	dsn := dbFlag(fs)
	site := fs.String("site", "", "the registered site")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	return withSite(*dsn, *site, func(ctx context.Context, db store.Store, domain string) error {
		links, err := shares.List(ctx, db, domain)
		if err != nil {
			return err
		}
		now := time.Now()
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tNAME\tPASSWORD\tCSV\tEXPIRES\tEMBED\tCREATED\tBY\tLAST USED")
		for _, l := range links {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.ID, orDash(l.Name), yesNo(l.HasPassword()), yesNo(l.CSV()),
				expiry(l, now), orDash(strings.Join(l.EmbedOrigins, " ")), l.Created.UTC().Format(time.RFC3339),
				l.CreatedBy, lastUsed(l))
		}
		return w.Flush()
	})
}

func runShareRevoke(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("share revoke", flag.ContinueOnError)
	dsn := dbFlag(fs)
	site := fs.String("site", "", "the registered site")
	id, err := parseWithPositional(fs, args, "ID")
	if err != nil {
		return err
	}
	return withSite(*dsn, *site, func(ctx context.Context, db store.Store, domain string) error {
		if err := shares.Revoke(ctx, db, domain, id, "cli", time.Now()); err != nil {
			return fmt.Errorf("revoke: %w", err)
		}
		fmt.Fprintf(stdout, "revoked shared link %s of %s\n", id, domain)
		return nil
	})
}

// withSite opens the database and resolves --site to a registered site.
func withSite(dsn dbTarget, raw string, fn func(ctx context.Context, db store.Store, domain string) error) error {
	if raw == "" {
		return errors.New("--site is required")
	}
	domain, err := sites.NormalizeDomain(raw)
	if err != nil {
		return fmt.Errorf("--site: %w", err)
	}
	return withStore(dsn, func(ctx context.Context, db store.Store) error {
		reg := sites.NewRegistry(db, slog.New(slog.DiscardHandler))
		if err := reg.Load(ctx); err != nil {
			return err
		}
		if _, ok := reg.Lookup(domain); !ok {
			return fmt.Errorf("site %s is not registered", domain)
		}
		return fn(ctx, db, domain)
	})
}

func parseNoArgs(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func expiry(l shares.Link, now time.Time) string {
	if !l.Expiring() {
		return "never"
	}
	s := l.Expires.UTC().Format(time.RFC3339)
	if !l.Active(now) {
		s += " (expired)"
	}
	return s
}

func lastUsed(l shares.Link) string {
	if !l.Used() {
		return "never"
	}
	return l.LastUsed.UTC().Format(time.RFC3339)
}
