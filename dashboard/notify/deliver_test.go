package notify_test

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/websystems/loendur/dashboard/notify"
	"github.com/websystems/loendur/internal/eventtest"
	"github.com/websystems/loendur/internal/httperr"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
	"github.com/websystems/loendur/internal/testenv/mailpit"
)

// Two collectors' schedulers look at the same due report at the same moment: each
// recipient gets it once.
func TestRacingSchedulersSendOnce(t *testing.T) {
	srv := needMailpit(t)
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			site := "race-" + engine + ".test"
			e := newEnv(t, db, site, "Europe/Tallinn", monday)
			weekFixture(t, db, site)
			rcpts := []string{"r1-" + engine + "@agency.example", "r2-" + engine + "@agency.example"}
			a, b := e.service(nil, srv.SMTPURL()), e.service(nil, srv.SMTPURL())
			e.save(a, notify.Input{Weekly: ptr(true), Recipients: ptr(rcpts)})
			for round := 0; round < 3; round++ {
				var wg sync.WaitGroup
				for _, s := range []*notify.Service{a, b} {
					wg.Add(1)
					go func() { defer wg.Done(); s.Tick(context.Background()) }()
				}
				wg.Wait()
			}
			for _, to := range rcpts {
				msgs := inbox(t, srv, to, 1)
				if len(msgs) != 1 {
					t.Errorf("%s got %d mails from two racing schedulers, want 1", to, len(msgs))
				}
			}
		})
	}
}

// webhookReceiver verifies each call's signature with the site's secret and keeps
// the notices; delay, when set, holds the first call that long (a slow receiver).
type webhookReceiver struct {
	t      *testing.T
	secret func() string
	delay  time.Duration

	mu       sync.Mutex
	calls    int
	notices  []notify.Notice
	bad      []string
	delivery []string
}

func (r *webhookReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.calls++
	first := r.calls == 1
	r.delivery = append(r.delivery, req.Header.Get(notify.DeliveryHeader))
	r.mu.Unlock()
	if first && r.delay > 0 {
		time.Sleep(r.delay)
	}
	want := notify.Sign(r.secret(), body)
	got := req.Header.Get(notify.SignatureHeader)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !hmac.Equal([]byte(got), []byte(want)) || !strings.HasPrefix(got, "sha256=") {
		r.bad = append(r.bad, got)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var n notify.Notice
	if err := json.Unmarshal(body, &n); err != nil {
		r.bad = append(r.bad, "body: "+err.Error())
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	r.notices = append(r.notices, n)
	w.WriteHeader(http.StatusNoContent)
}

func (r *webhookReceiver) got() (notices []notify.Notice, bad []string, calls int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]notify.Notice(nil), r.notices...), append([]string(nil), r.bad...), r.calls
}

// hourlyViews stores a page view at minute 10 of every hour in [from, to).
func hourlyViews(t *testing.T, db store.Store, site string, from, to time.Time) {
	t.Helper()
	var evs []store.Event
	for h := from; h.Before(to); h = h.Add(time.Hour) {
		e := eventtest.Pageview(site, h.Add(10*time.Minute), "/")
		e.VisitorID, e.SessionID, e.IP = uint64(h.Unix()), uint64(h.Unix()), "203.0.0.0"
		evs = append(evs, e)
	}
	if err := store.InsertEvents(context.Background(), db, evs); err != nil {
		t.Fatal(err)
	}
}

