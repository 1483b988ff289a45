package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/store"
)

// runUser handles `loendur user add EMAIL --role admin|manager [--sites a.com,b.com]`.
func runUser(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		return errors.New("usage: loendur user add EMAIL --role admin|manager [--sites a.com,b.com] [--db DSN]")
	}
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	dsn := dbFlag(fs)
	role := fs.String("role", "", "admin (every site, user and site management) or manager (assigned sites only)")
	var siteList []string
	fs.Var(listFlag{&siteList}, "sites", "sites a manager may read, comma-separated")
	email, err := parseWithPositional(fs, args[1:], "EMAIL")
	if err != nil {
		return err
	}
	password, err := readPassword(stdin)
	if err != nil {
		return err
	}
	return withStore(*dsn, func(ctx context.Context, db store.Store) error {
		u, generated, err := auth.AddUser(ctx, db, email, auth.Role(*role), siteList, password)
		if err != nil {
			return fmt.Errorf("add user %s: %w", email, err)
		}
		fmt.Fprintf(stdout, "added %s (%s)\n", u.Email, u.Role)
		if generated != "" {
			fmt.Fprintf(stdout, "password (shown once): %s\n", generated)
		}
		return nil
	})
}

// runKey handles `loendur key add EMAIL`: a new API key for the JSON API, printed once.
func runKey(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		return errors.New("usage: loendur key add EMAIL [--db DSN]")
	}
	fs := flag.NewFlagSet("key add", flag.ContinueOnError)
	dsn := dbFlag(fs)
	email, err := parseWithPositional(fs, args[1:], "EMAIL")
	if err != nil {
		return err
	}
	return withStore(*dsn, func(ctx context.Context, db store.Store) error {
		key, err := auth.AddAPIKey(ctx, db, email)
		if err != nil {
			return fmt.Errorf("add API key: %w", err)
		}
		fmt.Fprintf(stdout, "API key for %s (shown once; use as Authorization: Bearer KEY):\n%s\n", email, key)
		return nil
	})
}

// dbTarget is the database a command opens: --db, and --cluster on a cluster.
type dbTarget struct{ DSN, Cluster string }

// dbFlag is --db and --cluster with their LOENDUR_DB and LOENDUR_CLUSTER fallbacks, for
// the commands besides serve.
func dbFlag(fs *flag.FlagSet) *dbTarget {
	t := &dbTarget{DSN: defaultDB}
	if v, ok := os.LookupEnv(envPrefix + "DB"); ok {
		t.DSN = v
	}
	t.Cluster = os.Getenv(envPrefix + "CLUSTER")
	fs.StringVar(&t.DSN, "db", t.DSN, "database: chdb://PATH or clickhouse://HOST:PORT[,HOST:PORT…]/DATABASE ($"+envPrefix+"DB)")
	fs.StringVar(&t.Cluster, "cluster", t.Cluster, clusterUsage+" ($"+envPrefix+"CLUSTER)")
	return t
}

// parseWithPositional parses flags that may come before or after one positional argument.
func parseWithPositional(fs *flag.FlagSet, args []string, name string) (string, error) {
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return "", fmt.Errorf("%s is required", name)
	}
	value := rest[0]
	if err := fs.Parse(rest[1:]); err != nil {
		return "", err
	}
	if fs.NArg() > 0 {
		return "", fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return value, nil
}

// readPassword takes a password piped on stdin; from a terminal (or nothing) it returns
// "" and one is generated.
func readPassword(stdin io.Reader) (string, error) {
	if f, ok := stdin.(*os.File); ok {
		if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice != 0 {
			return "", nil
		}
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// withStore opens and migrates the database for a one-off command.
func withStore(dsn dbTarget, fn func(ctx context.Context, db store.Store) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := openStore(ctx, dsn, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(ctx, db)
}
