package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/audit"
	"github.com/websystems/loendur/internal/shares"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

// loendur share add, list and revoke against the test server.
func TestShareCommands(t *testing.T) {
	dsn := storetest.ServerDSN(t)
	const site = "cli.share.test"
	var db store.Store
	err := withStore(dbTarget{DSN: dsn}, func(ctx context.Context, s store.Store) error {
		_, err := sites.NewRegistry(s, slog.New(slog.DiscardHandler)).Ensure(ctx, []string{site})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	db, err = store.Open(context.Background(), dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { storetest.DropAndClose(db) })
	ctx := context.Background()

	var out bytes.Buffer
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	err = runShare([]string{"add", "--db", dsn, "--site", "CLI.share.test", "--name", "Monthly", "--password-stdin",
		"--expires", tomorrow, "--csv", "--embed-origin", "https://intranet.example", "--embed-origin", "http://localhost:8081"},
		strings.NewReader("a long link password\n"), &out)
	if err != nil {
		t.Fatal(err)
	}
	path := regexp.MustCompile(`(?m)^/share/[A-Za-z0-9_-]{43}$`).FindString(out.String())
	if path == "" {
		t.Fatalf("share add printed no link path:\n%s", out.String())
	}
	l, err := shares.Resolve(ctx, db, strings.TrimPrefix(path, shares.PathPrefix), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if l.Site != site || l.Name != "Monthly" || !l.HasPassword() || !l.CSV() || len(l.EmbedOrigins) != 2 ||
		!l.Expires.Equal(time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 2)) || l.CreatedBy != "cli" {
		t.Errorf("stored link: %+v", l)
	}
	if strings.Contains(l.PasswordHash, "a long link password") || !strings.HasPrefix(l.PasswordHash, "$argon2id$") {
		t.Errorf("password stored as %q", l.PasswordHash)
	}
	if err := runShare([]string{"add", "--db", dsn, "--site", site}, strings.NewReader(""), &out); err != nil {
		t.Fatalf("a link with defaults: %v", err)
	}

	out.Reset()
	if err := runShare([]string{"list", "--db", dsn, "--site", site}, nil, &out); err != nil {
		t.Fatal(err)
	}
	list := out.String()
	if lines := strings.Split(strings.TrimSpace(list), "\n"); len(lines) != 3 || !strings.Contains(list, l.ID) ||
		!strings.Contains(list, "Monthly") || !strings.Contains(list, "https://intranet.example http://localhost:8081") {
		t.Errorf("share list:\n%s", list)
	}

	out.Reset()
	if err := runShare([]string{"revoke", "--db", dsn, "--site", site, l.ID}, nil, &out); err != nil {
		t.Fatal(err)
	}
	if _, err := shares.Resolve(ctx, db, strings.TrimPrefix(path, shares.PathPrefix), time.Now()); !errors.Is(err, shares.ErrNotFound) {
		t.Errorf("revoked link resolves: %v", err)
	}
	out.Reset()
	if err := runShare([]string{"list", "--db", dsn, "--site", site}, nil, &out); err != nil || strings.Contains(out.String(), l.ID) {
		t.Errorf("revoked link still listed (%v):\n%s", err, out.String())
	}
	entries, err := audit.List(ctx, db, 10)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		if e.Target == site && e.Actor == "cli" {
			actions = append(actions, e.Action)
		}
		if strings.Contains(e.Detail, strings.TrimPrefix(path, shares.PathPrefix)) || strings.Contains(e.Detail, "a long link password") {
			t.Errorf("audit line holds a secret: %+v", e)
		}
	}
	if strings.Join(actions, " ") != "share_revoke share_add share_add" {
		t.Errorf("audit actions: %v", actions)
	}

	for _, bad := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"add", "--db", dsn, "--site", "unknown.test"}, "", "not registered"},
		{[]string{"add", "--db", dsn}, "", "--site is required"},
		{[]string{"add", "--db", dsn, "--site", site, "--embed-origin", "https://a.example/x"}, "", "not an origin"},
		{[]string{"add", "--db", dsn, "--site", site, "--expires", "31.12.2026"}, "", "YYYY-MM-DD"},
		{[]string{"add", "--db", dsn, "--site", site, "--password-stdin"}, "short\n", "at least 10"},
		{[]string{"revoke", "--db", dsn, "--site", site, l.ID}, "", "no such shared link"},
		{[]string{"revoke", "--db", dsn, "--site", site}, "", "ID is required"},
		{[]string{"frobnicate"}, "", "unknown share command"},
	} {
		err := runShare(bad.args, strings.NewReader(bad.stdin), &out)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("share %v: %v, want %q", bad.args, err, bad.want)
		}
	}
}