// A site with page views every hour for a week stops receiving them: after the
// configured hours one alert goes out by mail and webhook (signed), however often the
// scheduler looks and from however many processes; when page views come back, one
// resolution.
func TestTrackingStoppedAlert(t *testing.T) {
	srv := needMailpit(t)
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			site := "stopped-" + engine + ".test"
			start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
			lastView := time.Date(2024, 5, 9, 12, 0, 0, 0, time.UTC) // the last hour with views: 12:00–13:00
			e := newEnv(t, db, site, "UTC", lastView.Add(30*time.Minute))
			hourlyViews(t, db, site, start, lastView.Add(time.Hour))
			ops := "ops-" + engine + "@agency.example"
			a, b := e.service(nil, srv.SMTPURL()), e.service(nil, srv.SMTPURL())
			var st notify.Settings
			rcv := &webhookReceiver{t: t, secret: func() string { return st.WebhookSecret }}
			hook := httptest.NewServer(rcv)
			defer hook.Close()
			st = e.save(a, notify.Input{StoppedHours: ptr(3), AlertRecipients: ptr([]string{ops}), WebhookURL: ptr(hook.URL + "/loendur")})

			tick := func(at time.Time) {
				e.clock.Set(at)
				var wg sync.WaitGroup
				for _, s := range []*notify.Service{a, b} {
					wg.Add(1)
					go func() { defer wg.Done(); s.Tick(context.Background()) }()
				}
				wg.Wait()
			}
			// 2 h 50 min after the last view: not yet; 3 h 10 min: the alert; later looks add nothing.
			tick(lastView.Add(time.Hour + 2*time.Hour - 10*time.Minute))
			if n, _, calls := rcv.got(); len(n) != 0 || calls != 0 {
				t.Fatalf("webhook called before the silence reached 3 hours: %+v", n)
			}
			tick(lastView.Add(time.Hour + 3*time.Hour + 10*time.Minute))
			tick(lastView.Add(time.Hour + 5*time.Hour))
			mails := inbox(t, srv, ops, 1)
			if len(mails) != 1 || !strings.Contains(mails[0].Subject, "Alert: tracking stopped on "+site) {
				t.Fatalf("alert mails: %d, want 1 (%+v)", len(mails), subjects(mails))
			}
			mustContain(t, "alert mail", mails[0].Text, "no page view since 2024-05-09 13:00 UTC", "7 of the 7 days before")
			notices, bad, _ := rcv.got()
			if len(bad) > 0 || len(notices) != 1 || notices[0].State != "open" || notices[0].Alert != notify.AlertStopped ||
				notices[0].Incident != "2024-05-09T13" {
				t.Fatalf("webhook notices %+v, refused %v; want one open 'stopped' incident 2024-05-09T13", notices, bad)
			}

			// Page views again at 19:20; the next look resolves it, once.
			hourlyViews(t, db, site, lastView.Add(7*time.Hour), lastView.Add(8*time.Hour))
			tick(lastView.Add(7*time.Hour + 30*time.Minute))
			tick(lastView.Add(8 * time.Hour))
			mails = inbox(t, srv, ops, 2)
			if len(mails) != 2 || !strings.Contains(mails[1].Subject, "Resolved: tracking stopped on "+site) {
				t.Fatalf("mails after page views came back: %v, want the alert and one resolution", subjects(mails))
			}
			notices, bad, _ = rcv.got()
			if len(bad) > 0 || len(notices) != 2 || notices[1].State != "resolved" || notices[1].Incident != "2024-05-09T13" ||
				notices[1].Resolved == nil {
				t.Fatalf("webhook notices %+v, refused %v; want the alert and its resolution", notices, bad)
			}
			incidents, err := a.Incidents(context.Background(), site)
			if err != nil || len(incidents) != 1 || incidents[0].State != "resolved" {
				t.Errorf("incidents = %+v, %v; want one, resolved", incidents, err)
			}
		})
	}
}

func subjects(ms []mailpit.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Subject)
	}
	return out
}

// The SMTP server cannot be reached: the report is not lost; the failure is kept with
// its error, and the report goes out once the server is back (after the backoff).
func TestUnreachableSMTPIsRetried(t *testing.T) {
	needMailpit(t)
	db := storetest.Server(t)
	site := "smtp-down.test"
	e := newEnv(t, db, site, "Europe/Tallinn", monday)
	weekFixture(t, db, site)
	to := "late@agency.example"
	late := "smtp://127.0.0.1:" + itoa(lateSMTP) // nothing listens there yet
	svc := e.service(nil, late)
	e.save(svc, notify.Input{Weekly: ptr(true), Recipients: ptr([]string{to})})
	svc.Tick(context.Background())
	ds, err := svc.Deliveries(context.Background(), site, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) == 0 || ds[0].State != "failed" || !strings.Contains(ds[0].Detail, "send mail through smtp://127.0.0.1:"+itoa(lateSMTP)) {
		t.Fatalf("deliveries after a refused connection: %+v; want a failure naming the server", ds)
	}

	srv, err := mailpit.Start(mpBin, lateSMTP, lateHTTP)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	svc.Tick(context.Background()) // within the backoff: not yet
	if list, _ := srv.Messages(context.Background()); len(list) != 0 {
		t.Fatalf("sent again before the backoff ended")
	}
	e.clock.Set(monday.Add(notify.FirstRetry + time.Second))
	svc.Tick(context.Background())
	svc.Tick(context.Background())
	msgs := inbox(t, srv, to, 1)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Subject, "3 visitors") {
		t.Fatalf("after the server came back: %v, want the week's report once", subjects(msgs))
	}
}

// A malformed address is refused when the settings are saved, with a message saying which.
func TestMalformedAddressRefused(t *testing.T) {
	db := storetest.Server(t)
	e := newEnv(t, db, "addr.test", "UTC", monday)
	svc := e.service(nil)
	for _, c := range []struct {
		in   notify.Input
		want string
	}{
		{notify.Input{Weekly: ptr(true), Recipients: ptr([]string{"ana@agency.example", "not-an-address"})}, `"not-an-address" is not an e-mail address`},
		{notify.Input{Weekly: ptr(true), Recipients: ptr([]string{"Ana <ana@agency.example>"})}, "is not an e-mail address"},
		{notify.Input{AlertRecipients: ptr([]string{"ops@localhost"})}, "needs a dot"},
		{notify.Input{Weekly: ptr(true), Recipients: ptr([]string{})}, "needs at least one recipient"},
		{notify.Input{WebhookURL: ptr("ftp://hooks.example/x")}, "http:// or https://"},
		{notify.Input{StoppedHours: ptr(1000)}, "0 (off) to 168"},
	} {
		_, err := svc.Save(context.Background(), "test", "addr.test", c.in)
		var he *httperr.Error
		if !errors.As(err, &he) || he.Status != 400 || !strings.Contains(he.Message, c.want) {
			t.Errorf("save %+v: %v; want 400 with %q", c.in, err, c.want)
		}
	}
	if st, _ := svc.Settings(context.Background(), "addr.test"); len(st.Recipients) != 0 {
		t.Errorf("a refused save stored %v", st.Recipients)
	}
}

