package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"os/user"
	"strings"
	"syscall"
	"time"

	"github.com/websystems/loendur/internal/backup"
	"github.com/websystems/loendur/internal/erasure"
	"github.com/websystems/loendur/internal/privacy"
	"github.com/websystems/loendur/internal/spool"
	"github.com/websystems/loendur/internal/store"
)

const selectorUsage = "--site DOMAIN (--visitor ID | --session ID | --ip ADDR --from TIME --to TIME [--page PATTERN] | --event ID)"

// selectorFlags are the flags of erase and export that name a data subject's events:
// they fill an erasure.SelectorInput, which erasure.ParseSelector reads as it reads
// the dashboard's form and JSON.
type selectorFlags struct {
	dsn        *dbTarget
	in         erasure.SelectorInput
	ipv4, ipv6 *int
	env        map[string]string // flag -> environment variable, for applyEnv
}

func addSelectorFlags(fs *flag.FlagSet) *selectorFlags {
	f := &selectorFlags{dsn: dbFlag(fs), env: map[string]string{}}
	fs.StringVar(&f.in.Site, "site", "", "the site (registered domain)")
	fs.Var(kindFlag{&f.in, erasure.KindVisitor}, "visitor", "visitor id(s), as /api/me shows them; repeatable or comma-separated")
	fs.Var(kindFlag{&f.in, erasure.KindSession}, "session", "session id(s); repeatable or comma-separated")
	fs.Var(kindFlag{&f.in, erasure.KindEvent}, "event", "event id(s) (UUID); repeatable or comma-separated")
	fs.Var(kindFlag{&f.in, erasure.KindIP}, "ip", "client address, full or truncated; truncated as ingestion does (needs --from and --to)")
	fs.StringVar(&f.in.From, "from", "", "start of the window: RFC 3339 or YYYY-MM-DD (UTC)")
	fs.StringVar(&f.in.To, "to", "", "end of the window, inclusive: RFC 3339 or YYYY-MM-DD (the whole day)")
	fs.StringVar(&f.in.Page, "page", "", "only pages matching this path pattern, * matches anything (with --ip)")
	f.ipv4 = envInt(fs, f.env, "ipv4-prefix", "IPV4_PREFIX", privacy.DefaultV4Bits, "IPv4 bits ingestion keeps")
	f.ipv6 = envInt(fs, f.env, "ipv6-prefix", "IPV6_PREFIX", privacy.DefaultV6Bits, "IPv6 bits ingestion keeps")
	return f
}

// kindFlag is --visitor, --session, --event or --ip: it sets the input's kind, and
// its ids or address. Only one kind may be given.
type kindFlag struct {
	in   *erasure.SelectorInput
	kind erasure.Kind
}

func (k kindFlag) String() string { return "" }

func (k kindFlag) Set(v string) error {
	if k.in.Kind != "" && k.in.Kind != string(k.kind) {
		return fmt.Errorf("give exactly one selector: %s", selectorUsage)
	}
	k.in.Kind = string(k.kind)
	if k.kind == erasure.KindIP {
		if k.in.IP != "" {
			return errors.New("give one address")
		}
		k.in.IP = v
		return nil
	}
	k.in.IDs = append(k.in.IDs, v)
	return nil
}

// envInt defines an int flag backed by the environment variable envPrefix+envName and
// notes it in env for applyEnv, which runs after the command line is parsed: the flag
// wins, and a bad value is an error, as in the serve configuration.
func envInt(fs *flag.FlagSet, env map[string]string, name, envName string, def int, usage string) *int {
	env[name] = envName
	return fs.Int(name, def, usage+" ($"+envPrefix+envName+")")
}

// selector turns the flags into a validated selector, its mistakes named by flag.
func (f *selectorFlags) selector() (erasure.Selector, error) {
	tr, err := privacy.NewTruncator(*f.ipv4, *f.ipv6)
	if err != nil {
		return erasure.Selector{}, err
	}
	sel, err := erasure.ParseSelector(f.in, tr)
	var bad *erasure.InputError
	if !errors.As(err, &bad) {
		return sel, err
	}
	switch bad.Field {
	case "kind":
		return sel, fmt.Errorf("%s; usage: %s", bad.Message, selectorUsage)
	case "ids":
		return sel, fmt.Errorf("--%s: %s", f.in.Kind, bad.Message)
	}
	return sel, fmt.Errorf("--%s: %s", bad.Field, bad.Message)
}

// parseSelector parses the flags of erase or export and builds the selector they name.
func parseSelector(fs *flag.FlagSet, f *selectorFlags, args []string, command, extra string) (erasure.Selector, error) {
	if err := fs.Parse(args); err != nil {
		return erasure.Selector{}, err
	}
	if fs.NArg() > 0 {
		return erasure.Selector{}, fmt.Errorf("unexpected argument %q; usage: loendur %s %s %s", fs.Arg(0), command, selectorUsage, extra)
	}
	if err := applyEnv(fs, f.env); err != nil {
		return erasure.Selector{}, err
	}
	return f.selector()
}

