package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/eventtest"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
	"github.com/websystems/loendur/internal/testenv/mailpit"
)

// This package's Mailpit ports (dashboard/notify uses 19200–19203).
const cliSMTP, cliHTTP, cliDeadSMTP = 19210, 19211, 19212

// `loendur report send` mails one report now; an unreachable server is a clear error
// without the SMTP password; a malformed address is refused.
func TestReportSendCommand(t *testing.T) {
	bin, ok := mailpit.Path()
	if !ok {
		if os.Getenv("CI") == "true" {
			t.Fatalf("required test component missing: Mailpit at %s", bin)
		}
		t.Skip("Mailpit not installed (make mailpit)")
	}
	srv, err := mailpit.Start(bin, cliSMTP, cliHTTP)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	dsn := storetest.ServerDSN(t)
	ctx := context.Background()
	db, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer storetest.DropAndClose(db)
	if _, err := store.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := db.Insert(ctx, "sites", []string{"domain", "created", "timezone", "retention_months", "honour_dnt", "deleted", "version"},
		[][]any{{"cli-report.test", time.Now().UTC(), "UTC", uint16(25), uint8(1), uint8(0), uint64(time.Now().UnixNano())}}); err != nil {
		t.Fatal(err)
	}
	if err := store.InsertEvents(ctx, db, eventtest.Pageviews("cli-report.test", time.Now().UTC().Add(-time.Hour), 2)); err != nil {
		t.Fatal(err)
	}

	send := func(smtp, to string) (string, error) {
		var out bytes.Buffer
		err := runReport([]string{"send", "--db", dsn, "--site", "cli-report.test", "--period", "7d", "--to", to,
			"--smtp", smtp, "--mail-from", "loendur@agency.example", "--public-url", "https://stats.agency.example"}, &out)
		return out.String(), err
	}
	out, err := send("smtp://robot:s3cret-pw@127.0.0.1:19210", "cli@agency.example")
	if err != nil || !strings.Contains(out, "sent the report of cli-report.test") || !strings.Contains(out, "(2 visitors)") {
		t.Fatalf("report send: %q, %v", out, err)
	}
	list, err := srv.Messages(ctx)
	if err != nil || len(list) != 1 || list[0].To[0].Address != "cli@agency.example" || !strings.Contains(list[0].Subject, "2 visitors") {
		t.Fatalf("Mailpit holds %+v, %v; want the report", list, err)
	}
	msg, err := srv.Message(ctx, list[0].ID)
	if err != nil || !strings.Contains(msg.Text, "https://stats.agency.example/unsubscribe/") {
		t.Errorf("report text lacks the unsubscribe link on --public-url: %v\n%s", err, msg.Text)
	}

	_, err = send("smtp://robot:s3cret-pw@127.0.0.1:19212", "cli@agency.example")
	if err == nil || strings.Contains(err.Error(), "s3cret-pw") || !strings.Contains(err.Error(), "smtp://robot:***@127.0.0.1:19212") ||
		!strings.Contains(err.Error(), "connection refused") {
		t.Errorf("unreachable SMTP: %v; want the server without its password and the cause", err)
	}
	if _, err = send("smtp://127.0.0.1:19210", "cli(at)agency.example"); err == nil || !strings.Contains(err.Error(), "is not an e-mail address") {
		t.Errorf("malformed --to: %v", err)
	}
	if _, err := parseServeConfig([]string{"--smtp", "smtp://robot:s3cret-pw@:25"}); err == nil || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("bad --smtp: %v; want an error without the password", err)
	}
}