// A webhook receiver slower than the timeout: the call is retried after the backoff,
// with the same delivery id, and once answered it is not called again.
func TestWebhookTimeoutRetried(t *testing.T) {
	db := storetest.Server(t)
	site := "slow-hook.test"
	lastView := time.Date(2024, 5, 9, 12, 0, 0, 0, time.UTC)
	e := newEnv(t, db, site, "UTC", lastView)
	hourlyViews(t, db, site, time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), lastView.Add(time.Hour))
	var st notify.Settings
	rcv := &webhookReceiver{t: t, secret: func() string { return st.WebhookSecret }, delay: 3 * time.Second}
	hook := httptest.NewServer(rcv)
	defer hook.Close()
	svc := e.service(func(o *notify.Options) { o.WebhookTimeout = 500 * time.Millisecond })
	st = e.save(svc, notify.Input{StoppedHours: ptr(2), WebhookURL: ptr(hook.URL)})

	at := lastView.Add(4 * time.Hour)
	e.clock.Set(at)
	svc.Tick(context.Background()) // times out
	ds, _ := svc.Deliveries(context.Background(), site, 10)
	if len(ds) != 1 || ds[0].State != "failed" || !strings.Contains(ds[0].Detail, "Client.Timeout") {
		t.Fatalf("deliveries after a timeout: %+v", ds)
	}
	e.clock.Set(at.Add(notify.FirstRetry + time.Second))
	svc.Tick(context.Background()) // answered
	for i := 0; i < 3; i++ {
		e.clock.Add(time.Hour)
		svc.Tick(context.Background())
	}
	time.Sleep(3 * time.Second) // let the first, abandoned call finish at the receiver
	notices, bad, calls := rcv.got()
	if len(bad) > 0 || calls != 2 {
		t.Fatalf("webhook calls %d (refused %v), want 2: the one that timed out and its retry", calls, bad)
	}
	if rcv.delivery[0] != rcv.delivery[1] || rcv.delivery[0] == "" {
		t.Errorf("delivery ids %v: a retry must carry the first call's id", rcv.delivery)
	}
	if len(notices) != 2 || notices[0].Delivery != notices[1].Delivery {
		t.Errorf("notices %+v", notices)
	}
	ds, _ = svc.Deliveries(context.Background(), site, 10)
	if len(ds) != 1 || ds[0].State != "sent" {
		t.Errorf("deliveries %+v, want one, sent", ds)
	}
}

// A report that never could be sent is retried while its period is the last or the one
// before; after that it is given up once, recorded with its last error (and logged as an
// error), never dropped without a trace.
func TestUnsentReportGivenUpLoudly(t *testing.T) {
	db := storetest.Server(t)
	site := "give-up.test"
	e := newEnv(t, db, site, "Europe/Tallinn", monday)
	svc := e.service(nil, "smtp://127.0.0.1:"+itoa(deadSMTP)) // nothing listens there
	e.save(svc, notify.Input{Weekly: ptr(true), Recipients: ptr([]string{"never@agency.example"})})
	svc.Tick(context.Background())
	e.clock.Set(monday.Add(7 * 24 * time.Hour)) // the week is now the one before: still retried
	svc.Tick(context.Background())
	state := func(what string) notify.Delivery {
		ds, err := svc.Deliveries(context.Background(), site, 20)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.What == what {
				return d
			}
		}
		return notify.Delivery{}
	}
	if d := state("report weekly 2024-03-04"); d.State != "failed" || !d.At.Equal(monday.Add(7*24*time.Hour)) {
		t.Fatalf("a week later: %+v, want failed again at %s (still retried)", d, monday.Add(7*24*time.Hour))
	}
	e.clock.Set(monday.Add(14 * 24 * time.Hour))
	svc.Tick(context.Background())
	svc.Tick(context.Background())
	d := state("report weekly 2024-03-04")
	if d.State != "gave_up" || !strings.Contains(d.Detail, "gave up: send mail through smtp://127.0.0.1:"+itoa(deadSMTP)) {
		t.Fatalf("two weeks later: %+v, want gave_up with the last error", d)
	}
	var n []struct {
		N uint64 `ch:"n"`
	}
	if err := db.Select(context.Background(), &n, "SELECT count() AS n FROM notify_deliveries WHERE site = ? AND state = 'gave_up'", site); err != nil || n[0].N != 1 {
		t.Errorf("gave_up rows: %v, %v; want 1", n, err)
	}
}
