package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/websystems/loendur/internal/exclusion"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
)

const sitesUsage = `usage:
  loendur sites exclusions DOMAIN [--db DSN]
  loendur sites exclude DOMAIN [--user-agent TEXT]... [--address ADDR|CIDR]... [--remove] [--by WHO] [--db DSN]`

// runSites handles `loendur sites exclusions DOMAIN` (list a site's excluded traffic)
// and `loendur sites exclude DOMAIN --user-agent … --address …` (add to it, or remove
// from it with --remove). A running collector picks a change up within
// exclusion.RefreshInterval.
func runSites(args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "exclude" && args[0] != "exclusions") {
		return errors.New(sitesUsage)
	}
	fs := flag.NewFlagSet("sites "+args[0], flag.ContinueOnError)
	dsn := dbFlag(fs)
	var uas, addrs repeatFlag
	fs.Var(&uas, "user-agent", "a user-agent fragment to exclude (any part, any case; repeatable)")
	fs.Var(&addrs, "address", "an address or CIDR to exclude, e.g. 203.0.113.0/24 (repeatable)")
	remove := fs.Bool("remove", false, "remove the given entries instead of adding them")
	by := fs.String("by", "command line", "who makes the change, for the record")
	raw, err := parseWithPositional(fs, args[1:], "DOMAIN")
	if err != nil {
		return err
	}
	domain, err := sites.NormalizeDomain(raw)
	if err != nil {
		return err
	}
	if args[0] == "exclude" && len(uas)+len(addrs) == 0 {
		return errors.New("name what to exclude: --user-agent TEXT or --address ADDR|CIDR")
	}
	return withStore(*dsn, func(ctx context.Context, db store.Store) error {
		registry := sites.NewRegistry(db, slog.New(slog.DiscardHandler))
		if err := registry.Load(ctx); err != nil {
			return err
		}
		if _, ok := registry.Lookup(domain); !ok {
			return fmt.Errorf("site %s is not registered", domain)
		}
		set := exclusion.NewSet(db, slog.New(slog.DiscardHandler))
		if err := set.Load(ctx); err != nil {
			return err
		}
		r := set.Rules(domain)
		if args[0] == "exclude" {
			r = edit(r, uas, addrs, *remove)
			if r, err = set.Save(ctx, domain, r, *by, time.Now()); err != nil {
				return err
			}
		}
		printRules(stdout, domain, r)
		return nil
	})
}

// edit adds the entries to r, or removes them.
func edit(r exclusion.Rules, uas, addrs []string, remove bool) exclusion.Rules {
	if !remove {
		return exclusion.Rules{UserAgents: append(r.UserAgents, uas...), Addresses: append(r.Addresses, addrs...)}
	}
	keep := func(list, drop []string) []string {
		return slices.DeleteFunc(slices.Clone(list), func(s string) bool { return slices.Contains(drop, s) })
	}
	return exclusion.Rules{UserAgents: keep(r.UserAgents, uas), Addresses: keep(r.Addresses, addrs)}
}

func printRules(w io.Writer, domain string, r exclusion.Rules) {
	fmt.Fprintf(w, "excluded traffic of %s\n", domain)
	fmt.Fprintf(w, "user agents: %s\n", orNone(r.UserAgents))
	fmt.Fprintf(w, "addresses:   %s\n", orNone(r.Addresses))
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "(none)"
	}
	return strings.Join(list, ", ")
}

// repeatFlag collects every use of a flag, each value whole (a user agent may hold commas).
type repeatFlag []string

func (r *repeatFlag) String() string { return strings.Join(*r, " ") }

func (r *repeatFlag) Set(s string) error {
	*r = append(*r, s)
	return nil
}