// runErase handles `loendur erase`.
func runErase(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("erase", flag.ContinueOnError)
	f := addSelectorFlags(fs)
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	by := fs.String("by", defaultRequester(), "who requested the erasure, for the ledger and the audit log")
	spoolDir := fs.String("spool", "", "also erase from this collector spool folder (the collector must be stopped; a running collector's spool is reached through its dashboard)")
	sel, err := parseSelector(fs, f, args, "erase", "[--yes]")
	if err != nil {
		return err
	}
	return withLongStore(*f.dsn, func(ctx context.Context, db store.Store) error {
		plan, err := erasure.Preview(ctx, db, sel)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "site %s, %s\n", sel.Site, sel)
		for _, t := range plan.Tables {
			if t.Rows > 0 {
				fmt.Fprintf(stdout, "  %-24s %d rows\n", t.Table, t.Rows)
			}
		}
		fmt.Fprintf(stdout, "%d events match", plan.Events)
		if plan.Events > 0 {
			fmt.Fprintf(stdout, " (%s to %s)", plan.From.Format(time.RFC3339), plan.To.Format(time.RFC3339))
		}
		fmt.Fprintln(stdout)
		if plan.Rows() == 0 && *spoolDir == "" {
			fmt.Fprintln(stdout, "nothing to erase; recording the request in the ledger anyway")
		}
		if !*yes && !confirm(stdin, stdout, "erase them? [y/N] ") {
			return errors.New("not confirmed; nothing erased")
		}
		// Its own service: the spool is reached only when the collector is stopped, so
		// there is no queue to wait for in this process.
		so := erasure.ServiceOptions{DB: db}
		if *spoolDir != "" {
			sp, err := spool.Open(spool.Options{Dir: *spoolDir, MaxBytes: 1 << 40, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				return fmt.Errorf("--spool %s: %w", *spoolDir, err)
			}
			defer sp.Close()
			so.Spool = sp
		}
		// It previews again: rows may have arrived while the prompt waited. No time
		// limit: it takes as long as it takes; Ctrl-C stops it.
		res, err := erasure.NewService(so).Erase(ctx, erasure.Request{Selector: sel, RequestedBy: *by})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "erased %d events (%d rows in all tables, %d spooled); verified none left; ledger entry %s\n",
			res.Events, res.Rows, res.Spooled, res.ID)
		return nil
	})
}

// runExport handles `loendur export`: the matching events as JSON or CSV on stdout.
func runExport(args []string, stdout io.Writer) error {
	if isSiteExport(args) {
		return runSiteExport(args, stdout)
	}
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	f := addSelectorFlags(fs)
	format := fs.String("format", "json", "json or csv")
	sel, err := parseSelector(fs, f, args, "export", "[--format json|csv]")
	if err != nil {
		return err
	}
	return withLongStore(*f.dsn, func(ctx context.Context, db store.Store) error {
		w := bufio.NewWriter(stdout)
		if _, err := erasure.Export(ctx, db, sel, *format, w); err != nil {
			return err
		}
		return w.Flush()
	})
}

// runBackup handles `loendur backup --db DSN DIR`.
func runBackup(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	dsn := dbFlag(fs)
	httpPort, dir, err := parseHTTPPortAndDir(fs, args)
	if err != nil {
		return err
	}
	return withLongStore(*dsn, func(ctx context.Context, db store.Store) error {
		m, err := backup.Backup(ctx, db, dir, backup.Options{DSN: dsn.DSN, HTTPPort: *httpPort})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "backed up %d tables into %s\n", len(m.Tables), dir)
		return nil
	})
}

// runRestore handles `loendur restore --db DSN DIR`: tables recreated and reloaded, then
// the whole erasure ledger re-applied, before anything serves the data.
func runRestore(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	dsn := dbFlag(fs)
	httpPort, dir, err := parseHTTPPortAndDir(fs, args)
	if err != nil {
		return err
	}
	return withLongStore(*dsn, func(ctx context.Context, db store.Store) error {
		n, err := backup.Restore(ctx, db, dir, backup.Options{DSN: dsn.DSN, HTTPPort: *httpPort})
		if err != nil {
			return err
		}
		// A backup from an older binary: bring its schema up to date.
		if _, err := store.Migrate(ctx, db); err != nil {
			return fmt.Errorf("restored %d tables, but migrating them failed: %w", n, err)
		}
		erased, err := erasure.Reapply(ctx, db, nil)
		if err != nil {
			return fmt.Errorf("restored %d tables, but re-applying the erasure ledger failed (do not serve this data until it succeeds; run restore again): %w", n, err)
		}
		fmt.Fprintf(stdout, "restored %d tables from %s; erasure ledger re-applied (%d events erased again)\n", n, dir, erased)
		return nil
	})
}

// parseHTTPPortAndDir adds --http-port to the flags of backup or restore, parses them
// with the folder argument, and returns both. The port is the ClickHouse server's HTTP
// port, which they stream Native data through (unused with chdb://).
func parseHTTPPortAndDir(fs *flag.FlagSet, args []string) (*int, string, error) {
	env := map[string]string{}
	port := envInt(fs, env, "http-port", "CH_HTTP_PORT", 8123, "the ClickHouse server's HTTP port; also clickhouse://…?http_port=N")
	dir, err := parseWithPositional(fs, args, "DIR")
	if err == nil {
		err = applyEnv(fs, env)
	}
	return port, dir, err
}

func defaultRequester() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

func confirm(stdin io.Reader, stdout io.Writer, prompt string) bool {
	fmt.Fprint(stdout, prompt)
	line, _ := bufio.NewReader(stdin).ReadString('\n')
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes"
}

// withLongStore is withStore without its one-minute limit: an erasure, a backup or a
// restore of a large database takes as long as it takes; Ctrl-C stops it.
func withLongStore(dsn dbTarget, fn func(ctx context.Context, db store.Store) error) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	db, err := openStore(ctx, dsn, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(ctx, db)
}
