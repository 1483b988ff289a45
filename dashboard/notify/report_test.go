package notify_test

import (
	"bytes"
	"context"
	"fmt"
	stdhtml "html"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/websystems/loendur/dashboard/notify"
	"github.com/websystems/loendur/internal/eventtest"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
	"github.com/websystems/loendur/internal/testenv"
	"github.com/websystems/loendur/internal/testenv/mailpit"
)

// weekFixture stores a week of visits with counts worked out by hand. The site is in
// Europe/Tallinn (UTC+2 in March); the week is Monday 2024-03-04 to Sunday 03-10.
//
//	V1: / (Google) → /pricing one minute later: 2 views, exit /pricing, 60 s
//	V2: / (direct): a bounce, exit /, 0 s
//	V3: /blog (Google) → /pricing → /: 3 views, exit /, 180 s
//
// and in the week before, V4: / (direct), a bounce.
//
// So: visitors 3 (before 1, +200 %), visits 3 (+200 %), page views 6 (before 1, +500 %),
// bounce rate 33.3 % (before 100 %, −66.7 points), visit duration 240/3 = 80 s =
// 1m 20s (before 0 s: "new"); top pages / 3 visitors 3 views, /pricing 2 2, /blog 1 1;
// exit pages / 2 exits of 3 views (66.7 %), /pricing 1 of 2 (50.0 %); sources Google 2
// visitors, direct 1.
func weekFixture(t *testing.T, db store.Store, site string) {
	t.Helper()
	at := func(s string) time.Time {
		ts, err := time.Parse("2006-01-02 15:04:05", s)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	view := func(visitor uint64, ts, path, source string) store.Event {
		e := eventtest.Pageview(site, at(ts), path)
		e.VisitorID, e.SessionID, e.ReferrerSource, e.IP = visitor, visitor, source, "203.0.0.0"
		if source != "" {
			e.ReferrerHost = "google.com"
		}
		return e
	}
	events := []store.Event{
		view(1, "2024-03-05 10:00:00", "/", "Google"), view(1, "2024-03-05 10:01:00", "/pricing", ""),
		view(2, "2024-03-06 12:00:00", "/", ""),
		view(3, "2024-03-07 09:00:00", "/blog", "Google"), view(3, "2024-03-07 09:02:00", "/pricing", ""),
		view(3, "2024-03-07 09:03:00", "/", ""),
		view(4, "2024-02-28 10:00:00", "/", ""),
	}
	if err := store.InsertEvents(context.Background(), db, events); err != nil {
		t.Fatal(err)
	}
}

// Monday 2024-03-11 09:00 in Tallinn: the week before is due.
var monday = time.Date(2024, 3, 11, 7, 0, 0, 0, time.UTC)

func TestScheduledWeeklyReport(t *testing.T) {
	srv := needMailpit(t)
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			site := "weekly-" + engine + ".test"
			e := newEnv(t, db, site, "Europe/Tallinn", monday)
			weekFixture(t, db, site)
			ana, client := "ana-"+engine+"@agency.example", "boss-"+engine+"@client.example"
			svc := e.service(nil, srv.SMTPURL())
			e.save(svc, notify.Input{Weekly: ptr(true), Recipients: ptr([]string{ana, " " + client + " "})})

			// Sunday evening in Tallinn: this week has not ended; the last whole week
			// (26 Feb – 3 Mar, V4 alone) goes out at the first look.
			e.clock.Set(time.Date(2024, 3, 10, 20, 0, 0, 0, time.UTC))
			svc.Tick(context.Background())
			e.clock.Set(monday)
			svc.Tick(context.Background())
			svc.Tick(context.Background()) // a second look sends nothing more

			for _, to := range []string{ana, client} {
				msgs := inbox(t, srv, to, 2)
				if len(msgs) != 2 {
					t.Fatalf("%s got %d mails, want 2 (one per week)", to, len(msgs))
				}
				mustContain(t, "first mail", msgs[0].Subject, "1 visitors", "26 Feb 2024 – 3 Mar 2024")
				checkReportMail(t, srv, msgs[1], site)
			}
			msg := inbox(t, srv, client, 2)[1]
			unsub := unsubscribeLink(t, msg.Text)
			shot := showMail(t, srv, msg, engine)
			t.Logf("report screenshot: %s", shot)

			// The link works without signing in, and the next week's report goes to Ana only.
			clickUnsubscribe(t, unsub, client, site)
			e.clock.Set(monday.Add(7 * 24 * time.Hour))
			svc.Tick(context.Background())
			if n := len(inbox(t, srv, ana, 3)); n != 3 {
				t.Errorf("%s got %d mails after the next week, want 3", ana, n)
			}
			if n := len(inbox(t, srv, client, 2)); n != 2 {
				t.Errorf("%s got %d mails after unsubscribing, want the 2 from before", client, n)
			}
			rcpts, err := notify.Recipients(context.Background(), db, site)
			if err != nil || strings.Join(rcpts, ",") != ana {
				t.Errorf("Recipients = %v, %v; want [%s]", rcpts, err, ana)
			}
		})
	}
}

