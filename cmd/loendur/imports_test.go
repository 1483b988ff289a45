package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/websystems/loendur/internal/imports/importstest"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

// loendur import, import list, import delete and the site export, as a user runs them.
// On the server (chDB allows one store per process; the packages test both engines).
func TestImportAndExportCommands(t *testing.T) {
	ctx := context.Background()
	const site = "cli.import.test"
	dsn := storetest.ServerDSN(t)
	db, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer storetest.DropAndClose(db)
	if _, err := store.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	if _, err := sites.NewRegistry(db, slog.New(slog.DiscardHandler)).Ensure(ctx, []string{site}); err != nil {
		t.Fatal(err)
	}
	run := func(fn func([]string, *bytes.Buffer) error, args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := fn(append([]string{"--db", dsn}, args...), &out); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out.String()
	}
	imp := func(args []string, out *bytes.Buffer) error { return runImport(args, out) }
	exp := func(args []string, out *bytes.Buffer) error { return runExport(args, out) }
	gc := importstest.GoatCounter(t)
	if out := run(imp, "--site", site, gc); !strings.Contains(out, "imported 7 rows of goatcounter-export.csv (goatcounter) into "+site+": 2024-03-01 to 2024-03-02") {
		t.Errorf("import: %q", out)
	}
	if out := run(imp, "--site", site, gc); !strings.Contains(out, "was imported into "+site+" before") {
		t.Errorf("second import: %q", out)
	}
	if err := runImport([]string{"--db", dsn, "--site", "unknown.test", gc}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Errorf("import into an unknown site: %v", err)
	}
	var out bytes.Buffer
	if err := runImport([]string{"list", "--db", dsn, "--site", site}, &out); err != nil {
		t.Fatal(err)
	}
	id := regexp.MustCompile(`(?m)^(\d+)\s+` + regexp.QuoteMeta(site) + `\s+goatcounter\s+goatcounter-export.csv\s+2024-03-01\s+2024-03-02\s+7\s+done`).FindStringSubmatch(out.String())
	if id == nil {
		t.Fatalf("list:\n%s", out.String())
	}

	dir := t.TempDir()
	run(exp, "--site", site, "--format", "plausible", filepath.Join(dir, "export.zip"))
	z, err := zip.OpenReader(filepath.Join(dir, "export.zip"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range z.File {
		names = append(names, f.Name)
	}
	z.Close()
	if !strings.Contains(strings.Join(names, " "), "imported_visitors_20240301_20240302.csv") || len(names) != 10 {
		t.Errorf("zip holds %v", names)
	}
	run(exp, "--site", site, "--format", "csv", filepath.Join(dir, "events.csv"))
	f, err := os.Open(filepath.Join(dir, "events.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(recs) != 8 || recs[0][0] != "event_id" {
		t.Errorf("csv export: %d records, %v", len(recs), err)
	}
	run(exp, "--site", site, "--format", "parquet", filepath.Join(dir, "events.parquet"))
	pf, err := os.Open(filepath.Join(dir, "events.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := pf.Stat()
	pq, err := parquet.OpenFile(pf, st.Size())
	if err != nil || pq.NumRows() != 7 {
		t.Errorf("parquet export: %v rows, %v", pq.NumRows(), err)
	}
	pf.Close()

	out.Reset()
	if err := runImport([]string{"delete", "--db", dsn, "--site", site, id[1]}, &out); err != nil || !strings.Contains(out.String(), "deleted import "+id[1]) {
		t.Errorf("delete: %q %v", out.String(), err)
	}
	out.Reset()
	if err := runImport([]string{"list", "--db", dsn, "--site", site}, &out); err != nil || strings.Contains(out.String(), "goatcounter-export") {
		t.Errorf("list after delete: %q %v", out.String(), err)
	}
}
