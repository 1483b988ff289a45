package main

import (
	"bytes"
	"context"
	"encoding/json"
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
	err := withLongStore(dsn, func(ctx context.Context, db store.Store) error {
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
