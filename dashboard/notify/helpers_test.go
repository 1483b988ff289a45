package notify_test

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/dashboard/notify"
	"github.com/websystems/loendur/dashboard/reports"
	"github.com/websystems/loendur/internal/mailer"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/testclock"
)

// env is one site's notify service under test, with its own clock.
type env struct {
	t      *testing.T
	db     store.Store
	site   string
	clock  *testclock.Clock
	sites  *sites.Registry
	rep    *reports.Service
	public string // where the unsubscribe pages are served
}

// newEnv registers site with time zone tz on db and serves the unsubscribe pages of
// a service on a loopback port.
func newEnv(t *testing.T, db store.Store, site, tz string, now time.Time) *env {
	t.Helper()
	ctx := context.Background()
	if err := db.Insert(ctx, "sites", []string{"domain", "created", "timezone", "retention_months", "honour_dnt", "deleted", "version"},
		[][]any{{site, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), tz, uint16(25), uint8(1), uint8(0), uint64(time.Now().UnixNano())}}); err != nil {
		t.Fatalf("register site: %v", err)
	}
	reg := sites.NewRegistry(db, slog.New(slog.DiscardHandler))
	if err := reg.Load(ctx); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, site: site, clock: testclock.New(now), sites: reg}
	var err error
	if e.rep, err = reports.New(reports.Deps{DB: db, Sites: reg, Now: e.clock.Now}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	e.service(nil).Register(app)
	go app.Listener(ln)
	t.Cleanup(func() { app.Shutdown() })
	e.public = "http://" + ln.Addr().String()
	return e
}

// service is a notify service of this site's database, as one collector process has
// it; smtpURL "" means no SMTP server.
func (e *env) service(opt func(*notify.Options), smtpURL ...string) *notify.Service {
	e.t.Helper()
	o := notify.Options{DB: e.db, Sites: e.sites, Reports: e.rep, Now: e.clock.Now, PublicURL: e.public,
		Settle: 500 * time.Millisecond, WebhookTimeout: 2 * time.Second,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if len(smtpURL) > 0 && smtpURL[0] != "" {
		cfg, err := mailer.Parse(smtpURL[0], "loendur@agency.example")
		if err != nil {
			e.t.Fatal(err)
		}
		o.Mail = mailer.New(cfg)
	}
	if opt != nil {
		opt(&o)
	}
	s, err := notify.New(o)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) save(s *notify.Service, in notify.Input) notify.Settings {
	e.t.Helper()
	st, err := s.Save(context.Background(), "test", e.site, in)
	if err != nil {
		e.t.Fatalf("save settings: %v", err)
	}
	return st
}

func ptr[T any](v T) *T { return &v }

var spaces = regexp.MustCompile(`[ \t]+`)

// squash collapses runs of spaces, so a test can look for "Visitors 3 +200.0 %"
// whatever the columns' widths.
func squash(s string) string {
	return spaces.ReplaceAllString(strings.ReplaceAll(s, "\r\n", "\n"), " ")
}

func mustContain(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func itoa(n int) string { return strconv.Itoa(n) }