// checkReportMail checks the figures of weekFixture in both parts, the inline chart
// and the unsubscribe header.
func checkReportMail(t *testing.T, srv *mailpit.Server, m mailpit.Message, site string) {
	t.Helper()
	mustContain(t, "subject", m.Subject, site, "3 visitors", "4 Mar 2024 – 10 Mar 2024")
	text := squash(m.Text)
	mustContain(t, "text part", text,
		"4 Mar 2024 – 10 Mar 2024 (compared with 26 Feb 2024 – 3 Mar 2024)",
		"Visitors 3 +200.0 % (before: 1)", "Visits 3 +200.0 % (before: 1)", "Page views 6 +500.0 % (before: 1)",
		"Bounce rate 33.3 % −66.7 pp (before: 100.0 %)", "Visit duration 1m 20s new (before: 0s)",
		"Top pages\n / 3 3\n /pricing 2 2\n /blog 1 1\n",
		"Exit pages\n / 2 66.7 %\n /pricing 1 50.0 %\n",
		"Top sources\n Google 2 2\n (direct / none) 1 1\n",
		"/unsubscribe/")
	html := squash(stdhtml.UnescapeString(m.HTML))
	mustContain(t, "HTML part", html, `src="cid:`+notify.ChartID+`"`, `data-figure="Visitors"`, ">+200.0 %<", ">1m 20s<",
		">66.7 %<", ">Google<", `id="unsubscribe"`)
	if strings.Contains(html, "http://") && strings.Contains(html, "<img src=\"http") {
		t.Errorf("the HTML part loads a remote image")
	}
	if len(m.Inline) != 1 || m.Inline[0].ContentType != "image/png" || m.Inline[0].ContentID != notify.ChartID {
		t.Fatalf("inline parts = %+v, want one PNG with Content-ID %s", m.Inline, notify.ChartID)
	}
	data, err := srv.Part(context.Background(), m.ID, m.Inline[0].PartID)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil || img.Bounds().Dx() < 100 {
		t.Errorf("chart is not a PNG: %v", err)
	}
	h, err := srv.Headers(context.Background(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if lu := strings.Join(h["List-Unsubscribe"], ""); !strings.Contains(lu, "/unsubscribe/") {
		t.Errorf("List-Unsubscribe = %q", lu)
	}
	if strings.Join(h["List-Unsubscribe-Post"], "") != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post = %q", h["List-Unsubscribe-Post"])
	}
}

func unsubscribeLink(t *testing.T, text string) string {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		if u, ok := strings.CutPrefix(strings.TrimSpace(line), "Unsubscribe: "); ok {
			return u
		}
	}
	t.Fatalf("no unsubscribe link in:\n%s", text)
	return ""
}

// showMail opens the HTML part in headless Chromium as a mail client shows it (the
// chart from its inline part, nothing from the network), checks the chart was drawn,
// and saves a screenshot; it returns the screenshot's path.
func showMail(t *testing.T, srv *mailpit.Server, m mailpit.Message, name string) string {
	t.Helper()
	data, err := srv.Part(context.Background(), m.ID, m.Inline[0].PartID)
	if err != nil {
		t.Fatal(err)
	}
	page := strings.ReplaceAll(m.HTML, "cid:"+notify.ChartID, "data:image/png;base64,"+b64(data))
	dir := screenshotDir(t)
	file := filepath.Join(dir, "report-"+name+".html")
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	var shot []byte
	var chartWidth int
	if err := chromedp.Run(ctx, chromedp.Navigate("file://"+file),
		chromedp.Evaluate(`document.querySelector('img').naturalWidth`, &chartWidth),
		chromedp.FullScreenshot(&shot, 100)); err != nil {
		t.Fatal(err)
	}
	if chartWidth == 0 {
		t.Errorf("Chromium did not draw the chart")
	}
	path := filepath.Join(dir, "report-"+name+".png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// clickUnsubscribe opens the link in a browser that never signed in, confirms, and
// checks the page says it is done.
func clickUnsubscribe(t *testing.T, link, addr, site string) {
	t.Helper()
	ctx := browser(t)
	var before, after string
	if err := chromedp.Run(ctx, chromedp.Navigate(link),
		chromedp.Text("#message", &before, chromedp.ByQuery),
		chromedp.Click("#confirm", chromedp.ByQuery),
		chromedp.WaitVisible(`//p[@id="message"][starts-with(normalize-space(.), "Done")]`),
		chromedp.Text("#message", &after, chromedp.ByQuery)); err != nil {
		t.Fatalf("unsubscribe page: %v", err)
	}
	mustContain(t, "unsubscribe page", before, "Stop sending the e-mail reports of "+site+" to "+addr)
	mustContain(t, "unsubscribe page after the click", after, "Done: "+addr+" no longer receives the e-mail reports of "+site)
}

func browser(t *testing.T) context.Context {
	t.Helper()
	profile, err := os.MkdirTemp("", "loendur-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(testenv.ChromiumOptions(t, profile), chromedp.WindowSize(700, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
		cancelAlloc()
		for i := 0; i < 20 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(50 * time.Millisecond)
		}
	})
	return ctx
}

// screenshotDir is where this package's screenshots go (testenv.ScreenshotDir).
func screenshotDir(t *testing.T) string { return testenv.ScreenshotDir(t, "mail") }

func b64(b []byte) string { return fmt.Sprint(base64Std(b)) }
