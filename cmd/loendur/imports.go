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
	"text/tabwriter"
	"time"

	"github.com/websystems/loendur/internal/imports"
	"github.com/websystems/loendur/internal/salt"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
)

const importUsage = `loendur import --site DOMAIN [--source plausible|goatcounter|ga4] [--db DSN] FILE
loendur import list [--site DOMAIN] [--db DSN]
loendur import delete --site DOMAIN [--db DSN] ID`

// runImport handles `loendur import`: a file into a site, or list, or delete.
func runImport(args []string, stdout io.Writer) error {
	if len(args) > 0 && (args[0] == "list" || args[0] == "delete") {
		return runImportRecords(args[0], args[1:], stdout)
	}
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	dsn := dbFlag(fs)
	site := fs.String("site", "", "the site the history belongs to (registered domain)")
	source := fs.String("source", "", "plausible, goatcounter or ga4 (default: from the file)")
	fs.Usage = func() { fmt.Fprintln(fs.Output(), importUsage); fs.PrintDefaults() }
	file, err := parseWithPositional(fs, args, "FILE")
	if err != nil {
		return err
	}
	return withLongStore(*dsn, func(ctx context.Context, db store.Store) error {
		domain, err := registeredSite(ctx, db, *site)
		if err != nil {
			return err
		}
		im, err := newImporter(ctx, db)
		if err != nil {
			return err
		}
		rec, err := im.Import(ctx, domain, imports.File{Path: file, Source: *source})
		if errors.Is(err, imports.ErrDuplicate) {
			fmt.Fprintf(stdout, "%s was imported into %s before (import %d); nothing changed\n", rec.FileName, domain, rec.ID)
			return nil
		}
		if err != nil {
			return err
		}
		from, to := rec.Period()
		fmt.Fprintf(stdout, "imported %d rows of %s (%s) into %s: %s to %s, import %d\n", rec.Rows, rec.FileName, rec.Source, domain, from, to, rec.ID)
		return nil
	})
}

// newImporter is an importer that hashes visitors of days whose salt is still kept
// under that salt, as ingestion does.
func newImporter(ctx context.Context, db store.Store) (*imports.Importer, error) {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	keeper := salt.New(db, log, nil)
	if err := keeper.Refresh(ctx); err != nil {
		return nil, fmt.Errorf("load salts: %w", err)
	}
	return imports.New(imports.Options{DB: db, Log: log, Salt: keeper.For})
}

func registeredSite(ctx context.Context, db store.Store, raw string) (string, error) {
	if raw == "" {
		return "", errors.New("--site is required")
	}
	domain, err := sites.NormalizeDomain(raw)
	if err != nil {
		return "", err
	}
	reg := sites.NewRegistry(db, slog.New(slog.DiscardHandler))
	if err := reg.Load(ctx); err != nil {
		return "", err
	}
	if _, ok := reg.Lookup(domain); !ok {
		return "", fmt.Errorf("site %s is not registered (start serve with --site %s, or add it on the dashboard)", domain, domain)
	}
	return domain, nil
}

func runImportRecords(cmd string, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("import "+cmd, flag.ContinueOnError)
	dsn := dbFlag(fs)
	site := fs.String("site", "", "the site")
	var idText string
	var err error
	if cmd == "delete" {
		idText, err = parseWithPositional(fs, args, "ID")
	} else {
		err = fs.Parse(args)
	}
	if err != nil {
		return err
	}
	return withLongStore(*dsn, func(ctx context.Context, db store.Store) error {
		im, err := imports.New(imports.Options{DB: db})
		if err != nil {
			return err
		}
		if cmd == "list" {
			recs, err := im.List(ctx, *site)
			if err != nil {
				return err
			}
			return writeImports(stdout, recs)
		}
		if *site == "" {
			return errors.New("--site is required")
		}
		id, err := imports.ParseID(idText)
		if err != nil {
			return err
		}
		rec, err := im.Delete(ctx, *site, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleted import %d (%s, %d rows) of %s\n", rec.ID, rec.FileName, rec.Rows, rec.Site)
		return nil
	})
}

func writeImports(w io.Writer, recs []imports.Record) error {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSITE\tSOURCE\tFILE\tFROM\tTO\tROWS\tSTATE\tIMPORTED")
	for _, r := range recs {
		from, to := r.Period()
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, r.Site, r.Source, r.FileName, from, to, r.Rows, r.State, r.Created.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

// isSiteExport tells `loendur export --site D --format plausible|csv|parquet FILE` (a
// site's data) from a data subject's export (selectors, output on stdout): the site
// export names a file.
func isSiteExport(args []string) bool {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addSelectorFlags(fs)
	format := fs.String("format", "", "")
	_, err := parseWithPositional(fs, args, "FILE")
	return err == nil || *format == imports.FormatPlausible || *format == imports.FormatParquet
}

// runSiteExport handles `loendur export --site DOMAIN --format plausible|csv|parquet FILE`.
func runSiteExport(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	dsn := dbFlag(fs)
	site := fs.String("site", "", "the site")
	format := fs.String("format", imports.FormatPlausible, "plausible (aggregates, a ZIP Plausible and loendur import), csv or parquet (raw events)")
	file, err := parseWithPositional(fs, args, "FILE")
	if err != nil {
		return err
	}
	return withLongStore(*dsn, func(ctx context.Context, db store.Store) error {
		domain, err := registeredSite(ctx, db, *site)
		if err != nil {
			return err
		}
		reg := sites.NewRegistry(db, slog.New(slog.DiscardHandler))
		if err := reg.Load(ctx); err != nil {
			return err
		}
		s, _ := reg.Lookup(domain)
		loc, err := time.LoadLocation(s.Timezone)
		if err != nil || s.Timezone == "" {
			loc = time.UTC
		}
		f, err := os.Create(file)
		if err != nil {
			return err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		n, err := imports.Export(ctx, db, imports.ExportOptions{Site: domain, Location: loc, Format: *format}, w)
		if err == nil {
			err = w.Flush()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(file)
			return err
		}
		fmt.Fprintf(stdout, "exported %d rows of %s as %s into %s\n", n, domain, *format, file)
		return nil
	})
}
