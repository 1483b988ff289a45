package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

// erase and export from the command line, on the server (the package tests of
// internal/erasure cover both engines; chDB allows one store per process).
func TestEraseAndExportCommands(t *testing.T) {
	dsn := storetest.ServerDSN(t)
	site := "cli.erase.test"
	at := time.Date(2026, 4, 2, 9, 30, 0, 0, time.UTC)
	err := withLongStore(dbTarget{DSN: dsn}, func(ctx context.Context, db store.Store) error {
		return store.InsertEvents(ctx, db, []store.Event{
			{EventID: uuid.New(), Site: site, Timestamp: at, Name: "pageview", Pathname: "/a", VisitorID: 1, IP: "203.0.0.0"},
			{EventID: uuid.New(), Site: site, Timestamp: at, Name: "pageview", Pathname: "/b", VisitorID: 2, IP: "198.51.0.0"},
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := runExport([]string{"--db", dsn, "--site", site, "--ip", "203.0.113.9", "--from", "2026-04-02", "--to", "2026-04-02"}, &out); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil || len(rows) != 1 || rows[0]["pathname"] != "/a" {
		t.Fatalf("export: %s %v", out.String(), err)
	}
	out.Reset()
	err = runErase([]string{"--db", dsn, "--site", site, "--ip", "203.0.113.9", "--from", "2026-04-02", "--to", "2026-04-02"}, strings.NewReader("n\n"), &out)
	if err == nil || !strings.Contains(out.String(), "1 events match") {
		t.Fatalf("unconfirmed erase: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := runErase([]string{"--db", dsn, "--site", site, "--ip", "203.0.113.9", "--from", "2026-04-02", "--to", "2026-04-02", "--yes", "--by", "dpo@example.com"}, strings.NewReader(""), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "erased 1 events") {
		t.Errorf("erase output: %s", out.String())
	}
	out.Reset()
	if err := runExport([]string{"--db", dsn, "--site", site, "--visitor", "1,2", "--format", "csv"}, &out); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 2 || !strings.Contains(lines[1], "/b") {
		t.Errorf("csv export after erase: %q", out.String())
	}
	if err := runErase([]string{"--db", dsn, "--site", site, "--visitor", "1", "--session", "2"}, strings.NewReader(""), &out); err == nil {
		t.Error("two selectors accepted")
	}
}

// The flags of erase and export fill the same input as the dashboard's form (one
// parser, erasure.ParseSelector); a mistake is named by its flag.
func TestSelectorFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--visitor", "1"}, "--site: choose a site"},
		{[]string{"--site", "s.test"}, "choose what identifies the person"},
		{[]string{"--site", "s.test", "--visitor", "x1"}, `--visitor: visitor ids are decimal numbers, as /api/me shows them; "x1" is not`},
		{[]string{"--site", "s.test", "--event", "nope"}, "--event: event ids are UUIDs"},
		{[]string{"--site", "s.test", "--visitor", "1", "--session", "2"}, "give exactly one selector"},
		{[]string{"--site", "s.test", "--ip", "203.0.113.7", "--visitor", "1"}, "give exactly one selector"},
		{[]string{"--site", "s.test", "--visitor", "1", "--from", "2026-04-02"}, "--from: ip, from, to and page go with an address"},
		{[]string{"--site", "s.test", "--ip", "203.0.113.7", "--from", "2026-04-02"}, "--to: an address needs a time window"},
		{[]string{"--site", "s.test", "--ip", "203.0.113", "--from", "2026-04-02", "--to", "2026-04-02"}, "--ip: "},
	} {
		fs := flag.NewFlagSet("erase", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		_, err := parseSelector(fs, addSelectorFlags(fs), c.args, "erase", "")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want …%s…", c.args, err, c.want)
		}
	}
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	sel, err := parseSelector(fs, addSelectorFlags(fs), []string{"--site", "S.test", "--visitor", "3,1", "--visitor", "3"}, "export", "")
	if err != nil || sel.Site != "s.test" || len(sel.Visitors) != 2 || sel.Visitors[0] != 3 || sel.Visitors[1] != 1 {
		t.Errorf("repeated and comma-separated visitors: %+v %v", sel, err)
	}
}
