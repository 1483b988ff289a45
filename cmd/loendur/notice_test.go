package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/notice"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

// `loendur privacy` on the server (chDB allows one store per process; internal/notice
// covers both engines): the check and the notice from the site's stored settings, in
// each format and language, and its mistakes named by flag.
func TestPrivacyCommand(t *testing.T) {
	dsn := storetest.ServerDSN(t)
	site := "cli.privacy.test"
	err := withLongStore(dbTarget{DSN: dsn}, func(ctx context.Context, db store.Store) error {
		if _, err := sites.NewRegistry(db, nil).Ensure(ctx, []string{site}); err != nil {
			return err
		}
		if _, _, err := auth.AddUser(ctx, db, "mari@"+site, auth.RoleManager, []string{site}, "a long enough passphrase"); err != nil {
			return err
		}
		// Retention 36 months, Do Not Track ignored, as an admin would set them.
		if err := db.Insert(ctx, "sites", []string{"domain", "created", "timezone", "retention_months", "honour_dnt", "deleted", "version"},
			[][]any{{site, time.Now().UTC(), "UTC", uint16(36), uint8(0), uint8(0), uint64(time.Now().UnixNano())}}); err != nil {
			return err
		}
		_, err := notice.SaveSettings(ctx, db, site, notice.Settings{ConsentRequired: true, PrivacyPage: "https://" + site + "/privacy"}, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := runPrivacy(append([]string{"--db", dsn, "--site", site, "--agency-domains", "agency.test", "--public-url", "https://stats.agency.test"}, args...), &out); err != nil {
			t.Fatalf("privacy %v: %v", args, err)
		}
		return out.String()
	}
	text := run()
	for _, want := range []string{
		"Consent exemption of cli.privacy.test (guidance, not legal advice)",
		"The site asks consent before counting (consent mode)",
		"[NOT MET] Data kept at most 25 months\n            Retention is 36 months; the exemption allows at most 25.",
		"[met    ] Visitors informed and offered an opt-out",
		"The records are kept for 36 months",
		"Do Not Track is not acted on",
		"and one person of ours who manages this site",
		`<script defer src="https://stats.agency.test/js/script.js" data-site="cli.privacy.test" data-consent="required" data-dnt="false"></script>`,
		"loendur.forget()",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text output lacks %q:\n%s", want, text)
		}
	}
	if et := run("--lang", "et", "--ipv4-prefix", "8"); !strings.Contains(et, "Andmeid hoitakse 36 kuud") || !strings.Contains(et, "esimesed 8 bitti 32-st") {
		t.Errorf("Estonian, /8:\n%s", et)
	}
	if html := run("--format", "html"); !strings.HasPrefix(html, "<!-- loendur: privacy notice of cli.privacy.test") ||
		!strings.Contains(html, `<section class="loendur-notice" lang="en">`) || !strings.Contains(html, `id="loendur-forget"`) {
		t.Errorf("html output:\n%s", html)
	}
	var rep notice.Report
	if err := json.Unmarshal([]byte(run("--format", "json")), &rep); err != nil || rep.Check.Exempt || len(rep.Notices) != 2 || rep.Facts.RetentionMonths != 36 {
		t.Errorf("json output: %v %+v", err, rep.Check)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--db", dsn, "--site", "nope.test"}, "site nope.test is not registered"},
		{[]string{"--db", dsn}, "--site is required"},
		{[]string{"--db", dsn, "--site", site, "--lang", "fi"}, `--lang "fi": choose en or et`},
		{[]string{"--db", dsn, "--site", site, "--format", "pdf"}, `--format "pdf"`},
		{[]string{"--db", dsn, "--site", site, "--ipv4-prefix", "24"}, "IPv4 prefix /24 not allowed"},
		{[]string{"--db", dsn, "--site", site, "--public-url", "stats"}, "--public-url"},
		{[]string{"--db", dsn, "--site", site, "--agency-domains", "a b"}, "--agency-domains"},
	} {
		if err := runPrivacy(c.args, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want …%s…", c.args, err, c.want)
		}
	}
}
